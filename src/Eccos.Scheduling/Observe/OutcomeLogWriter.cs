using System.Buffers;
using System.Text.Json;

namespace Eccos.Scheduling;

/// <summary>
/// Writes outcome records as outcome-log lines (format v1, <c>docs/outcome-log-format.md</c>) to a stream or a file.
/// </summary>
/// <remarks>
/// Thread-safe: concurrent <see cref="RecordAsync"/> calls are serialized, each record is written as one whole line,
/// and lines never interleave. Each record is flushed to the underlying stream when written, so a crash loses at most
/// the record in progress. Disposal flushes and, unless <c>leaveOpen</c> was set, closes the stream; calls after
/// disposal throw <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed class OutcomeLogWriter : IOutcomeSink, IAsyncDisposable, IDisposable
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ArrayBufferWriterPool _buffer = new();
    private bool _disposed;

    /// <summary>Initializes a writer over a stream.</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="leaveOpen">Whether to leave <paramref name="stream"/> open on disposal.</param>
    public OutcomeLogWriter(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("The stream is not writable.", nameof(stream));
        }

        _stream = stream;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Initializes a writer that appends to (or creates) the file at <paramref name="path"/>.</summary>
    /// <param name="path">The <c>outcomes.jsonl</c> file.</param>
    public OutcomeLogWriter(string path)
        : this(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 14, FileOptions.Asynchronous))
    {
    }

    /// <summary>Formats one record as a single JSON line (without the line break).</summary>
    /// <param name="record">The record.</param>
    /// <returns>The JSON text.</returns>
    public static string Format(OutcomeRecord record)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteRecord(json, record);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <inheritdoc />
    public async ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            System.Buffers.ArrayBufferWriter<byte> buffer = _buffer.Rent();
            using (var json = new Utf8JsonWriter(buffer))
            {
                WriteRecord(json, record);
            }

            buffer.Write<byte>(NewLine);

            // The line is written whole even if cancellation arrives meanwhile, so the log never holds half a line.
            await _stream.WriteAsync(buffer.WrittenMemory, CancellationToken.None).ConfigureAwait(false);
            await _stream.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await _stream.FlushAsync().ConfigureAwait(false);
            if (!_leaveOpen)
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _gate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stream.Flush();
            if (!_leaveOpen)
            {
                _stream.Dispose();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private static void WriteRecord(Utf8JsonWriter json, OutcomeRecord record)
    {
        json.WriteStartObject();
        json.WriteString("id"u8, record.Id);
        if (record.Task is not null)
        {
            json.WriteString("task"u8, record.Task);
        }

        if (record.Split is not null)
        {
            json.WriteString("split"u8, record.Split);
        }

        if (record.Timestamp is { } ts)
        {
            json.WriteString("timestamp"u8, ts);
        }

        json.WriteString("query"u8, record.Text);
        json.WriteNumber("input_tokens"u8, record.InputTokens);
        json.WriteStartArray("outputs"u8);
        foreach (ModelOutcome o in record.Outputs)
        {
            json.WriteStartObject();
            json.WriteString("model"u8, o.Model);
            if (o.Quality is { } score)
            {
                json.WriteNumber("score"u8, score);
            }

            json.WriteNumber("output_tokens"u8, o.OutputTokens);
            if (o.Cost is { } cost)
            {
                json.WriteNumber("cost"u8, cost);
            }

            if (o.LatencyMs is { } latency)
            {
                json.WriteNumber("latency_ms"u8, latency);
            }

            if (o.Error is not null)
            {
                json.WriteString("error"u8, o.Error);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>One reusable buffer; only used under the writer's gate.</summary>
    private sealed class ArrayBufferWriterPool
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> _writer = new(1024);

        public System.Buffers.ArrayBufferWriter<byte> Rent()
        {
            _writer.ResetWrittenCount();
            return _writer;
        }
    }
}
