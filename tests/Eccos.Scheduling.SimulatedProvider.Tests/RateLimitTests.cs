using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Simulation.Tests;

/// <summary>The sliding request and token windows: exact on a fake clock, and their Retry-After honest on the real one.</summary>
public class RateLimitTests
{
    [Test]
    public async Task The_request_window_admits_exactly_its_limit_and_slides()
    {
        FakeTimeProvider clock = Sim.FakeClock();
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.RequestsPerWindow = 3; m.RateWindow = TimeSpan.FromSeconds(10); }, clock);

        var statuses = new List<int> { await Sim.StatusOfAsync(provider), await Sim.StatusOfAsync(provider) };
        clock.Advance(TimeSpan.FromSeconds(4));
        statuses.Add(await Sim.StatusOfAsync(provider));
        ClientResultException limited = await RejectedAsync(provider);
        clock.Advance(TimeSpan.FromMilliseconds(5_999));
        statuses.Add(await Sim.StatusOfAsync(provider)); // 9.999 s after the first two: still full
        clock.Advance(TimeSpan.FromMilliseconds(1));
        statuses.Add(await Sim.StatusOfAsync(provider)); // the first two have left: two slots
        statuses.Add(await Sim.StatusOfAsync(provider));
        statuses.Add(await Sim.StatusOfAsync(provider)); // the one of t = 4 s is still in

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.EqualTo((int[])[200, 200, 200, 429, 200, 200, 429]));
            Assert.That(limited.Status, Is.EqualTo(429));
            Assert.That(FaultTests.Header(limited, "retry-after-ms"), Is.EqualTo("6000"), "the oldest admitted request leaves the window in 6 s");
            Assert.That(FaultTests.Header(limited, "Retry-After"), Is.EqualTo("6"));
            Assert.That(limited.Message, Does.Contain("rate_limit_exceeded"));
            Assert.That(provider.Stats("m").Throttled, Is.EqualTo(3));
            Assert.That(provider.Stats("m").Completed, Is.EqualTo(5));
        });
    }

    [Test]
    public async Task The_token_window_counts_prompt_and_output_tokens()
    {
        FakeTimeProvider clock = Sim.FakeClock();
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.TokensPerWindow = 100; m.OutputTokens = 15; m.RateWindow = TimeSpan.FromSeconds(10); }, clock);
        string prompt = new('x', 40); // 10 prompt tokens + 15 output tokens = 25 a request: 4 fit in 100

        var statuses = new List<int>();
        for (int i = 0; i < 2; i++)
        {
            statuses.Add(await Sim.StatusOfAsync(provider, prompt));
        }

        clock.Advance(TimeSpan.FromMilliseconds(2_500));
        for (int i = 0; i < 3; i++)
        {
            statuses.Add(await Sim.StatusOfAsync(provider, prompt));
        }

        ClientResultException limited = await RejectedAsync(provider, prompt);
        int small = await Sim.StatusOfAsync(provider, "");  // 0 + 15 tokens do not fit in the 0 left either
        clock.Advance(TimeSpan.FromMilliseconds(7_500));
        statuses.Add(await Sim.StatusOfAsync(provider, new string('x', 44))); // the first two left: 50 free, 26 taken
        statuses.Add(await Sim.StatusOfAsync(provider, prompt));              // 25 do not fit in 24
        statuses.Add(await Sim.StatusOfAsync(provider, new string('x', 36))); // 24 do

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.EqualTo((int[])[200, 200, 200, 200, 429, 200, 429, 200]));
            Assert.That(small, Is.EqualTo(429));
            Assert.That(FaultTests.Header(limited, "retry-after-ms"), Is.EqualTo("7500"), "25 tokens are free once the first request leaves, 10 s after it came");
            Assert.That(FaultTests.Header(limited, "Retry-After"), Is.EqualTo("8"), "7.5 s rounded up");
            Assert.That(provider.Stats("m").PromptTokens, Is.EqualTo(6 * 10));
            Assert.That(provider.Stats("m").CompletionTokens, Is.EqualTo(6 * 15));
        });
    }

    [Test]
    public async Task A_request_larger_than_the_token_limit_is_told_to_wait_a_whole_window()
    {
        FakeTimeProvider clock = Sim.FakeClock();
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.TokensPerWindow = 20; m.OutputTokens = 15; m.RateWindow = TimeSpan.FromSeconds(10); }, clock);

        ClientResultException limited = await RejectedAsync(provider, new string('x', 40));

        Assert.That(FaultTests.Header(limited, "retry-after-ms"), Is.EqualTo("10000"));
    }

    [Test]
    public async Task On_the_real_clock_waiting_Retry_After_is_enough()
    {
        // Only lower bounds of time matter here: the window needs 4 requests within 1 s to reject one (the loop runs until
        // it does), and after waiting retry-after-ms the oldest has left, however slow the machine.
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.RequestsPerWindow = 3; m.RateWindow = TimeSpan.FromSeconds(1); });

        ClientResultException? limited = null;
        for (int i = 0; i < 50 && limited is null; i++)
        {
            limited = await TryAsync(provider);
        }

        Assert.That(limited, Is.Not.Null, "4 requests in a row within one second");
        int ms = int.Parse(FaultTests.Header(limited!, "retry-after-ms")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(ms, Is.InRange(1, 1000));
        Assert.That(FaultTests.Header(limited!, "Retry-After"), Is.EqualTo("1"));

        await Task.Delay(ms);
        Assert.That(await Sim.StatusOfAsync(provider), Is.EqualTo(200));
    }

    private static async Task<ClientResultException> RejectedAsync(SimulatedProvider provider, string text = "hello") =>
        await TryAsync(provider, text) ?? throw new AssertionException("expected a 429");

    private static async Task<ClientResultException?> TryAsync(SimulatedProvider provider, string text = "hello")
    {
        using IChatClient client = provider.CreateChatClient("m");
        try
        {
            await client.GetResponseAsync(text).WaitAsync(Sim.Bound);
            return null;
        }
        catch (ClientResultException e) when (e.Status == 429)
        {
            return e;
        }
    }
}
