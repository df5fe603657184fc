using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Eccos.Scheduling.Http.Tests;

/// <summary>
/// The router's fault handling seen from outside, over real HTTP through the official OpenAI SDK (retries off): 429
/// and 503 with their Retry-After, hangs cut by the router's timeouts, 500s that open a circuit, dropped connections,
/// token limits settled to the usage the SDK reports, and a mixed-fault run in which every request must end exactly
/// once. The clock is the machine's: timings are asserted as lower bounds only, every wait is bounded by
/// <see cref="HttpPool.Bound"/>.
/// </summary>
/// <remarks>
/// In every pool here "a" is the cheaper of two equally good models, so a request goes to "a" first and to "b" only
/// when the router fails over or passes "a" over.
/// </remarks>
[NonParallelizable]
public class FaultsOverHttpTests
{
    /// <summary>A try's deadline: far above what a local call to a healthy model takes after warm-up, even on a busy machine.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Never = TimeSpan.FromSeconds(30);

    [Test]
    public async Task A_429_with_Retry_After_fails_over_at_once_and_cools_the_model_down_for_as_long_as_the_server_said()
    {
        // "a" admits one request per 4 s and says so (Retry-After, retry-after-ms); nothing is configured in the router.
        await using HttpPool pool = await HttpPool.StartAsync(
        [
            ("a", new SimulatedModelOptions { RequestsPerWindow = 1, RateWindow = TimeSpan.FromSeconds(4) }, 0.9, null),
            ("b", new SimulatedModelOptions(), 0.9, null),
        ]);

        EccosDecision first = await AskAsync(pool);
        var sinceThrottle = Stopwatch.StartNew(); // started before the 429, so the cool-down ends no earlier than retry-after-ms from now
        EccosDecision throttled = await AskAsync(pool);
        Assert.That(Tries(first), Is.EqualTo("a:ok"));
        Assert.That(Tries(throttled), Is.EqualTo("a:429 → b:ok"), "the 429 fails over to the other model");
        double retryAfterMs = RetryAfterMs(throttled.Attempts[0].Error);
        Assert.That(retryAfterMs, Is.GreaterThan(2000), "the server asks for most of its 4 s window (a precondition of this test)");
        Assert.That(throttled.Attempts[1].QueueWait, Is.LessThan(TimeSpan.FromMilliseconds(retryAfterMs / 2)), "failed over at once, not after the cool-down");

        EccosDecision cooling = await AskAsync(pool);
        Assert.Multiple(() =>
        {
            Assert.That(HealthOf(cooling, "a"), Is.EqualTo(EccosModelHealth.CoolingDown));
            Assert.That(Tries(cooling), Is.EqualTo("b:ok"), "a cooling model is passed over, not tried");
        });

        (EccosDecision recovered, TimeSpan cooled, int passedOver) = await AskUntilAsync(
            pool, d => HealthOf(d, "a") != EccosModelHealth.CoolingDown, sinceThrottle, d => Assert.That(Tries(d), Is.EqualTo("b:ok")));

        SimulatedModelStats a = pool.Provider.Stats("a");
        Assert.Multiple(() =>
        {
            Assert.That(passedOver, Is.GreaterThan(0), "requests were sent while it cooled down");
            Assert.That(cooled.TotalMilliseconds, Is.GreaterThanOrEqualTo(retryAfterMs - 5), "cooled down for at least the server's retry-after-ms");
            Assert.That(HealthOf(recovered, "a"), Is.EqualTo(EccosModelHealth.Healthy));
            Assert.That(Tries(recovered), Is.EqualTo("a:ok"), "eligible again after the cool-down");
            Assert.That(a.Received, Is.EqualTo(3), "no request reached the cooling model: the served one, the 429, the one after the cool-down");
            Assert.That(a.Throttled, Is.EqualTo(1));
            Assert.That(a.Completed, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task A_503_cools_the_model_down_like_a_429_and_does_not_open_its_circuit()
    {
        // One failure would open the circuit for 30 s: a 503 must cool "a" down for its Retry-After instead.
        await using HttpPool pool = await HttpPool.StartAsync(
            [
                ("a", new SimulatedModelOptions { ServiceUnavailableRate = 1, RetryAfterWhenBusy = TimeSpan.FromSeconds(3) }, 0.9, null),
                ("b", new SimulatedModelOptions(), 0.9, null),
            ],
            o =>
            {
                o.Health.ConsecutiveFailures = 1;
                o.Health.BreakDuration = Never;
            });

        var sinceThrottle = Stopwatch.StartNew();
        EccosDecision unavailable = await AskAsync(pool);
        Assert.That(Tries(unavailable), Is.EqualTo("a:503 → b:ok"));
        double retryAfterMs = RetryAfterMs(unavailable.Attempts[0].Error);
        Assert.That(retryAfterMs, Is.EqualTo(3000));

        EccosDecision cooling = await AskAsync(pool);
        Assert.Multiple(() =>
        {
            Assert.That(HealthOf(cooling, "a"), Is.EqualTo(EccosModelHealth.CoolingDown), "a 503 is throttling, not a failure");
            Assert.That(Tries(cooling), Is.EqualTo("b:ok"));
        });

        pool.Provider.Model("a").Configure(m => m.ServiceUnavailableRate = 0);
        (EccosDecision recovered, TimeSpan cooled, _) = await AskUntilAsync(
            pool, d => HealthOf(d, "a") != EccosModelHealth.CoolingDown, sinceThrottle, d => Assert.That(Tries(d), Is.EqualTo("b:ok")));

        Assert.Multiple(() =>
        {
            Assert.That(cooled.TotalMilliseconds, Is.GreaterThanOrEqualTo(retryAfterMs - 5), "cooled down for at least the server's retry-after-ms");
            Assert.That(HealthOf(recovered, "a"), Is.EqualTo(EccosModelHealth.Healthy), "not Broken: the circuit stayed closed");
            Assert.That(Tries(recovered), Is.EqualTo("a:ok"));
            Assert.That(pool.Provider.Stats("a").Received, Is.EqualTo(2), "the 503 and the request after the cool-down");
        });
    }

    [Test]
    public async Task A_request_that_waits_for_a_cooling_model_is_served_when_the_cool_down_ends()
    {
        // One model: a request sent while it cools down has nowhere else to go and waits in the router's queue, until
        // the dispatcher's timer wakes it at the end of the cool-down. Ten rounds, each with a fresh cool-down.
        TimeSpan retryAfter = TimeSpan.FromMilliseconds(200);
        await using HttpPool pool = await HttpPool.StartAsync(
            [("a", new SimulatedModelOptions { RetryAfterWhenBusy = retryAfter }, 0.9, null)],
            o => o.Health.LearnRateLimits = false); // ten 503s in a minute would teach a rate limit: not the point here
        Assert.That(Tries(await AskAsync(pool)), Is.EqualTo("a:ok")); // warm-up

        for (int round = 0; round < 10; round++)
        {
            pool.Provider.Model("a").Configure(m => m.ServiceUnavailableRate = 1);
            var sinceThrottle = Stopwatch.StartNew();
            EccosRoutingException? refused = null;
            try
            {
                await HttpPool.WithinBound(pool.Router.GetResponseAsync([new ChatMessage(ChatRole.User, "hello")]));
            }
            catch (EccosRoutingException e)
            {
                refused = e;
            }

            Assert.That(refused, Is.Not.Null, $"round {round}: the request failed");
            Assert.That(Tries(refused!.Attempts), Is.EqualTo("a:503"), $"round {round}: one 503, no other model");
            pool.Provider.Model("a").Configure(m => m.ServiceUnavailableRate = 0);

            EccosDecision waited = await AskAsync(pool);

            Assert.Multiple(() =>
            {
                Assert.That(Tries(waited), Is.EqualTo("a:ok"), $"round {round}");
                Assert.That(sinceThrottle.Elapsed, Is.GreaterThanOrEqualTo(retryAfter), $"round {round}: served after the cool-down");
                Assert.That(waited.Attempts[0].QueueWait, Is.GreaterThan(TimeSpan.Zero), $"round {round}: it waited in the queue");
            });
        }
    }

    [Test]
    public async Task A_hung_or_slow_model_is_abandoned_after_AttemptTimeout_and_the_request_served_by_another([Values] bool hang)
    {
        await using HttpPool pool = await HttpPool.StartAsync(
            [("a", new SimulatedModelOptions(), 0.9, null), ("b", new SimulatedModelOptions(), 0.9, null)],
            o =>
            {
                o.AttemptTimeout = Deadline;
                o.Models["b"] = new EccosModelOptions { AttemptTimeout = HttpPool.Bound }; // "b" must not be cut by a busy machine
            });
        Assert.That(Tries(await AskAsync(pool)), Is.EqualTo("a:ok")); // warm-up: the SDK's code and a connection are ready
        pool.Provider.Reset();
        pool.Provider.Model("a").Configure(m =>
        {
            m.Hang = hang;
            m.Latency = hang ? TimeSpan.Zero : Never;
        });

        EccosDecision decision = await AskAsync(pool);

        Assert.That(Tries(decision), Is.EqualTo("a:TimeoutException → b:ok"));
        Assert.That(decision.Attempts[0].Duration, Is.GreaterThanOrEqualTo(Deadline - TimeSpan.FromMilliseconds(5)));
        await AssertAbandonedAsync(pool, hang);
    }

    [Test]
    public async Task A_stream_whose_first_update_does_not_come_within_FirstTokenTimeout_is_served_wholly_by_another_model([Values] bool hang)
    {
        // "b" streams 10 tokens at 5 a second: its whole stream outlasts the first-token deadline, which must end at its first update.
        await using HttpPool pool = await HttpPool.StartAsync(
            [
                ("a", new SimulatedModelOptions { OutputTokens = 10 }, 0.9, null),
                ("b", new SimulatedModelOptions { OutputTokens = 10, TokensPerSecond = 5 }, 0.9, null),
            ],
            o => o.FirstTokenTimeout = Deadline);
        (List<ChatResponseUpdate> warm, Exception? warmError) = await StreamAsync(pool.Router);
        Assert.That(warmError, Is.Null);
        Assert.That(Tries(DecisionOf(warm)), Is.EqualTo("a:ok"));
        pool.Provider.Reset();
        pool.Provider.Model("a").Configure(m =>
        {
            m.Hang = hang;
            m.TimeToFirstToken = hang ? TimeSpan.Zero : Never;
        });

        var clock = Stopwatch.StartNew();
        (List<ChatResponseUpdate> updates, Exception? error) = await StreamAsync(pool.Router);
        clock.Stop();

        Assert.That(error, Is.Null, "the stream from the healthy model completes (its first-token deadline ended at its first update)");
        EccosDecision decision = DecisionOf(updates);
        string text = string.Concat(updates.Select(u => u.Text));
        Assert.Multiple(() =>
        {
            Assert.That(Tries(decision), Is.EqualTo("a:TimeoutException → b:ok"));
            Assert.That(decision.Attempts[0].Duration, Is.GreaterThanOrEqualTo(Deadline - TimeSpan.FromMilliseconds(5)));
            Assert.That(text, Does.StartWith("b: hello"), "the content is the healthy model's");
            Assert.That(text, Has.Length.EqualTo(40), "all 10 tokens of it, 4 characters each");
            Assert.That(updates.Where(u => u.ModelId is not null).Select(u => u.ModelId), Is.Not.Empty.And.All.EqualTo("b"), "no update from the hung model");
            Assert.That(updates.Count(u => u.AdditionalProperties?.ContainsKey(EccosDecision.PropertyKey) == true), Is.EqualTo(1), "one decision, on the first update");
            Assert.That(clock.Elapsed, Is.GreaterThan(Deadline + TimeSpan.FromSeconds(1.8)), "the first-token deadline, then b's 1.8 s of paced tokens");
        });
        await AssertAbandonedAsync(pool, hang);
    }

    [Test]
    public async Task HTTP_500s_fail_over_open_the_circuit_for_BreakDuration_and_then_let_one_probe_through()
    {
        TimeSpan breakDuration = TimeSpan.FromSeconds(2);
        await using HttpPool pool = await HttpPool.StartAsync(
            [("a", new SimulatedModelOptions { FailureRate = 1 }, 0.9, null), ("b", new SimulatedModelOptions(), 0.9, null)],
            o =>
            {
                o.Health.ConsecutiveFailures = 3;
                o.Health.BreakDuration = breakDuration;
            });

        Assert.That(Tries(await AskAsync(pool)), Is.EqualTo("a:500 → b:ok"));
        Assert.That(Tries(await AskAsync(pool)), Is.EqualTo("a:500 → b:ok"));
        var sinceOpen = Stopwatch.StartNew(); // before the third failure, which opens the circuit
        EccosDecision third = await AskAsync(pool);
        EccosDecision broken = await AskAsync(pool);
        Assert.Multiple(() =>
        {
            Assert.That(Tries(third), Is.EqualTo("a:500 → b:ok"));
            Assert.That(HealthOf(third, "a"), Is.EqualTo(EccosModelHealth.Healthy), "two failures in a row: still closed");
            Assert.That(HealthOf(broken, "a"), Is.EqualTo(EccosModelHealth.Broken), "three in a row open it");
            Assert.That(Tries(broken), Is.EqualTo("b:ok"), "an open circuit is passed over");
            Assert.That(pool.Provider.Stats("a").Received, Is.EqualTo(3));
        });

        // The probe takes 1 s (and fails): requests fired every 20 ms meanwhile must all go to "b" — one probe only.
        pool.Provider.Model("a").Configure(m => m.Latency = TimeSpan.FromSeconds(1));
        var calls = new List<Task<EccosDecision>>();
        TimeSpan? probeArrived = null;
        var probeClock = Stopwatch.StartNew();
        while (probeArrived is null || sinceOpen.Elapsed < probeArrived.Value + TimeSpan.FromMilliseconds(600))
        {
            calls.Add(AskAsync(pool));
            await Task.Delay(20);
            if (probeArrived is null && pool.Provider.Stats("a").Received > 3)
            {
                probeArrived = sinceOpen.Elapsed;
            }

            if (probeClock.Elapsed > HttpPool.Bound)
            {
                Assert.Fail($"No probe reached 'a' within {HttpPool.Bound}.");
            }
        }

        EccosDecision[] during = await HttpPool.WithinBound(Task.WhenAll(calls));
        EccosDecision reopened = await AskAsync(pool);
        Assert.Multiple(() =>
        {
            Assert.That(probeArrived, Is.GreaterThanOrEqualTo(breakDuration), "no request reached 'a' for BreakDuration");
            Assert.That(pool.Provider.Stats("a").Received, Is.EqualTo(4), "exactly one half-open probe");
            Assert.That(during.Count(d => Tries(d) == "a:500 → b:ok"), Is.EqualTo(1), "the probe failed over");
            Assert.That(during.Count(d => Tries(d) == "b:ok"), Is.EqualTo(during.Length - 1), "every other request went to 'b'");
            Assert.That(HealthOf(reopened, "a"), Is.EqualTo(EccosModelHealth.Broken), "the failed probe reopened the circuit");
            Assert.That(Tries(reopened), Is.EqualTo("b:ok"));
        });

        // A probe that succeeds closes the circuit.
        pool.Provider.Model("a").Configure(m =>
        {
            m.FailureRate = 0;
            m.Latency = TimeSpan.Zero;
        });
        (EccosDecision probe, _, _) = await AskUntilAsync(pool, d => d.Model == "a", Stopwatch.StartNew(), d => Assert.That(Tries(d), Is.EqualTo("b:ok")));
        EccosDecision closed = await AskAsync(pool);
        Assert.Multiple(() =>
        {
            Assert.That(HealthOf(probe, "a"), Is.EqualTo(EccosModelHealth.Probing));
            Assert.That(Tries(probe), Is.EqualTo("a:ok"));
            Assert.That(HealthOf(closed, "a"), Is.EqualTo(EccosModelHealth.Healthy));
            Assert.That(Tries(closed), Is.EqualTo("a:ok"));
            Assert.That(pool.Provider.Stats("a").Received, Is.EqualTo(6));
        });
    }

    [Test]
    public async Task A_dropped_connection_fails_over()
    {
        await using HttpPool pool = await HttpPool.StartAsync(
            [("a", new SimulatedModelOptions { DropConnectionRate = 1 }, 0.9, null), ("b", new SimulatedModelOptions(), 0.9, null)]);

        EccosDecision decision = await AskAsync(pool);

        Assert.Multiple(() =>
        {
            Assert.That(Tries(decision), Is.EqualTo("a:IOException → b:ok"));
            Assert.That(pool.Provider.Stats("a").Failed, Is.EqualTo(1));
            Assert.That(pool.Provider.Stats("b").Completed, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_stream_dropped_after_its_first_updates_ends_with_the_error_and_is_not_failed_over()
    {
        // 8 tokens 50 ms apart; the connection drops after 4 of them. One failure opens the circuit.
        await using HttpPool pool = await HttpPool.StartAsync(
            [
                ("a", new SimulatedModelOptions { DropConnectionRate = 1, OutputTokens = 8, TokensPerSecond = 20 }, 0.9, null),
                ("b", new SimulatedModelOptions(), 0.9, null),
            ],
            o =>
            {
                o.Health.ConsecutiveFailures = 1;
                o.Health.BreakDuration = Never;
            });

        (List<ChatResponseUpdate> updates, Exception? error) = await StreamAsync(pool.Router);
        EccosDecision next = await AskAsync(pool);

        Assert.Multiple(() =>
        {
            Assert.That(error, Is.InstanceOf<IOException>(), "the SDK's error reaches the caller unchanged");
            Assert.That(string.Concat(updates.Select(u => u.Text)), Does.StartWith("a: hello"), "updates reached the caller before the drop");
            Assert.That(Tries(DecisionOf(updates)), Is.EqualTo("a:ok"), "the first update named 'a'");
            Assert.That(pool.Provider.Stats("b").Received, Is.EqualTo(1), "no failover: 'b' got only the request after the stream");
            Assert.That(HealthOf(next, "a"), Is.EqualTo(EccosModelHealth.Broken), "the drop counts as a failure of 'a'");
            Assert.That(Tries(next), Is.EqualTo("b:ok"));
        });
    }

    [Test]
    public async Task A_token_limit_counts_the_usage_the_SDK_reported_not_the_prediction()
    {
        // "a" may use 2,500 tokens per 30 s window. The predictor says 1,000 output tokens; the server answers with 16
        // (2 + 16 tokens a call), later with 400. No price solve runs (fewer than 16 requests, a refresh of an hour), so
        // only admission decides between the two models.
        const int Limit = 2500;
        const int Predicted = 1000;
        TimeSpan window = TimeSpan.FromSeconds(30);
        await using HttpPool pool = await HttpPool.StartAsync(
            [("a", new SimulatedModelOptions { Latency = TimeSpan.FromSeconds(3) }, 0.9, null), ("b", new SimulatedModelOptions(), 0.9, null)],
            o =>
            {
                o.RateWindow = window;
                o.PriceRefreshInterval = TimeSpan.FromHours(1);
                o.Models["a"] = new EccosModelOptions { TokensPerMinute = (int)(Limit / window.TotalMinutes) };
            },
            outputTokens: Predicted);
        var clock = Stopwatch.StartNew();

        // In flight, reservations are predictions: two of ~1,002 fit in 2,500, a third does not.
        EccosDecision[] concurrent = await HttpPool.WithinBound(Task.WhenAll(Enumerable.Range(0, 3).Select(_ => AskAsync(pool))));
        Assert.Multiple(() =>
        {
            Assert.That(concurrent.Count(d => d.Model == "a"), Is.EqualTo(2), "two predicted reservations fill the window while in flight");
            Assert.That(concurrent.Count(d => d.Model == "b"), Is.EqualTo(1));
            Assert.That(pool.Provider.Stats("a").Received, Is.EqualTo(2));
        });

        // Settled to 18 tokens each, the window has room for many more: by the prediction alone, none.
        pool.Provider.Model("a").Configure(m => m.Latency = TimeSpan.Zero);
        var sequential = new List<EccosDecision>();
        for (int i = 0; i < 6; i++)
        {
            sequential.Add(await AskAsync(pool));
        }

        Assert.That(sequential.Select(d => d.Model), Is.All.EqualTo("a"), "8 calls on 'a' in one window where the predictions allow 2");

        // Settled to the real usage, not to nothing: with answers of 400 tokens, the window fills after a computed count.
        pool.Provider.Model("a").Configure(m => m.OutputTokens = 400);
        SimulatedModelStats before = pool.Provider.Stats("a");
        long used = before.PromptTokens + before.CompletionTokens;
        int reserved = sequential[0].Query.InputTokens + Predicted;
        long perCall = (before.PromptTokens / before.Completed) + 400;
        var expected = new List<string>();
        var served = new List<string?>();
        for (int i = 0; i < 5; i++)
        {
            bool fits = used + reserved <= Limit;
            expected.Add(fits ? "a" : "b");
            used += fits ? perCall : 0;
            served.Add((await AskAsync(pool)).Model);
        }

        Assert.Multiple(() =>
        {
            Assert.That(clock.Elapsed, Is.LessThan(window), "all of it within one window (else the test says nothing)");
            Assert.That(expected, Does.Contain("a").And.Contain("b"), "the numbers make the count decisive");
            Assert.That(served, Is.EqualTo(expected), $"reservations of {reserved} settled to {perCall} each from {before.PromptTokens + before.CompletionTokens} used");
        });
    }

    [Test]
    public async Task Under_mixed_faults_every_request_ends_exactly_once_and_the_server_completed_exactly_the_answers_returned()
    {
        const int Requests = 300;
        const int Callers = 16;
        SimulatedModelOptions Faulty(double failure, double unavailable, double drop) => new()
        {
            Latency = TimeSpan.FromMilliseconds(5),
            Jitter = TimeSpan.FromMilliseconds(20),
            OutputTokens = 8,
            TokensPerSecond = 400,
            FailureRate = failure,
            ServiceUnavailableRate = unavailable,
            DropConnectionRate = drop,
            RetryAfterWhenBusy = TimeSpan.FromMilliseconds(100),
        };
        var sink = new RecordingSink();
        await using HttpPool pool = await HttpPool.StartAsync(
            [("a", Faulty(0.10, 0.05, 0.05), 0.8, 4), ("b", Faulty(0.05, 0.10, 0.05), 0.85, 4), ("c", Faulty(0.05, 0.05, 0.10), 0.9, 4)],
            o =>
            {
                o.RateWindow = TimeSpan.FromSeconds(1); // the rates learned from the 503s recover within a second
                o.Health.BreakDuration = TimeSpan.FromMilliseconds(300);
                o.Health.Cooldown = TimeSpan.FromMilliseconds(100);
            },
            build: b => b.AddOutcomeSink(sink));

        var outcomes = new Outcome?[Requests];
        var unexpected = new ConcurrentQueue<string>();
        int next = -1;
        Task[] callers = [.. Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            for (int i = Interlocked.Increment(ref next); i < Requests; i = Interlocked.Increment(ref next))
            {
                Outcome outcome = await CallAsync(pool.Router, i, unexpected);
                if (Interlocked.CompareExchange(ref outcomes[i], outcome, null) is not null)
                {
                    unexpected.Enqueue($"request {i} ended twice");
                }
            }
        }))];
        var clock = Stopwatch.StartNew();
        await HttpPool.WithinBound(Task.WhenAll(callers).ContinueWith(_ => true, TaskScheduler.Default));
        await Task.WhenAll(callers);
        clock.Stop();

        string[] models = ["a", "b", "c"];
        await HttpPool.EventuallyAsync(() => models.All(m => pool.Provider.Stats(m).InFlight == 0), "the server has no request in flight");
        await pool.Router.DisposeAsync(); // drains the outcome sinks
        Dictionary<string, SimulatedModelStats> stats = models.ToDictionary(m => m, m => pool.Provider.Stats(m));
        Outcome[] ended = [.. outcomes.Where(o => o is not null).Select(o => o!)];
        OutcomeRecord[] records = [.. sink.Records];
        TestContext.Out.WriteLine(string.Join("; ", stats.Select(s => $"{s.Key}: {s.Value}")));
        TestContext.Out.WriteLine($"{Requests} requests in {clock.Elapsed.TotalSeconds:F1} s; answered {ended.Count(o => o.Model is not null)} ({ended.Count(o => o.Model is not null && o.Streamed)} streamed), failed: " +
            string.Join(", ", ended.Where(o => o.Error is not null).GroupBy(o => o.Error).Select(g => $"{g.Key} × {g.Count()}")));

        Assert.Multiple(() =>
        {
            Assert.That(unexpected, Is.Empty);
            Assert.That(ended, Has.Length.EqualTo(Requests), "every request ended");
            Assert.That(ended.Count(o => o.Model is not null), Is.GreaterThan(Requests / 2), "most were answered (a precondition)");
            Assert.That(ended.Count(o => o.Error is not null), Is.GreaterThan(0), "some failed (a precondition: the faults reached the callers)");
            foreach (string m in models)
            {
                Assert.That(stats[m].Completed, Is.EqualTo(ended.Count(o => o.Model == m)), $"answers '{m}' completed against answers the callers got from it");
                Assert.That(stats[m].Cancelled, Is.Zero, $"no call to '{m}' was abandoned");
                Assert.That(stats[m].Received, Is.EqualTo(stats[m].Completed + stats[m].Failed + stats[m].Throttled), $"every call to '{m}' ended");
                Assert.That(pool.Router.GetInFlight(m), Is.Zero, $"the router holds no slot of '{m}'");
            }

            Assert.That(records.Select(r => r.Id).Order(), Is.EqualTo(Enumerable.Range(0, Requests).Select(Id).Order()), "one outcome record per request");
            Assert.That(records.Count(r => r.Outputs.Count > 0 && r.Outputs[^1].Error is null), Is.EqualTo(ended.Count(o => o.Model is not null)), "served records against answers");
        });
    }

    /// <summary>Polls <paramref name="model"/> "a" until no call is in flight, then checks how the abandoned call ended on the server.</summary>
    private static async Task AssertAbandonedAsync(HttpPool pool, bool hang)
    {
        await HttpPool.EventuallyAsync(() => pool.Provider.Stats("a").InFlight == 0, "the server saw the abandoned call end");
        SimulatedModelStats a = pool.Provider.Stats("a");
        Assert.Multiple(() =>
        {
            Assert.That(a.Received, Is.EqualTo(1));
            Assert.That(a.Completed, Is.Zero);

            // The server counts a hang that the client left as failed, a slow answer the client left as cancelled.
            Assert.That(a.Failed, Is.EqualTo(hang ? 1 : 0));
            Assert.That(a.Cancelled, Is.EqualTo(hang ? 0 : 1));
            Assert.That(pool.Provider.Stats("b").Completed, Is.EqualTo(1));
        });
    }

    /// <summary>One request of the mixed run: streamed every third, its end checked and described.</summary>
    private static async Task<Outcome> CallAsync(EccosChatClient router, int i, ConcurrentQueue<string> unexpected)
    {
        var options = new ChatOptions { AdditionalProperties = new() { [EccosChatClient.QueryIdPropertyKey] = Id(i) } };
        ChatMessage[] prompt = [new ChatMessage(ChatRole.User, string.Create(CultureInfo.InvariantCulture, $"question {i}"))];
        bool streamed = i % 3 == 0;
        if (!streamed)
        {
            try
            {
                ChatResponse response = await router.GetResponseAsync(prompt, options);
                string model = HttpPool.DecisionOf(response).Model!;
                if (!response.Text.StartsWith(model + ": question", StringComparison.Ordinal))
                {
                    unexpected.Enqueue($"request {i}: '{model}' answered '{response.Text}'");
                }

                return new Outcome(model, null, false);
            }
            catch (EccosRoutingException)
            {
                return new Outcome(null, nameof(EccosRoutingException), false);
            }
            catch (Exception e)
            {
                unexpected.Enqueue($"request {i}: {e.GetType().Name}: {e.Message}");
                return new Outcome(null, e.GetType().Name, false);
            }
        }

        var updates = new List<ChatResponseUpdate>();
        try
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(prompt, options))
            {
                updates.Add(update);
            }
        }
        catch (Exception e)
        {
            bool expected = e is EccosRoutingException || (e is IOException && updates.Count > 0);
            if (!expected)
            {
                unexpected.Enqueue($"request {i}, streamed after {updates.Count} updates: {e.GetType().Name}: {e.Message}");
            }

            CheckOneModel(i, updates, unexpected);
            return new Outcome(null, e is IOException ? "IOException mid-stream" : e.GetType().Name, true);
        }

        string? served = CheckOneModel(i, updates, unexpected);
        if (served is null || !string.Concat(updates.Select(u => u.Text)).StartsWith(served + ": question", StringComparison.Ordinal))
        {
            unexpected.Enqueue($"request {i}: a stream from '{served}' of '{string.Concat(updates.Select(u => u.Text))}'");
        }

        return new Outcome(served, null, true);
    }

    /// <summary>Checks that a stream's updates have one decision, on the first, and all come from the model it names; returns that model.</summary>
    private static string? CheckOneModel(int i, List<ChatResponseUpdate> updates, ConcurrentQueue<string> unexpected)
    {
        if (updates.Count == 0)
        {
            return null;
        }

        string? model = DecisionOf(updates).Model;
        int decisions = updates.Count(u => u.AdditionalProperties?.ContainsKey(EccosDecision.PropertyKey) == true);
        string[] from = [.. updates.Where(u => u.ModelId is not null).Select(u => u.ModelId!).Distinct()];
        if (decisions != 1 || from.Length != 1 || from[0] != model)
        {
            unexpected.Enqueue($"request {i}: {decisions} decisions, updates from {string.Join(", ", from)}, decision names '{model}'");
        }

        return model;
    }

    private static string Id(int i) => string.Create(CultureInfo.InvariantCulture, $"q{i}");

    private static async Task<EccosDecision> AskAsync(HttpPool pool) =>
        HttpPool.DecisionOf(await HttpPool.WithinBound(pool.Router.GetResponseAsync([new ChatMessage(ChatRole.User, "hello")])));

    /// <summary>
    /// Sends a request every 50 ms until <paramref name="done"/> holds for its decision; <paramref name="before"/>
    /// checks each one before that. Returns the decision that ended it, the time on <paramref name="clock"/> then, and
    /// how many came before it.
    /// </summary>
    private static async Task<(EccosDecision Decision, TimeSpan At, int Before)> AskUntilAsync(
        HttpPool pool, Func<EccosDecision, bool> done, Stopwatch clock, Action<EccosDecision> before)
    {
        var bound = Stopwatch.StartNew();
        for (int count = 0; ; count++)
        {
            EccosDecision decision = await AskAsync(pool);
            if (done(decision))
            {
                return (decision, clock.Elapsed, count);
            }

            before(decision);
            if (bound.Elapsed > HttpPool.Bound)
            {
                Assert.Fail($"Not within {HttpPool.Bound}: the awaited decision.");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<(List<ChatResponseUpdate> Updates, Exception? Error)> StreamAsync(EccosChatClient chat)
    {
        var updates = new List<ChatResponseUpdate>();
        async Task<Exception?> ReadAsync()
        {
            try
            {
                await foreach (ChatResponseUpdate update in chat.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hello")]))
                {
                    updates.Add(update);
                }

                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }

        Exception? error = await HttpPool.WithinBound(ReadAsync());
        return (updates, error);
    }

    private static EccosDecision DecisionOf(List<ChatResponseUpdate> updates)
    {
        Assert.That(updates, Is.Not.Empty, "the stream had updates");
        return (EccosDecision)updates[0].AdditionalProperties![EccosDecision.PropertyKey]!;
    }

    private static EccosModelHealth HealthOf(EccosDecision decision, string model) => decision.Candidates.Single(c => c.Model == model).Health;

    /// <summary>The tries in order, each as "model:ok", "model:{HTTP status}" or "model:{exception type}", joined by " → ".</summary>
    private static string Tries(EccosDecision decision) => Tries(decision.Attempts);

    private static string Tries(IReadOnlyList<EccosAttempt> attempts) =>
        string.Join(" → ", attempts.Select(a => a.Model + ":" + a.Error switch
        {
            null => "ok",
            ClientResultException { Status: > 0 } e => e.Status.ToString(CultureInfo.InvariantCulture),
            Exception e => e.GetType().Name,
        }));

    /// <summary>The retry-after-ms header of a throttled try's SDK exception.</summary>
    private static double RetryAfterMs(Exception? error)
    {
        string? ms = null;
        Assert.That((error as ClientResultException)?.GetRawResponse()?.Headers.TryGetValue("retry-after-ms", out ms), Is.True, $"a ClientResultException with retry-after-ms, not {error}");
        return double.Parse(ms!, CultureInfo.InvariantCulture);
    }

    /// <summary>How one request of the mixed run ended: the model that answered, or the error the caller got.</summary>
    private sealed record Outcome(string? Model, string? Error, bool Streamed);

    /// <summary>Keeps every outcome record the router posts.</summary>
    private sealed class RecordingSink : IOutcomeSink
    {
        private readonly ConcurrentQueue<OutcomeRecord> _records = new();

        public IEnumerable<OutcomeRecord> Records => _records;

        public ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default)
        {
            _records.Enqueue(record);
            return ValueTask.CompletedTask;
        }
    }
}
