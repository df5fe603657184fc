using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

/// <summary>Limits, throttling, health and timeouts, through the router, on a fake clock.</summary>
public class ResilienceTests
{
    private static readonly ChatMessage[] Hello = [new(ChatRole.User, "hi")];
    private static readonly string[] TwoThenOver = ["cheap", "cheap", "strong", "strong"];
    private static readonly string[] ThreeThenOver = ["cheap", "cheap", "cheap", "strong"];
    private static readonly string[] GroupThenCheap = ["mid", "mid", "cheap"];

    /// <summary>cheap (preferred: reaches α, cheapest) and strong.</summary>
    private static (EccosBuilder Builder, FakeChatClient Cheap, FakeChatClient Strong) TwoModels(int? capacity = null) =>
        TwoModels(new FakeChatClient("cheap"), new FakeChatClient("strong"), capacity);

    private static (EccosBuilder Builder, FakeChatClient Cheap, FakeChatClient Strong) TwoModels(FakeChatClient cheap, FakeChatClient strong, int? capacity = null)
    {
        EccosBuilder builder = new EccosBuilder()
            .AddModel(cheap, new ModelProfile("cheap", 0.1, 0.2, capacity))
            .AddModel(strong, new ModelProfile("strong", 2, 8, capacity))
            .UsePredictor(new FakePredictor(new Dictionary<string, (double, double)> { ["cheap"] = (0.8, 0.001), ["strong"] = (0.95, 0.05) }))
            .WithQualityTarget(0.7);
        return (builder, cheap, strong);
    }

    private static string Served(ChatResponse response) => ((EccosDecision)response.AdditionalProperties![EccosDecision.PropertyKey]!).Model!;

    private static EccosDecision DecisionOf(ChatResponse response) => (EccosDecision)response.AdditionalProperties![EccosDecision.PropertyKey]!;

