using System.Diagnostics;
using System.Globalization;

namespace Eccos.Scheduling.Http.Tests;

/// <summary>
/// Load under throttling, over real HTTP through the OpenAI SDK: 64 callers send 20,000 requests to a pool whose
/// request and token limits are far below what the callers ask for. Time runs 60× faster than a provider's: every
/// window is 1 second instead of 1 minute (a model limited to 300 requests per window has "18,000 RPM").
/// </summary>
[Category("Load")]
[NonParallelizable]
public class LoadTests
{
    private const int Callers = 64;
    private const int Requests = 20_000;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    /// <summary>Three models, each limited below demand: requests per window on all, tokens per window on one.</summary>
    private static readonly (string Name, int RequestsPerWindow, int? TokensPerWindow, double Quality, int LatencyMs)[] Models =
    [
        ("small", 500, null, 0.80, 5),
        ("medium", 500, 15_000, 0.88, 10),
        ("large", 500, null, 0.95, 15),
    ];

    [Test]
    public async Task With_the_limits_configured_at_most_1_percent_of_calls_are_throttled()
    {
        LoadResult result = await RunAsync(configureLimits: true);

        Assert.Multiple(() =>
        {
            result.AssertExactlyOnce();
            Assert.That(result.Throttled, Is.LessThanOrEqualTo(result.Calls / 100), $"429s of {result.Calls} calls");
        });
    }

    [Test]
    public async Task With_the_limits_unknown_throttling_falls_to_a_tenth_in_the_second_half()
    {
        LoadResult result = await RunAsync(configureLimits: false);

        Assert.Multiple(() =>
        {
            result.AssertExactlyOnce();
            Assert.That(result.FirstHalfThrottled, Is.GreaterThan(0), "the run must start by running into the limits");
            Assert.That(result.SecondHalfThrottled, Is.LessThanOrEqualTo(result.FirstHalfThrottled / 10), "429s in the second half against the first");
        });
    }

    private static async Task<LoadResult> RunAsync(bool configureLimits)
    {
        var models = Models.Select(m => (m.Name, new SimulatedModelOptions
        {
            Latency = TimeSpan.FromMilliseconds(m.LatencyMs),
            Jitter = TimeSpan.FromMilliseconds(5),
            OutputTokens = 8,
            OutputTokensPerPromptToken = 0.5,
            RequestsPerWindow = m.RequestsPerWindow,
            TokensPerWindow = m.TokensPerWindow,
            RateWindow = Window,
        }, m.Quality, (int?)null)).ToArray();

        await using HttpPool pool = await HttpPool.StartAsync(
            models,
            o =>
            {
                o.RateWindow = Window;
                if (configureLimits)
                {
                    foreach (var m in Models)
                    {
                        // The router's limits are per minute, scaled to its RateWindow: a limit of N per 1-second window is 60·N per minute.
                        o.Models[m.Name] = new EccosModelOptions { RequestsPerMinute = m.RequestsPerWindow * 60, TokensPerMinute = m.TokensPerWindow * 60 };
                    }
                }
            },
            alpha: 0.85,
            outputTokens: 24);

        var outcomes = new int[Requests];
        var throttledTries = new int[Requests];
        var latencies = new double[Requests];
        int next = -1;
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var clock = Stopwatch.StartNew();
        Task[] callers = [.. Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            for (int i = Interlocked.Increment(ref next); i < Requests; i = Interlocked.Increment(ref next))
            {
                long start = Stopwatch.GetTimestamp();
                IReadOnlyList<EccosAttempt> attempts;
                int outcome;
                try
                {
                    ChatResponse response = await pool.Router.GetResponseAsync([new ChatMessage(ChatRole.User, Prompt(i))], cancellationToken: bound.Token);
                    attempts = HttpPool.DecisionOf(response).Attempts;
                    outcome = 1;
                }
                catch (EccosRoutingException e)
                {
                    attempts = e.Attempts;
                    outcome = 2;
                }

                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                throttledTries[i] = attempts.Count(a => a.Error is ClientResultException { Status: 429 });
                if (Interlocked.Exchange(ref outcomes[i], outcome) != 0)
                {
                    Assert.Fail($"request {i} completed twice");
                }
            }
        }))];
        await Task.WhenAll(callers);
        clock.Stop();

        var stats = pool.Provider.AllStats();
        var result = new LoadResult(
            outcomes,
            Calls: stats.Values.Sum(s => s.Received),
            Completed: stats.Values.Sum(s => s.Completed),
            Throttled: stats.Values.Sum(s => s.Throttled),
            FirstHalfThrottled: throttledTries.Take(Requests / 2).Sum(),
            SecondHalfThrottled: throttledTries.Skip(Requests / 2).Sum(),
            Elapsed: clock.Elapsed);

        Array.Sort(latencies);
        string perModel = string.Join(", ", stats.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Value.Completed} ok / {s.Value.Throttled} × 429")));
        TestContext.Out.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"limits {(configureLimits ? "configured" : "unknown")}: {Requests} requests by {Callers} callers in {result.Elapsed.TotalSeconds:F1} s ({Requests / result.Elapsed.TotalSeconds:F0}/s); " +
            $"{result.Succeeded} answered, {result.Failed} failed; {result.Calls} calls, {result.Throttled} × 429 ({100.0 * result.Throttled / result.Calls:F2} %); " +
            $"429s first half {result.FirstHalfThrottled}, second half {result.SecondHalfThrottled}; latency p50 {latencies[Requests / 2]:F1} ms, p99 {latencies[Requests * 99 / 100]:F1} ms; {perModel}"));
        return result;
    }

    /// <summary>Prompts of 10 to 60 tokens, so that answers (8 + half the prompt's tokens) vary around the predicted 24.</summary>
    private static string Prompt(int i) =>
        string.Create(CultureInfo.InvariantCulture, $"Question {i}: ") + new string('x', 30 + (int)((uint)(i * 2654435761u) % 200));

    private sealed record LoadResult(int[] Outcomes, long Calls, long Completed, long Throttled, int FirstHalfThrottled, int SecondHalfThrottled, TimeSpan Elapsed)
    {
        public int Succeeded => Outcomes.Count(o => o == 1);

        public int Failed => Outcomes.Count(o => o == 2);

        public void AssertExactlyOnce()
        {
            Assert.That(Outcomes.Count(o => o == 0), Is.Zero, "requests that never completed");
            Assert.That(Succeeded + Failed, Is.EqualTo(Requests));
            Assert.That(Completed, Is.EqualTo(Succeeded), "answers the provider completed against answers the callers got");
        }
    }
}
