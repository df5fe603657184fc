using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Eccos.Scheduling;

/// <summary>
/// Reads outcome logs (format v1, <c>docs/outcome-log-format.md</c>): one JSON object per line, one line per query.
/// </summary>
/// <remarks>
/// Reading streams line by line; nothing but the current line is held. Blank lines are skipped. Malformed input gets
/// an <see cref="OutcomeLogFormatException"/> naming the file, the line number and the field. Fields the format does
/// not define are ignored, so logs written by newer versions still read. The methods are thread-safe (they share no
/// state); each enumeration opens its own reader.
/// </remarks>
public static class OutcomeLog
{
    /// <summary>Reads every record of the outcome log at <paramref name="path"/>.</summary>
    /// <param name="path">The <c>outcomes.jsonl</c> file.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records, in file order.</returns>
    /// <exception cref="OutcomeLogFormatException">A line is malformed.</exception>
    public static async IAsyncEnumerable<OutcomeRecord> ReadAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            await foreach (OutcomeRecord record in ReadAsync(stream, path, cancellationToken).ConfigureAwait(false))
            {
                yield return record;
            }
        }
    }

    /// <summary>Reads every record of an outcome log from a stream (left open).</summary>
    /// <param name="stream">UTF-8 JSON lines.</param>
    /// <param name="sourceName">How to name the source in errors.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records, in stream order.</returns>
    /// <exception cref="OutcomeLogFormatException">A line is malformed.</exception>
    public static async IAsyncEnumerable<OutcomeRecord> ReadAsync(Stream stream, string sourceName = "outcome log", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        long lineNumber = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            yield return ParseLine(line, sourceName, lineNumber);
        }
    }

    /// <summary>Reads every record of the outcome log at <paramref name="path"/>, synchronously and lazily.</summary>
    /// <param name="path">The <c>outcomes.jsonl</c> file.</param>
    /// <returns>The records, in file order.</returns>
    /// <exception cref="OutcomeLogFormatException">A line is malformed.</exception>
    public static IEnumerable<OutcomeRecord> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return ReadLines(path);

        static IEnumerable<OutcomeRecord> ReadLines(string path)
        {
            long lineNumber = 0;
            foreach (string line in File.ReadLines(path, Encoding.UTF8))
            {
                lineNumber++;
                if (!string.IsNullOrWhiteSpace(line))
                {
                    yield return ParseLine(line, path, lineNumber);
                }
            }
        }
    }

    /// <summary>Parses one line of an outcome log.</summary>
    /// <param name="line">The JSON object.</param>
    /// <param name="sourceName">How to name the source in errors.</param>
    /// <param name="lineNumber">The 1-based line number, for errors.</param>
    /// <returns>The record.</returns>
    /// <exception cref="OutcomeLogFormatException">The line is malformed.</exception>
    public static OutcomeRecord ParseLine(string line, string sourceName = "outcome log", long lineNumber = 1)
    {
        ArgumentNullException.ThrowIfNull(line);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            throw new OutcomeLogFormatException(sourceName, lineNumber, null, $"not valid JSON ({ex.Message})", ex);
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new OutcomeLogFormatException(sourceName, lineNumber, null, "expected a JSON object");
            }

            var ctx = new LineContext(sourceName, lineNumber);
            string id = ctx.RequiredString(root, "id");
            string query = ctx.RequiredString(root, "query", allowEmpty: true);
            int inputTokens = ctx.RequiredCount(root, "input_tokens");
            string? task = ctx.OptionalString(root, "task");
            string? split = ctx.OptionalString(root, "split");
            if (split is not null && split != "train" && split != "test")
            {
                throw ctx.Error("split", $"'{split}' is not \"train\" or \"test\"");
            }

            DateTimeOffset? timestamp = null;
            if (root.TryGetProperty("timestamp", out JsonElement ts) && ts.ValueKind != JsonValueKind.Null)
            {
                if (ts.ValueKind != JsonValueKind.String || !ts.TryGetDateTimeOffset(out DateTimeOffset t))
                {
                    throw ctx.Error("timestamp", "expected an ISO 8601 date and time");
                }

                timestamp = t;
            }

            if (!root.TryGetProperty("outputs", out JsonElement outputs) || outputs.ValueKind != JsonValueKind.Array)
            {
                throw ctx.Error("outputs", "missing or not an array");
            }

            var list = new ModelOutcome[outputs.GetArrayLength()];
            int n = 0;
            foreach (JsonElement o in outputs.EnumerateArray())
            {
                string field = $"outputs[{n}]";
                if (o.ValueKind != JsonValueKind.Object)
                {
                    throw ctx.Error(field, "expected an object");
                }

                string model = ctx.RequiredString(o, "model", field + ".model");
                for (int k = 0; k < n; k++)
                {
                    if (string.Equals(list[k].Model, model, StringComparison.Ordinal))
                    {
                        throw ctx.Error(field + ".model", $"model '{model}' appears twice in one line");
                    }
                }

                double? score = ctx.OptionalNumber(o, "score", field + ".score");
                if (score is { } s && (s < 0 || s > 1))
                {
                    throw ctx.Error(field + ".score", $"{s.ToString(CultureInfo.InvariantCulture)} is outside [0, 1] (model '{model}')");
                }

                int outputTokens = ctx.RequiredCount(o, "output_tokens", field + ".output_tokens");
                double? cost = ctx.OptionalNumber(o, "cost", field + ".cost");
                if (cost < 0)
                {
                    throw ctx.Error(field + ".cost", $"negative cost (model '{model}')");
                }

                double? latency = ctx.OptionalNumber(o, "latency_ms", field + ".latency_ms");
                string? error = ctx.OptionalString(o, "error", field + ".error");
                list[n++] = new ModelOutcome(model, score, outputTokens, cost) { LatencyMs = latency, Error = error };
            }

            return new OutcomeRecord(id, query, inputTokens, list, task, split) { Timestamp = timestamp };
        }
    }

    private readonly struct LineContext(string source, long line)
    {
        public OutcomeLogFormatException Error(string field, string problem) => new(source, line, field, problem);

        public string RequiredString(JsonElement obj, string name, string? field = null, bool allowEmpty = false)
        {
            field ??= name;
            if (!obj.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
            {
                throw Error(field, "missing");
            }

            if (e.ValueKind != JsonValueKind.String)
            {
                throw Error(field, $"expected a string, found {e.ValueKind}");
            }

            string value = e.GetString()!;
            if (!allowEmpty && string.IsNullOrWhiteSpace(value))
            {
                throw Error(field, "must not be empty");
            }

            return value;
        }

        public string? OptionalString(JsonElement obj, string name, string? field = null)
        {
            if (!obj.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            return e.ValueKind == JsonValueKind.String ? e.GetString() : throw Error(field ?? name, $"expected a string, found {e.ValueKind}");
        }

        public int RequiredCount(JsonElement obj, string name, string? field = null)
        {
            field ??= name;
            if (!obj.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
            {
                throw Error(field, "missing");
            }

            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double d) || d < 0 || d > int.MaxValue || d != Math.Floor(d))
            {
                throw Error(field, $"expected a non-negative integer, found {e.GetRawText()}");
            }

            return (int)d;
        }

        public double? OptionalNumber(JsonElement obj, string name, string field)
        {
            if (!obj.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double d) || !double.IsFinite(d))
            {
                throw Error(field, $"expected a finite number, found {e.GetRawText()}");
            }

            return d;
        }
    }
}
