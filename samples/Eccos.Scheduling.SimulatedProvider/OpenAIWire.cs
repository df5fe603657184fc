using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Eccos.Scheduling.Simulation;

/// <summary>The OpenAI chat-completions wire format: the bodies, chunks and errors the simulated server writes.</summary>
internal static class OpenAIWire
{
    /// <summary>Escapes only what JSON requires, so text reads as sent (a backtick stays a backtick).</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The identity of one answer, repeated in every chunk of a stream.</summary>
    internal readonly record struct AnswerId(string Id, long Created, string Model);

    /// <summary>A non-streaming <c>chat.completion</c> body.</summary>
    internal static byte[] Completion(AnswerId id, string text, string finishReason, int promptTokens, int completionTokens) => Write(w =>
    {
        Header(w, id, "chat.completion");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        w.WriteString("content", text);
        w.WriteNull("refusal");
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", finishReason);
        w.WriteEndObject();
        w.WriteEndArray();
        Usage(w, promptTokens, completionTokens);
    });

    /// <summary>
    /// One <c>chat.completion.chunk</c> with a choice: a role (the first chunk), content, or a finish reason (the last).
    /// </summary>
    internal static byte[] Chunk(AnswerId id, string? role, string? content, string? finishReason) => Write(w =>
    {
        Header(w, id, "chat.completion.chunk");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        if (role is not null)
        {
            w.WriteString("role", role);
        }

        if (content is not null)
        {
            w.WriteString("content", content);
        }

        w.WriteEndObject();
        w.WriteNull("logprobs");
        StringOrNull(w, "finish_reason", finishReason);
        w.WriteEndObject();
        w.WriteEndArray();
    });

    /// <summary>The last chunk of a stream asked with <c>stream_options.include_usage</c>: no choices, the usage.</summary>
    internal static byte[] UsageChunk(AnswerId id, int promptTokens, int completionTokens) => Write(w =>
    {
        Header(w, id, "chat.completion.chunk");
        w.WriteStartArray("choices");
        w.WriteEndArray();
        Usage(w, promptTokens, completionTokens);
    });

    /// <summary>An OpenAI-style error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
    internal static byte[] Error(string message, string type, string? code) => Write(w =>
    {
        w.WriteStartObject("error");
        w.WriteString("message", message);
        w.WriteString("type", type);
        w.WriteNull("param");
        StringOrNull(w, "code", code);
        w.WriteEndObject();
    });

    /// <summary>The <c>GET /v1/models</c> list.</summary>
    internal static byte[] ModelList(IEnumerable<string> models) => Write(w =>
    {
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (string model in models)
        {
            w.WriteStartObject();
            w.WriteString("id", model);
            w.WriteString("object", "model");
            w.WriteNumber("created", 0);
            w.WriteString("owned_by", "simulated");
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    /// <summary>Writes an error response; with a retry delay, <c>Retry-After</c> (whole seconds, rounded up) and <c>retry-after-ms</c>.</summary>
    internal static Task WriteErrorAsync(HttpResponse response, int status, string message, string type, string? code, TimeSpan? retryAfter, CancellationToken ct)
    {
        response.StatusCode = status;
        if (retryAfter is TimeSpan wait)
        {
            long ms = Math.Max(1, (long)Math.Ceiling(wait.TotalMilliseconds));
            response.Headers.RetryAfter = ((ms + 999) / 1000).ToString(CultureInfo.InvariantCulture);
            response.Headers["retry-after-ms"] = ms.ToString(CultureInfo.InvariantCulture);
        }

        return WriteJsonAsync(response, Error(message, type, code), ct);
    }

    /// <summary>Writes a whole JSON body.</summary>
    internal static Task WriteJsonAsync(HttpResponse response, byte[] body, CancellationToken ct)
    {
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, ct).AsTask();
    }

    /// <summary>Writes one server-sent event, <c>data: {payload}</c> and a blank line, flushing it when asked.</summary>
    internal static async Task WriteEventAsync(HttpResponse response, ReadOnlyMemory<byte> payload, bool flush, CancellationToken ct)
    {
        byte[] frame = new byte[6 + payload.Length + 2];
        "data: "u8.CopyTo(frame);
        payload.Span.CopyTo(frame.AsSpan(6));
        "\n\n"u8.CopyTo(frame.AsSpan(6 + payload.Length));
        await response.Body.WriteAsync(frame, ct).ConfigureAwait(false);
        if (flush)
        {
            await response.Body.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    private static void Header(Utf8JsonWriter w, AnswerId id, string type)
    {
        w.WriteString("id", id.Id);
        w.WriteString("object", type);
        w.WriteNumber("created", id.Created);
        w.WriteString("model", id.Model);
    }

    private static void StringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void Usage(Utf8JsonWriter w, int promptTokens, int completionTokens)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", promptTokens);
        w.WriteNumber("completion_tokens", completionTokens);
        w.WriteNumber("total_tokens", promptTokens + completionTokens);
        w.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
