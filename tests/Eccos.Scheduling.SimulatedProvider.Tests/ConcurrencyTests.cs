namespace Eccos.Scheduling.Simulation.Tests;

/// <summary>MaxConcurrency and the in-flight counters under 32 concurrent callers, checked without timing assumptions.</summary>
public class ConcurrencyTests
{
    private const int Callers = 32;

    [Test]
    public async Task MaxConcurrency_admits_exactly_its_limit_while_requests_hang()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.MaxConcurrency = 4; m.Hang = true; });
        using IChatClient client = provider.CreateChatClient("m");
        using var cancel = new CancellationTokenSource();

        Task<ChatResponse>[] calls = [.. Enumerable.Range(0, Callers).Select(_ => Task.Run(() => client.GetResponseAsync("hello", cancellationToken: cancel.Token)))];
        // Four hang and hold their slots whatever the order of arrival, so the other 28 are rejected.
        await Sim.EventuallyAsync(() => calls.Count(c => c.IsCompleted) == Callers - 4, "28 calls rejected");
        SimulatedModelStats during = provider.Stats("m");
        await cancel.CancelAsync();
        Exception[] errors = await Task.WhenAll(calls.Select(c => Sim.ThrowsAsync(() => c)));
        await Sim.IdleAsync(provider);

        Assert.Multiple(() =>
        {
            Assert.That(during.Active, Is.EqualTo(4));
            Assert.That(during.MaxActive, Is.EqualTo(4));
            Assert.That(during.MaxInFlight, Is.InRange(5, Callers), "a rejected request was in flight beside the four");
            Assert.That(errors.OfType<ClientResultException>().Select(e => e.Status), Is.EqualTo(Enumerable.Repeat(429, Callers - 4)));
            Assert.That(errors.OfType<OperationCanceledException>().Count(), Is.EqualTo(4));
            Assert.That(provider.Stats("m"), Is.EqualTo(during with { Failed = 4, InFlight = 0, Active = 0 }));
        });
    }

    [Test]
    public async Task A_concurrency_rejection_can_be_a_503()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => { m.MaxConcurrency = 1; m.Hang = true; m.ConcurrencyLimitStatusCode = 503; });
        using IChatClient client = provider.CreateChatClient("m");
        using var cancel = new CancellationTokenSource();

        Task<ChatResponse> hung = client.GetResponseAsync("hello", cancellationToken: cancel.Token);
        await Sim.EventuallyAsync(() => provider.Stats("m").Active == 1, "one admitted");
        var rejected = (ClientResultException)await Sim.ThrowsAsync(() => client.GetResponseAsync("hello"));
        await cancel.CancelAsync();
        await Sim.ThrowsAsync(() => hung);

        Assert.That(rejected.Status, Is.EqualTo(503));
        Assert.That(FaultTests.Header(rejected, "Retry-After"), Is.EqualTo("1"));
    }

    [Test]
    public async Task Under_load_active_never_exceeds_MaxConcurrency_and_every_request_is_counted_once()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m =>
        {
            m.MaxConcurrency = 4;
            m.Latency = TimeSpan.FromMilliseconds(20);
            m.Jitter = TimeSpan.FromMilliseconds(20);
            m.FailureRate = 0.1;
            m.ServiceUnavailableRate = 0.1;
            m.DropConnectionRate = 0.05;
        });
        using IChatClient client = provider.CreateChatClient("m");

        // 32 callers × 8 requests, bounded; each caller tallies what it saw.
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 8; i++)
            {
                try
                {
                    await client.GetResponseAsync("hello").WaitAsync(Sim.Bound);
                    seen.Add("200");
                }
                catch (ClientResultException e)
                {
                    seen.Add(e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                catch (IOException)
                {
                    seen.Add("dropped");
                }
            }
        }))).WaitAsync(Sim.Bound * 2);
        await Sim.IdleAsync(provider);

        SimulatedModelStats stats = provider.Stats("m");
        var count = seen.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        Assert.Multiple(() =>
        {
            Assert.That(seen, Has.Count.EqualTo(Callers * 8));
            Assert.That(stats.Received, Is.EqualTo(Callers * 8));
            Assert.That(stats.Completed + stats.Failed + stats.Throttled + stats.Cancelled, Is.EqualTo(stats.Received));
            Assert.That(stats.Cancelled, Is.Zero);
            Assert.That(stats.Completed, Is.EqualTo(count.GetValueOrDefault("200")));
            Assert.That(stats.Throttled, Is.EqualTo(count.GetValueOrDefault("429")), "the concurrency limit answers 429");
            Assert.That(stats.Failed, Is.EqualTo(count.GetValueOrDefault("500") + count.GetValueOrDefault("503") + count.GetValueOrDefault("dropped")));
            Assert.That(stats.MaxActive, Is.InRange(1, 4));
            Assert.That(stats.MaxInFlight, Is.InRange(stats.MaxActive, Callers));
            Assert.That(stats.CompletionTokens, Is.EqualTo(16 * stats.Completed));
        });
    }
}
