using System.Net;

namespace Eccos.Scheduling.Simulation.Tests;

public class FaultTests
{
    [Test]
    public async Task A_500_surfaces_as_ClientResultException_with_status_500()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => m.FailureRate = 1);
        using IChatClient client = provider.CreateChatClient("m");

        var e = (ClientResultException)await Sim.ThrowsAsync(() => client.GetResponseAsync("hello"));
        var s = (ClientResultException)await Sim.ThrowsAsync(() => Sim.StreamAsync(client, Sim.Hello));

        Assert.Multiple(() =>
        {
            Assert.That(e.Status, Is.EqualTo(500));
            Assert.That(e.Message, Does.Contain("server_error"), "the OpenAI-style error body is in the message");
            Assert.That(s.Status, Is.EqualTo(500), "a stream fails before its first chunk");
            Assert.That(provider.Stats("m").Failed, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task A_503_surfaces_with_status_503_and_Retry_After()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.ServiceUnavailableRate = 1; m.RetryAfterWhenBusy = TimeSpan.FromMilliseconds(2500); });
        using IChatClient client = provider.CreateChatClient("m");

        var e = (ClientResultException)await Sim.ThrowsAsync(() => client.GetResponseAsync("hello"));

        Assert.Multiple(() =>
        {
            Assert.That(e.Status, Is.EqualTo(503));
            Assert.That(Header(e, "Retry-After"), Is.EqualTo("3"), "whole seconds, rounded up");
            Assert.That(Header(e, "retry-after-ms"), Is.EqualTo("2500"));
            Assert.That(provider.Stats("m").Failed, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_hang_ends_when_the_caller_cancels()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => m.Hang = true);
        using IChatClient client = provider.CreateChatClient("m");

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        Exception e = await Sim.ThrowsAsync(() => client.GetResponseAsync("hello", cancellationToken: cancel.Token));
        await Sim.IdleAsync(provider); // the server notices the disconnect shortly after the client gave up
        using var cancelStream = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        Exception s = await Sim.ThrowsAsync(() => Sim.StreamAsync(client, Sim.Hello, ct: cancelStream.Token));
        await Sim.IdleAsync(provider);

        Assert.Multiple(() =>
        {
            Assert.That(e, Is.InstanceOf<OperationCanceledException>());
            Assert.That(s, Is.InstanceOf<OperationCanceledException>());
            Assert.That(provider.Stats("m"), Is.EqualTo(new SimulatedModelStats(2, 0, 2, 0, 0, 0, 1, 0, 1, 0, 0)), "a hang counts as failed once the client is gone");
        });
    }

    [Test]
    public async Task A_dropped_connection_surfaces_as_IOException_also_mid_stream()
    {
        // 6 chunks 50 ms apart; the drop comes after 3 of them.
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.DropConnectionRate = 1; m.OutputTokens = 6; m.TokensPerSecond = 20; });
        using IChatClient client = provider.CreateChatClient("m");

        Exception e = await Sim.ThrowsAsync(() => client.GetResponseAsync("hello"));
        var updates = new List<ChatResponseUpdate>();
        Exception s = await Sim.ThrowsAsync(async () =>
        {
            await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync("hello"))
            {
                updates.Add(update);
            }
        });

        Assert.Multiple(() =>
        {
            // The SDK does not wrap it: no ClientResultException, the transport's IOException ("Connection reset by peer").
            Assert.That(e, Is.InstanceOf<IOException>(), e.ToString());
            Assert.That(s, Is.InstanceOf<IOException>(), s.ToString());
            Assert.That(updates.Select(u => u.Text), Has.Some.Not.Empty, "the stream broke after some content");
            Assert.That(string.Concat(updates.Select(u => u.Text)), Has.Length.LessThan(24), "and before the whole answer");
            Assert.That(provider.Stats("m").Failed, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task A_client_that_leaves_mid_stream_is_counted_cancelled()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.OutputTokens = 100; m.TokensPerSecond = 10; });
        using IChatClient client = provider.CreateChatClient("m");
        using var cancel = new CancellationTokenSource();

        Exception e = await Sim.ThrowsAsync(async () =>
        {
            await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(Sim.Hello, cancellationToken: cancel.Token))
            {
                if (update.Text.Length > 0)
                {
                    await cancel.CancelAsync();
                }
            }
        });
        await Sim.IdleAsync(provider);

        Assert.That(e, Is.InstanceOf<OperationCanceledException>());
        Assert.That(provider.Stats("m"), Is.EqualTo(new SimulatedModelStats(1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0)));
    }

    [Test]
    public async Task Disposing_the_provider_ends_hung_requests()
    {
        SimulatedProvider provider = await Sim.StartAsync(m => m.Hang = true);
        using IChatClient client = provider.CreateChatClient("m");
        Task<ChatResponse> hung = client.GetResponseAsync("hello");
        await Sim.EventuallyAsync(() => provider.Stats("m").Active == 1, "admitted");

        await provider.DisposeAsync().AsTask().WaitAsync(Sim.Bound);
        Exception e = await Sim.ThrowsAsync(() => hung);
        await provider.DisposeAsync();

        Assert.Multiple(() =>
        {
            // Reset before any response byte: the SDK wraps it, unlike a drop after the headers (a bare IOException).
            Assert.That(e, Is.InstanceOf<ClientResultException>(), e.ToString());
            Assert.That(((ClientResultException)e).Status, Is.Zero, "no response");
            Assert.That(e.InnerException, Is.InstanceOf<HttpRequestException>());
            Assert.That(provider.Stats("m").Failed, Is.EqualTo(1), "a hang counts as failed");
            Assert.That(provider.Stats("m").InFlight, Is.Zero);
        });
    }

    [Test]
    public async Task An_unknown_model_gets_404_model_not_found()
    {
        await using SimulatedProvider provider = await Sim.StartAsync();
        using IChatClient client = provider.CreateChatClient("gpt-nothing");

        var e = (ClientResultException)await Sim.ThrowsAsync(() => client.GetResponseAsync("hello"));

        Assert.Multiple(() =>
        {
            Assert.That(e.Status, Is.EqualTo(404));
            Assert.That(e.Message, Does.Contain("model_not_found"));
            Assert.That(provider.Stats("m").Received, Is.Zero);
            Assert.That(() => provider.Model("gpt-nothing"), Throws.InstanceOf<KeyNotFoundException>());
        });
    }

    [Test]
    public async Task A_bad_request_body_gets_400()
    {
        await using SimulatedProvider provider = await Sim.StartAsync();
        using var http = new HttpClient();

        using HttpResponseMessage response = await http.PostAsync(new Uri(provider.BaseAddress, "chat/completions"), new StringContent("{\"model\": 3}"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("invalid_request_error"));
    }

    [Test]
    public async Task Faults_are_drawn_deterministically_from_the_seed()
    {
        static async Task<List<int>> RunAsync(SimulatedProvider provider)
        {
            var statuses = new List<int>();
            for (int i = 0; i < 40; i++)
            {
                statuses.Add(await Sim.StatusOfAsync(provider));
            }

            return statuses;
        }

        static void Faulty(SimulatedModelOptions m)
        {
            m.FailureRate = 0.3;
            m.ServiceUnavailableRate = 0.2;
            m.RetryAfterWhenBusy = TimeSpan.Zero;
        }

        await using SimulatedProvider first = await Sim.StartAsync(Faulty, seed: 42);
        await using SimulatedProvider second = await Sim.StartAsync(Faulty, seed: 42);
        await using SimulatedProvider other = await Sim.StartAsync(Faulty, seed: 43);

        List<int> a = await RunAsync(first);
        List<int> b = await RunAsync(second);
        List<int> c = await RunAsync(other);
        first.Reset();
        List<int> again = await RunAsync(first);

        Assert.Multiple(() =>
        {
            Assert.That(a, Is.EqualTo(b), "same seed, same sequence");
            Assert.That(again, Is.EqualTo(a), "Reset re-seeds");
            Assert.That(c, Is.Not.EqualTo(a), "another seed, another sequence");
            Assert.That(a.Distinct().Order(), Is.EqualTo((int[])[200, 500, 503]));
            Assert.That(first.Stats("m").Failed, Is.EqualTo(a.Count(s => s != 200)), "counters agree with what the client saw");
        });
    }

    [Test]
    public async Task Configure_changes_a_running_model()
    {
        await using SimulatedProvider provider = await Sim.StartAsync();
        SimulatedModel model = provider.Model("m");

        int before = await Sim.StatusOfAsync(provider);
        model.Configure(m => m.FailureRate = 1);
        int broken = await Sim.StatusOfAsync(provider);
        model.Configure(m => m.FailureRate = 0);
        int after = await Sim.StatusOfAsync(provider);

        Assert.Multiple(() =>
        {
            Assert.That((before, broken, after), Is.EqualTo((200, 500, 200)));
            Assert.That(() => model.Configure(m => m.FailureRate = 2), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("FailureRate"));
            Assert.That(model.Options.FailureRate, Is.Zero, "an invalid change changes nothing");
            model.Options.FailureRate = 1;
            Assert.That(model.Options.FailureRate, Is.Zero, "Options is a copy");
        });
    }

    internal static string? Header(ClientResultException e, string name) =>
        e.GetRawResponse()?.Headers.TryGetValue(name, out string? value) == true ? value : null;
}
