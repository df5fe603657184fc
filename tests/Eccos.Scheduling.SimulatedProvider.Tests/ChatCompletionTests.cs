using System.ClientModel.Primitives;
using OpenAI;

namespace Eccos.Scheduling.Simulation.Tests;

public class ChatCompletionTests
{
    [Test]
    public async Task A_non_streaming_answer_has_the_default_text_and_usage()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => m.OutputTokens = 5);
        using IChatClient client = provider.CreateChatClient("m");

        ChatResponse response = await client.GetResponseAsync([new ChatMessage(ChatRole.System, "be brief"), new ChatMessage(ChatRole.User, "hello there")]);

        Assert.Multiple(() =>
        {
            Assert.That(response.Text, Is.EqualTo("m: hello there m: he"), "\"m: {last user message}\" repeated to 4 characters per output token");
            Assert.That(response.Usage?.InputTokenCount, Is.EqualTo(5), "⌈(8 + 11 characters) / 4⌉");
            Assert.That(response.Usage?.OutputTokenCount, Is.EqualTo(5));
            Assert.That(response.Usage?.TotalTokenCount, Is.EqualTo(10));
            Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
            Assert.That(response.ModelId, Is.EqualTo("m"));
            Assert.That(response.ResponseId, Is.EqualTo("chatcmpl-sim-0"));
            Assert.That(provider.Stats("m"), Is.EqualTo(new SimulatedModelStats(1, 1, 0, 0, 0, 0, 1, 0, 1, 5, 5)));
        });
    }

    [Test]
    public async Task A_stream_sends_one_chunk_per_output_token_and_reports_usage()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => m.OutputTokens = 6);
        using IChatClient client = provider.CreateChatClient("m");

        (string text, int updates, UsageDetails? usage) = await Sim.StreamAsync(client, Sim.Hello);

        Assert.Multiple(() =>
        {
            Assert.That(text, Is.EqualTo("m: hello m: hello m: hell"[..24]));
            Assert.That(usage, Is.Not.Null, "the SDK asks for stream_options.include_usage; the last chunk carries the usage");
            Assert.That(usage?.InputTokenCount, Is.EqualTo(2));
            Assert.That(usage?.OutputTokenCount, Is.EqualTo(6));
            Assert.That(usage?.TotalTokenCount, Is.EqualTo(8));
            Assert.That(updates, Is.EqualTo(1 + 6 + 1 + 1), "role chunk, one chunk per token, finish chunk, usage chunk");
            Assert.That(provider.Stats("m").Completed, Is.EqualTo(1));
            Assert.That(provider.Stats("m").CompletionTokens, Is.EqualTo(6));
        });
    }

    [Test]
    public async Task On_the_wire_a_stream_is_server_sent_events_ending_in_DONE_with_usage_only_when_asked()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => m.OutputTokens = 2);
        using var http = new HttpClient();

        async Task<string[]> EventsAsync(string streamOptions)
        {
            using var body = new StringContent($$"""{"model": "m", "stream": true, {{streamOptions}} "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}""");
            using HttpResponseMessage response = await http.PostAsync(new Uri(provider.BaseAddress, "chat/completions"), body);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
            return (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        }

        string[] plain = await EventsAsync("");
        string[] withUsage = await EventsAsync("\"stream_options\": {\"include_usage\": true},");

        Assert.Multiple(() =>
        {
            Assert.That(plain, Has.Length.EqualTo(5), "role, 2 content chunks, finish, [DONE]");
            Assert.That(plain, Has.All.StartsWith("data: "));
            Assert.That(plain[^1], Is.EqualTo("data: [DONE]"));
            Assert.That(plain[1], Does.Contain("\"delta\":{\"content\":\"m: h\"}"), "array content parts are read as text");
            Assert.That(plain[^2], Does.Contain("\"finish_reason\":\"stop\""));
            Assert.That(plain, Has.None.Contains("usage"));
            Assert.That(withUsage, Has.Length.EqualTo(6));
            Assert.That(withUsage[^2], Does.Contain("\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}"));
        });
    }

    [Test]
    public async Task The_Respond_hook_gives_the_text_and_output_tokens()
    {
        SimulatedRequest? seen = null;
        await using SimulatedProvider provider = await Sim.StartAsync(m => m.Respond = request =>
        {
            seen = request;
            return new SimulatedAnswer(request.LastUserMessage.Contains("2+2", StringComparison.Ordinal) ? "4" : "no idea", OutputTokens: 42);
        });
        using IChatClient client = provider.CreateChatClient("m");

        ChatResponse response = await client.GetResponseAsync("what is 2+2?");
        (string streamed, _, UsageDetails? usage) = await Sim.StreamAsync(client, [new ChatMessage(ChatRole.User, "what is 2+2?")]);

        Assert.Multiple(() =>
        {
            Assert.That(response.Text, Is.EqualTo("4"));
            Assert.That(response.Usage?.OutputTokenCount, Is.EqualTo(42));
            Assert.That(streamed, Is.EqualTo("4"), "a one-character answer is one chunk whatever its token count");
            Assert.That(usage?.OutputTokenCount, Is.EqualTo(42));
            Assert.That(seen?.Model, Is.EqualTo("m"));
            Assert.That(seen?.Stream, Is.True);
            Assert.That(seen?.Messages.Single(), Is.EqualTo(new SimulatedMessage("user", "what is 2+2?")));
            Assert.That(seen?.PromptTokens, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Output_tokens_can_grow_with_the_prompt_and_are_cut_to_the_requests_maximum()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.OutputTokens = 2; m.OutputTokensPerPromptToken = 0.5; });
        using IChatClient client = provider.CreateChatClient("m");

        ChatResponse full = await client.GetResponseAsync(new string('x', 40)); // 10 prompt tokens: 2 + 5 output tokens
        ChatResponse cut = await client.GetResponseAsync(new string('x', 40), new ChatOptions { MaxOutputTokens = 3 });

        Assert.Multiple(() =>
        {
            Assert.That(full.Usage?.OutputTokenCount, Is.EqualTo(7));
            Assert.That(full.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
            Assert.That(cut.Usage?.OutputTokenCount, Is.EqualTo(3));
            Assert.That(cut.Text, Has.Length.EqualTo(12));
            Assert.That(cut.FinishReason, Is.EqualTo(ChatFinishReason.Length));
        });
    }

    [Test]
    public async Task The_SDK_Endpoint_is_the_server_root_plus_v1()
    {
        await using SimulatedProvider provider = await Sim.StartAsync();
        Assert.That(provider.BaseAddress, Is.EqualTo(new Uri(provider.RootAddress, "v1/")));
        Assert.That(provider.RootAddress.Host, Is.EqualTo("127.0.0.1"));

        foreach (Uri endpoint in (Uri[])[provider.BaseAddress, new Uri(provider.BaseAddress.ToString().TrimEnd('/'))])
        {
            var options = new OpenAIClientOptions { Endpoint = endpoint, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };
            using IChatClient client = new OpenAIClient(new ApiKeyCredential("test"), options).GetChatClient("m").AsIChatClient();
            ChatResponse response = await client.GetResponseAsync("hello");
            Assert.That(response.Text, Does.StartWith("m: hello"), endpoint.ToString());
        }

        var root = new OpenAIClientOptions { Endpoint = provider.RootAddress, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };
        using IChatClient wrong = new OpenAIClient(new ApiKeyCredential("test"), root).GetChatClient("m").AsIChatClient();
        var e = (ClientResultException)await Sim.ThrowsAsync(() => wrong.GetResponseAsync("hello"));
        Assert.That(e.Status, Is.EqualTo(404), "the root alone makes the SDK ask for /chat/completions, which the server does not serve");
    }

    [Test]
    public async Task Latency_and_stream_pacing_delay_the_answer()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m =>
        {
            m.Latency = TimeSpan.FromMilliseconds(300);
            m.TimeToFirstToken = TimeSpan.FromMilliseconds(200);
            m.TokensPerSecond = 20;
            m.OutputTokens = 5;
        });
        using IChatClient client = provider.CreateChatClient("m");
        await client.GetResponseAsync("warm up");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await client.GetResponseAsync("hello");
        TimeSpan nonStreaming = clock.Elapsed;
        clock.Restart();
        TimeSpan? firstText = null;
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync("hello"))
        {
            firstText ??= update.Text.Length > 0 ? clock.Elapsed : null;
        }

        TimeSpan stream = clock.Elapsed;
        Assert.Multiple(() =>
        {
            // Lower bounds only: a busy machine can only make it slower.
            Assert.That(nonStreaming, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(295)));
            Assert.That(firstText, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(195)));
            Assert.That(stream, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200 + 4 * 50 - 5)), "TTFT, then 4 more tokens at 20 per second");
        });
    }

    [Test]
    public async Task Models_are_listed()
    {
        var options = new SimulatedProviderOptions { Models = { ["b"] = new(), ["a"] = new() } };
        await using SimulatedProvider provider = await SimulatedProvider.StartAsync(options);
        var client = new OpenAIClient(new ApiKeyCredential("test"), new OpenAIClientOptions { Endpoint = provider.BaseAddress });

        var models = (await client.GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToList();

        Assert.That(models, Is.EqualTo((string[])["a", "b"]));
        Assert.That(provider.ModelNames, Is.EqualTo((string[])["a", "b"]));
    }
}