    [Test]
    public async Task A_waiting_request_takes_whichever_candidate_frees_first()
    {
        var cheap = new FakeChatClient("cheap");
        var strong = new FakeChatClient("strong");
        var releaseCheap = new TaskCompletionSource();
        var releaseStrong = new TaskCompletionSource();
        cheap.Respond = async (_, _, _) => { await releaseCheap.Task; return FakeChatClient.Answer("from cheap"); };
        strong.Respond = async (_, _, _) => { await releaseStrong.Task; return FakeChatClient.Answer("from strong"); };
        var (builder, _, _) = TwoModels(cheap, strong, capacity: 1);
        await using EccosChatClient router = builder.Build();

        Task<ChatResponse> first = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => cheap.InFlight == 1);
        Task<ChatResponse> second = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => strong.InFlight == 1); // cheap full: the next-best has room
        Task<ChatResponse> third = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => router.Waiting == 1);

        strong.Respond = (_, _, _) => Task.FromResult(FakeChatClient.Answer("from strong"));
        releaseStrong.SetResult(); // strong frees first: the waiting request takes it, though cheap ranks higher
        ChatResponse served = await third.Within();
        Assert.That(Served(served), Is.EqualTo("strong"));
        releaseCheap.SetResult();
        await Task.WhenAll(first, second).Within();
    }

    [Test]
    public async Task A_hung_model_is_abandoned_after_the_attempt_timeout_and_the_request_fails_over()
    {
        var time = new FakeTimeProvider();
        var cheap = new FakeChatClient("cheap");
        bool cancelled = false;
        cheap.Respond = async (_, _, ct) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
                throw;
            }

            return FakeChatClient.Answer("never");
        };
        var (builder, _, strong) = TwoModels(cheap, new FakeChatClient("strong"));
        await using EccosChatClient router = builder.Configure(o => o.AttemptTimeout = TimeSpan.FromSeconds(2)).Build(TestServices.With(time));

        Task<ChatResponse> request = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => cheap.InFlight == 1);
        time.Advance(TimeSpan.FromSeconds(2));
        ChatResponse response = await request.Within();

        EccosDecision decision = DecisionOf(response);
        Assert.Multiple(() =>
        {
            Assert.That(Served(response), Is.EqualTo("strong"));
            Assert.That(cancelled, Is.True, "the hung call was cancelled");
            Assert.That(decision.Attempts[0].Error, Is.InstanceOf<TimeoutException>().With.Message.Contains("'cheap': no complete answer within 2000 ms"));
            Assert.That(router.GetInFlight("cheap"), Is.Zero);
        });
    }

    [Test]
    public async Task A_stream_without_a_first_update_in_time_fails_over_and_a_slow_stream_after_it_does_not()
    {
        var time = new FakeTimeProvider();
        var cheap = new FakeChatClient("cheap") { Stream = (_, _, ct) => Silent(ct) };
        var (builder, _, strong) = TwoModels(cheap, new FakeChatClient("strong"));
        await using EccosChatClient router = builder.Configure(o => o.FirstTokenTimeout = TimeSpan.FromSeconds(1)).Build(TestServices.With(time));

        Task<List<ChatResponseUpdate>> streamed = Collect(router.GetStreamingResponseAsync(Hello));
        await Pools.Eventually(() => cheap.InFlight == 1);
        time.Advance(TimeSpan.FromSeconds(1));
        List<ChatResponseUpdate> updates = await streamed.Within();
        var decision = (EccosDecision)updates[0].AdditionalProperties![EccosDecision.PropertyKey]!;
        Assert.Multiple(() =>
        {
            Assert.That(decision.Model, Is.EqualTo("strong"));
            Assert.That(decision.Attempts[0].Error!.Message, Does.Contain("no first update within 1000 ms"));
        });

        // Once the first update is out, only the attempt timeout applies: a slow rest of the stream is fine.
        var slow = new FakeChatClient("slow") { Stream = (_, _, ct) => FirstThenSlow(time, ct) };
        await using EccosChatClient patient = new EccosBuilder().AddModel(slow, new ModelProfile("slow", 1, 1))
            .UsePredictor(new FakePredictor(new Dictionary<string, (double, double)> { ["slow"] = (0.9, 0.01) }))
            .Configure(o => o.FirstTokenTimeout = TimeSpan.FromSeconds(1)).Build(TestServices.With(time));
        Task<List<ChatResponseUpdate>> rest = Collect(patient.GetStreamingResponseAsync(Hello));
        await Pools.Eventually(() => slow.InFlight == 1);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.That((await rest.Within()).Count, Is.EqualTo(2));

        static async IAsyncEnumerable<ChatResponseUpdate> Silent([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            await Task.Delay(Timeout.Infinite, ct);
            yield break;
        }

        static async IAsyncEnumerable<ChatResponseUpdate> FirstThenSlow(FakeTimeProvider time, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, "first");
            await Task.Delay(TimeSpan.FromSeconds(3), time, ct);
            yield return new ChatResponseUpdate(ChatRole.Assistant, " second");
        }
    }

    [Test]
    public async Task A_throttled_model_cools_down_for_its_retry_after_and_the_traffic_goes_elsewhere_meanwhile()
    {
        var time = new FakeTimeProvider();
        var cheap = new FakeChatClient("cheap");
        int calls = 0;
        cheap.Respond = (_, _, _) => Interlocked.Increment(ref calls) == 1
            ? throw new SdkLikeException(429, new() { ["Retry-After"] = "5" })
            : Task.FromResult(FakeChatClient.Answer("ok"));
        var (builder, _, strong) = TwoModels(cheap, new FakeChatClient("strong"));
        await using EccosChatClient router = builder.Build(TestServices.With(time));

        ChatResponse first = await router.GetResponseAsync(Hello).Within();
        ChatResponse during = await router.GetResponseAsync(Hello).Within();
        time.Advance(TimeSpan.FromSeconds(5));
        ChatResponse after = await router.GetResponseAsync(Hello).Within();

        Assert.Multiple(() =>
        {
            Assert.That(Served(first), Is.EqualTo("strong"), "failed over at once");
            Assert.That(Served(during), Is.EqualTo("strong"), "cheap cools down for its Retry-After");
            Assert.That(DecisionOf(during).Candidates[0].Health, Is.EqualTo(EccosModelHealth.CoolingDown));
            Assert.That(Served(after), Is.EqualTo("cheap"));
            Assert.That(cheap.Calls, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task Consecutive_failures_open_the_circuit_and_a_probe_after_the_break_closes_it()
    {
        var time = new FakeTimeProvider();
        var cheap = new FakeChatClient("cheap");
        bool broken = true;
        cheap.Respond = (_, _, _) => broken
            ? throw new HttpRequestException("upstream error", null, HttpStatusCode.InternalServerError)
            : Task.FromResult(FakeChatClient.Answer("ok"));
        var (builder, _, strong) = TwoModels(cheap, new FakeChatClient("strong"));
        await using EccosChatClient router = builder
            .Configure(o => o.Health = new EccosHealthOptions { ConsecutiveFailures = 2, BreakDuration = TimeSpan.FromSeconds(5) })
            .Build(TestServices.With(time));

        await router.GetResponseAsync(Hello).Within();
        await router.GetResponseAsync(Hello).Within();
        ChatResponse open = await router.GetResponseAsync(Hello).Within();
        Assert.Multiple(() =>
        {
            Assert.That(cheap.Calls, Is.EqualTo(2), "the open circuit keeps the third request away from cheap");
            Assert.That(DecisionOf(open).Candidates[0].Health, Is.EqualTo(EccosModelHealth.Broken));
            Assert.That(DecisionOf(open).Attempts, Has.Count.EqualTo(1));
        });

        broken = false;
        time.Advance(TimeSpan.FromSeconds(5));
        ChatResponse probe = await router.GetResponseAsync(Hello).Within();
        ChatResponse closed = await router.GetResponseAsync(Hello).Within();
        Assert.Multiple(() =>
        {
            Assert.That(DecisionOf(probe).Candidates[0].Health, Is.EqualTo(EccosModelHealth.Probing));
            Assert.That(Served(probe), Is.EqualTo("cheap"));
            Assert.That(DecisionOf(closed).Candidates[0].Health, Is.EqualTo(EccosModelHealth.Healthy));
        });
    }

    [Test]
    public async Task A_model_past_its_requests_per_minute_is_passed_over_without_a_call_until_the_window_moves()
    {
        var time = new FakeTimeProvider();
        var (builder, cheap, strong) = TwoModels();
        await using EccosChatClient router = builder
            .Configure(o => o.Models["cheap"] = new EccosModelOptions { RequestsPerMinute = 2 })
            .Build(TestServices.With(time));

        string[] served = new string[4];
        for (int i = 0; i < 4; i++)
        {
            served[i] = Served(await router.GetResponseAsync(Hello).Within());
        }

        time.Advance(TimeSpan.FromSeconds(61));
        string later = Served(await router.GetResponseAsync(Hello).Within());
        Assert.Multiple(() =>
        {
            Assert.That(served, Is.EqualTo(TwoThenOver));
            Assert.That(later, Is.EqualTo("cheap"));
            Assert.That(cheap.Calls, Is.EqualTo(3), "no call beyond the limit ever reached the provider");
        });
    }

    [Test]
    public async Task When_every_candidate_is_rate_limited_the_request_waits_for_the_window_not_for_a_429()
    {
        var time = new FakeTimeProvider();
        var only = new FakeChatClient("only");
        await using EccosChatClient router = new EccosBuilder().AddModel(only, new ModelProfile("only", 1, 1))
            .UsePredictor(new FakePredictor(new Dictionary<string, (double, double)> { ["only"] = (0.9, 0.01) }))
            .Configure(o => { o.Models["only"] = new EccosModelOptions { RequestsPerMinute = 1 }; o.RateWindow = TimeSpan.FromSeconds(10); })
            .Build(TestServices.With(time));

        await router.GetResponseAsync(Hello).Within();
        Task<ChatResponse> second = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => router.Waiting == 1);
        Assert.That(second.IsCompleted, Is.False);
        time.Advance(TimeSpan.FromSeconds(10));
        await second.Within();
        Assert.That(only.Calls, Is.EqualTo(2));
    }

    [Test]
    public async Task Token_reservations_are_settled_to_the_reported_usage()
    {
        // Each call reserves its prompt (1 token) plus 20 predicted, and reports 10 in + 20 out = 30. A limit of 100 per
        // window takes three settled calls (90); without settling, four reservations (84) would fit.
        var time = new FakeTimeProvider();
        var (builder, cheap, strong) = TwoModels();
        await using EccosChatClient router = builder
            .Configure(o => o.Models["cheap"] = new EccosModelOptions { TokensPerMinute = 100 })
            .Build(TestServices.With(time));

        string[] served = new string[4];
        for (int i = 0; i < 4; i++)
        {
            served[i] = Served(await router.GetResponseAsync(Hello).Within());
        }

        Assert.That(served, Is.EqualTo(ThreeThenOver));
    }

    [Test]
    public async Task Models_of_a_limit_group_share_its_limit()
    {
        var time = new FakeTimeProvider();
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7);
        await using EccosChatClient router = builder
            .Configure(o =>
            {
                o.LimitGroups["key-1"] = new EccosLimitOptions { RequestsPerMinute = 2 };
                o.Models["mid"] = new EccosModelOptions { LimitGroup = "key-1" };
                o.Models["strong"] = new EccosModelOptions { LimitGroup = "key-1" };
            })
            .Build(TestServices.With(time));

        // mid and strong reach α = 0.7; cheap (0.5) does not, and serves only when both are out of the group's limit.
        string[] served = new string[3];
        for (int i = 0; i < 3; i++)
        {
            served[i] = Served(await router.GetResponseAsync(Hello).Within());
        }

        Assert.That(served, Is.EqualTo(GroupThenCheap));
    }

    [Test]
    public async Task A_hung_model_does_not_strand_the_requests_queued_behind_it()
    {
        // Regression: 32 callers × 12 requests with a hung first choice — 122 of 384 timed out, 44 never reached a
        // model, while the healthy model sat idle: the queue waited on the hung model's slots only.
        var time = new FakeTimeProvider();
        var hung = new FakeChatClient("cheap") { Respond = async (_, _, ct) => { await Task.Delay(Timeout.Infinite, ct); return FakeChatClient.Answer("never"); } };
        var (builder, _, healthy) = TwoModels(hung, new FakeChatClient("strong"), capacity: 2);
        await using EccosChatClient router = builder.Configure(o => o.AttemptTimeout = TimeSpan.FromSeconds(30)).Build(TestServices.With(time));

        Task<ChatResponse>[] requests = [.. Enumerable.Range(0, 16).Select(_ => router.GetResponseAsync(Hello))];
        await Pools.Eventually(() => requests.Count(r => r.IsCompleted) == 14, 20_000);
        Assert.That(hung.InFlight, Is.EqualTo(2), "the two calls on the hung model are still running");
        time.Advance(TimeSpan.FromSeconds(30));
        ChatResponse[] responses = await Task.WhenAll(requests).Within(20_000);
        Assert.Multiple(() =>
        {
            Assert.That(responses.Select(Served), Is.All.EqualTo("strong"));
            Assert.That(hung.Calls, Is.EqualTo(2), "queued requests went to the healthy model, not behind the hung one");
        });
    }

    [Test]
    public async Task Many_callers_over_rate_limited_models_are_all_served_as_the_windows_move_on()
    {
        // Regression: over real HTTP, 64 callers over three models limited per window stalled after the first window —
        // every request waiting, every permit free, no timer armed. Timers count whole milliseconds and fire up to one
        // early; the dispatcher then still took its timer for armed and armed none. This clock's timers fire 5 ms early.
        var time = new EarlyTimers(TimeSpan.FromMilliseconds(5));
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7);
        await using EccosChatClient router = builder
            .Configure(o =>
            {
                o.RateWindow = TimeSpan.FromSeconds(1);
                o.Models["cheap"] = new EccosModelOptions { RequestsPerMinute = 500 };
                o.Models["mid"] = new EccosModelOptions { RequestsPerMinute = 500, TokensPerMinute = 15_000 };
                o.Models["strong"] = new EccosModelOptions { RequestsPerMinute = 500 };
            })
            .Build(TestServices.With(time));

        const int Total = 200;
        int next = -1;
        int done = 0;
        Task[] callers = [.. Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < Total)
            {
                await router.GetResponseAsync(Hello);
                Interlocked.Increment(ref done);
            }
        }))];

        for (int step = 0; step < 10_000 && Volatile.Read(ref done) < Total; step++)
        {
            await Task.Delay(1);
            time.Advance(TimeSpan.FromMilliseconds(2));
        }

        Assert.That(Volatile.Read(ref done), Is.EqualTo(Total), $"waiting {router.Waiting}; calls {cheap.Calls}/{mid.Calls}/{strong.Calls}");
        await Task.WhenAll(callers).Within();
    }

    [Test]
    public async Task A_supplied_limiter_is_honoured_and_one_too_small_for_a_call_fails_it_by_name_instead_of_stranding_it()
    {
        // Regression: the runtime's limiters throw when asked for more permits than their whole limit; that escaped
        // the admission (inside the dispatcher's pump when the request was queued) and the request never ended.
        static TokenBucketRateLimiter Bucket(int tokens) => new(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokens, TokensPerPeriod = tokens, ReplenishmentPeriod = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = false,
        });

        using TokenBucketRateLimiter tiny = Bucket(2);
        var (builder, cheap, strong) = TwoModels();
        await using (EccosChatClient router = builder.UseRateLimiter("cheap", EccosLimitKind.Tokens, _ => tiny).Build())
        {
            ChatResponse served = await router.GetResponseAsync(Hello).Within();
            Assert.That((Served(served), cheap.Calls, strong.Calls), Is.EqualTo(("strong", 0, 1)), "cheap's token limiter can never admit the call");
        }

        using TokenBucketRateLimiter alsoTiny = Bucket(2);
        var (both, _, _) = TwoModels(capacity: 1);
        await using EccosChatClient none = both.UseRateLimiter("cheap", EccosLimitKind.Tokens, _ => tiny).UseRateLimiter("strong", EccosLimitKind.Tokens, _ => alsoTiny).Build();
        EccosRoutingException error = (await Assert.ThrowsAsync<EccosRoutingException>(async () => await none.GetResponseAsync(Hello).Within()))!;
        Assert.That(error.Message, Does.Contain("Tokens limiter of '").And.Contain("can never grant"));

        using TokenBucketRateLimiter one = Bucket(1000);
        one.AttemptAcquire(1000).Dispose(); // spent: the next call must wait for it, and is served by strong instead
        var (honoured, honouredCheap, _) = TwoModels();
        await using EccosChatClient limited = honoured.UseRateLimiter("cheap", EccosLimitKind.Tokens, _ => one).Build();
        Assert.That(Served(await limited.GetResponseAsync(Hello).Within()), Is.EqualTo("strong"));
        Assert.That(honouredCheap.Calls, Is.Zero);
    }

    /// <summary>
    /// A fake clock whose timers fire <c>early</c> before the time they were set for, as real timers may; a timer due
    /// within twice that fires on time (a real timer is early by less than the wait, so re-arming converges).
    /// </summary>
    private sealed class EarlyTimers(TimeSpan early) : FakeTimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            new Early(base.CreateTimer(callback, state, Shift(dueTime, early), period), early);

        private static TimeSpan Shift(TimeSpan due, TimeSpan early) => due != Timeout.InfiniteTimeSpan && due > early * 2 ? due - early : due;

        private sealed class Early(ITimer inner, TimeSpan early) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(Shift(dueTime, early), period);

            public void Dispose() => inner.Dispose();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    private static async Task<List<ChatResponseUpdate>> Collect(IAsyncEnumerable<ChatResponseUpdate> stream)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate u in stream)
        {
            updates.Add(u);
        }

        return updates;
    }
}
