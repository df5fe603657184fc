using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using static Eccos.Scheduling.Simulation.SimulatedModel;

namespace Eccos.Scheduling.Simulation;

/// <summary>
/// <c>POST /v1/chat/completions</c>: parses the request, finds the model, admits or throttles it, injects its fault and
/// answers as JSON or as a server-sent-event stream. Every request naming a known model is settled exactly once.
/// </summary>
internal sealed class ChatCompletionsHandler(IReadOnlyDictionary<string, SimulatedModel> models, TimeProvider time, CancellationToken stopping)
{
    /// <summary>How long an aborted connection waits after its last flush, so the bytes written before reach the client.</summary>
    private static readonly TimeSpan DrainBeforeAbort = TimeSpan.FromMilliseconds(50);

    public async Task HandleAsync(HttpContext http)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        CancellationToken ct = linked.Token;
        SimulatedRequest request;
        bool includeUsage;
        try
        {
            (request, includeUsage) = await ParseAsync(http.Request, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            await OpenAIWire.WriteErrorAsync(http.Response, 400, $"Invalid request: {e.Message}", "invalid_request_error", null, null, ct).ConfigureAwait(false);
            return;
        }

        if (!models.TryGetValue(request.Model, out SimulatedModel? model))
        {
            await OpenAIWire.WriteErrorAsync(http.Response, 404, $"The model `{request.Model}` does not exist or you do not have access to it.",
                "invalid_request_error", "model_not_found", null, ct).ConfigureAwait(false);
            return;
        }

        RequestTicket ticket = model.Arrive();
        try
        {
            await ServeAsync(http, model, ticket, request, includeUsage, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client went away or the provider is stopping: end the connection rather than finish a partial answer.
            ticket.Settle(RequestOutcome.Cancelled);
            http.Abort();
        }
        finally
        {
            ticket.Settle(RequestOutcome.Failed); // only when nothing above settled it: an unexpected exception
        }
    }

    private async Task ServeAsync(HttpContext http, SimulatedModel model, RequestTicket ticket, SimulatedRequest request, bool includeUsage, CancellationToken ct)
    {
        SimulatedModelOptions options = model.Current;
        Answer answer;
        try
        {
            answer = Answer.For(request, options);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Any exception of a user hook becomes the model's HTTP 500, as a provider's internal error would.
            ticket.Settle(RequestOutcome.Failed);
            await OpenAIWire.WriteErrorAsync(http.Response, 500, $"The Respond hook of model '{model.Name}' threw: {e.Message}", "server_error", null, null, ct).ConfigureAwait(false);
            return;
        }

        int promptTokens = request.PromptTokens;
        Admission admission = model.Admit(ticket, options, promptTokens + answer.Tokens);
        if (admission.Rejection is Rejection rejection)
        {
            ticket.Settle(RequestOutcome.Throttled);
            await OpenAIWire.WriteErrorAsync(http.Response, rejection.StatusCode, rejection.Message, rejection.Type, rejection.Code, rejection.RetryAfter, ct).ConfigureAwait(false);
            return;
        }

        if (admission.Fault == Fault.Hang)
        {
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
            }
            finally
            {
                ticket.Settle(RequestOutcome.Failed);
            }
        }

        await DelayAsync((request.Stream ? options.TimeToFirstToken : options.Latency) + admission.Jitter, ct).ConfigureAwait(false);
        if (admission.Fault is Fault.ServerError or Fault.ServiceUnavailable)
        {
            ticket.Settle(RequestOutcome.Failed);
            await (admission.Fault == Fault.ServerError
                ? OpenAIWire.WriteErrorAsync(http.Response, 500, "The server had an error while processing your request.", "server_error", null, null, ct)
                : OpenAIWire.WriteErrorAsync(http.Response, 503, $"Model '{model.Name}' is currently overloaded with other requests.", "server_error", "service_unavailable", options.RetryAfterWhenBusy, ct))
                .ConfigureAwait(false);
            return;
        }

        var id = new OpenAIWire.AnswerId($"chatcmpl-sim-{admission.Sequence}", time.GetUtcNow().ToUnixTimeSeconds(), model.Name);
        bool drop = admission.Fault == Fault.DropConnection;
        if (request.Stream)
        {
            await StreamAsync(http, ticket, id, answer, promptTokens, includeUsage, options.TokensPerSecond, drop, ct).ConfigureAwait(false);
            return;
        }

        byte[] body = OpenAIWire.Completion(id, answer.Text, answer.FinishReason, promptTokens, answer.Tokens);
        if (drop)
        {
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = body.Length;
            await http.Response.Body.WriteAsync(body.AsMemory(0, body.Length / 2), ct).ConfigureAwait(false);
            await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
            await DropAsync(http, ticket, ct).ConfigureAwait(false);
            return;
        }

        ticket.Settle(RequestOutcome.Completed, promptTokens, answer.Tokens);
        await OpenAIWire.WriteJsonAsync(http.Response, body, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The stream: a role chunk and the first content chunk at once, the rest paced at <paramref name="tokensPerSecond"/>,
    /// a finish chunk, the usage chunk when asked for, then <c>[DONE]</c>. A drop comes after half the content chunks.
    /// </summary>
    private async Task StreamAsync(HttpContext http, RequestTicket ticket, OpenAIWire.AnswerId id, Answer answer, int promptTokens, bool includeUsage,
        double tokensPerSecond, bool drop, CancellationToken ct)
    {
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        http.Response.StatusCode = 200;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        IReadOnlyList<string> chunks = Answer.Split(answer.Text, answer.Tokens);
        int dropAfter = drop ? (chunks.Count + 1) / 2 : -1;

        await OpenAIWire.WriteEventAsync(http.Response, OpenAIWire.Chunk(id, "assistant", string.Empty, null), flush: dropAfter == 0, ct).ConfigureAwait(false);
        if (dropAfter == 0)
        {
            await DropAsync(http, ticket, ct).ConfigureAwait(false);
            return;
        }

        long start = time.GetTimestamp();
        for (int i = 0; i < chunks.Count; i++)
        {
            if (tokensPerSecond > 0 && i > 0)
            {
                await DelayAsync(TimeSpan.FromSeconds(i / tokensPerSecond) - time.GetElapsedTime(start), ct).ConfigureAwait(false);
            }

            await OpenAIWire.WriteEventAsync(http.Response, OpenAIWire.Chunk(id, null, chunks[i], null), flush: true, ct).ConfigureAwait(false);
            if (i + 1 == dropAfter)
            {
                await DropAsync(http, ticket, ct).ConfigureAwait(false);
                return;
            }
        }

        ticket.Settle(RequestOutcome.Completed, promptTokens, answer.Tokens);
        await OpenAIWire.WriteEventAsync(http.Response, OpenAIWire.Chunk(id, null, null, answer.FinishReason), flush: false, ct).ConfigureAwait(false);
        if (includeUsage)
        {
            await OpenAIWire.WriteEventAsync(http.Response, OpenAIWire.UsageChunk(id, promptTokens, answer.Tokens), flush: false, ct).ConfigureAwait(false);
        }

        await OpenAIWire.WriteEventAsync(http.Response, "[DONE]"u8.ToArray(), flush: true, ct).ConfigureAwait(false);
    }

    /// <summary>Counts the request failed, lets what was flushed leave, and aborts the connection.</summary>
    private static async Task DropAsync(HttpContext http, RequestTicket ticket, CancellationToken ct)
    {
        ticket.Settle(RequestOutcome.Failed);
        await Task.Delay(DrainBeforeAbort, ct).ConfigureAwait(false);
        http.Abort();
    }

    private Task DelayAsync(TimeSpan delay, CancellationToken ct) =>
        delay > TimeSpan.Zero ? Task.Delay(delay, time, ct) : Task.CompletedTask;

    /// <summary>Reads the fields the simulation uses; anything else in the body is ignored.</summary>
    private static async Task<(SimulatedRequest Request, bool IncludeUsage)> ParseAsync(HttpRequest http, CancellationToken ct)
    {
        using JsonDocument document = await JsonDocument.ParseAsync(http.Body, cancellationToken: ct).ConfigureAwait(false);
        JsonElement root = document.RootElement;
        string model = root.GetProperty("model").GetString() ?? throw new FormatException("'model' must be a string.");
        var messages = new List<SimulatedMessage>();
        foreach (JsonElement message in root.GetProperty("messages").EnumerateArray())
        {
            string role = message.TryGetProperty("role", out JsonElement r) ? r.GetString() ?? string.Empty : string.Empty;
            messages.Add(new SimulatedMessage(role, message.TryGetProperty("content", out JsonElement c) ? TextOf(c) : string.Empty));
        }

        bool stream = root.TryGetProperty("stream", out JsonElement s) && s.ValueKind == JsonValueKind.True;
        bool includeUsage = root.TryGetProperty("stream_options", out JsonElement so) && so.ValueKind == JsonValueKind.Object
            && so.TryGetProperty("include_usage", out JsonElement iu) && iu.ValueKind == JsonValueKind.True;
        int? maxTokens = IntOrNull(root, "max_completion_tokens") ?? IntOrNull(root, "max_tokens");
        return (new SimulatedRequest(model, messages, stream, maxTokens), includeUsage);
    }

    private static int? IntOrNull(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;

    /// <summary>A string content as is; the <c>text</c> of each part of an array content, joined.</summary>
    private static string TextOf(JsonElement content)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (JsonElement part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out JsonElement t) && t.ValueKind == JsonValueKind.String)
                    {
                        text.Append(t.GetString());
                    }
                }

                return text.ToString();
            default:
                return string.Empty;
        }
    }
}
