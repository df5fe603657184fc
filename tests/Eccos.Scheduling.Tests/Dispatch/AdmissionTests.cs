using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

/// <summary>The pieces of admission: the window limiter, the failure classifier, model health.</summary>
public class AdmissionTests
{
    [Test]
    public void The_window_limiter_admits_its_limit_per_window_says_when_to_retry_and_rolls_with_time()
    {
        var time = new FakeTimeProvider();
        using var limiter = new WindowLimiter(10, TimeSpan.FromSeconds(20), time);
        for (int i = 0; i < 10; i++)
        {
            Assert.That(limiter.AttemptAcquire(1).IsAcquired, Is.True, $"permit {i}");
        }

        RateLimitLease refused = limiter.AttemptAcquire(1);
        Assert.Multiple(() =>
        {
            Assert.That(refused.IsAcquired, Is.False);
            Assert.That(refused.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retry) && retry > TimeSpan.Zero && retry <= TimeSpan.FromSeconds(20), Is.True);
            Assert.That(limiter.GetStatistics()!.CurrentAvailablePermits, Is.Zero);
        });

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.That(limiter.AttemptAcquire(1).IsAcquired, Is.False, "half a window later the permits are still in the window");
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.That(limiter.AttemptAcquire(5).IsAcquired, Is.True, "a whole window later they have left it");
    }

    [Test]
    public void Token_reservations_settle_to_the_usage_and_an_oversized_call_is_not_starved()
    {
        var time = new FakeTimeProvider();
        using var limiter = new WindowLimiter(1000, TimeSpan.FromMinutes(1), time);
        RateLimitLease reserved = limiter.AttemptAcquire(800);
        limiter.Settle(reserved, -500); // used 300 of the 800 reserved
        Assert.That(limiter.Used, Is.EqualTo(300));
        Assert.That(limiter.AttemptAcquire(700).IsAcquired, Is.True);
        limiter.Settle(reserved, 200); // a call that used more than it reserved goes into debt
        Assert.That(limiter.Used, Is.EqualTo(1200));

        using var empty = new WindowLimiter(100, TimeSpan.FromMinutes(1), time);
        Assert.That(empty.AttemptAcquire(5000).IsAcquired, Is.True, "a call larger than the limit passes an empty window");
        Assert.That(empty.AttemptAcquire(1).IsAcquired, Is.False);
    }

    [Test]
    public void Throttling_is_recognized_from_HTTP_status_and_sdk_exceptions_with_their_retry_after()
    {
        DateTimeOffset now = DateTimeOffset.UnixEpoch.AddDays(100);
        Assert.Multiple(() =>
        {
            Assert.That(FailureClassifier.Classify(new HttpRequestException("slow down", null, HttpStatusCode.TooManyRequests), now),
                Is.EqualTo((FailureKind.Throttled, (int?)429, (TimeSpan?)null)));
            Assert.That(FailureClassifier.Classify(new HttpRequestException("down", null, HttpStatusCode.ServiceUnavailable), now).Kind, Is.EqualTo(FailureKind.Throttled));
            Assert.That(FailureClassifier.Classify(new HttpRequestException("boom", null, HttpStatusCode.InternalServerError), now),
                Is.EqualTo((FailureKind.Failure, (int?)500, (TimeSpan?)null)));
            Assert.That(FailureClassifier.Classify(new SdkLikeException(429, new() { ["retry-after-ms"] = "1500", ["Retry-After"] = "9" }), now).RetryAfter,
                Is.EqualTo(TimeSpan.FromMilliseconds(1500)), "retry-after-ms wins");
            Assert.That(FailureClassifier.Classify(new SdkLikeException(429, new() { ["Retry-After"] = "7" }), now).RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(7)));
            Assert.That(FailureClassifier.Classify(new SdkLikeException(429, new() { ["Retry-After"] = now.AddSeconds(30).ToString("R") }), now).RetryAfter,
                Is.EqualTo(TimeSpan.FromSeconds(30)), "an HTTP date");
            Assert.That(FailureClassifier.Classify(new InvalidOperationException("wrapped", new SdkLikeException(503, [])), now).Kind, Is.EqualTo(FailureKind.Throttled), "inner exceptions are searched");
            Assert.That(FailureClassifier.Classify(new TimeoutException(), now), Is.EqualTo((FailureKind.Failure, (int?)null, (TimeSpan?)null)));
        });
    }

    [Test]
    public void A_throttled_model_cools_down_for_the_retry_after_else_backs_off_exponentially()
    {
        var time = new FakeTimeProvider();
        var health = new ModelHealth(new EccosHealthOptions { Cooldown = TimeSpan.FromSeconds(1), MaxCooldown = TimeSpan.FromSeconds(30) }, time, seed: 1);
        health.Failed(probe: false, FailureKind.Throttled, TimeSpan.FromSeconds(3));
        Assert.That(health.State, Is.EqualTo(EccosModelHealth.CoolingDown));
        time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.That(health.TryEnter(out _), Is.False);
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.That(health.TryEnter(out bool probe) && !probe, Is.True, "cooled down: back in rotation, no probe needed");
        health.Succeeded(probe); // a success ends the run of throttles

        // Without Retry-After: 1 s, 2 s, 4 s (±20 %) — throttles in a row.
        var waits = new List<double>();
        for (int k = 0; k < 3; k++)
        {
            waits.Add(health.Failed(false, FailureKind.Throttled, null)!.Value.For.TotalSeconds);
            time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.Multiple(() =>
        {
            Assert.That(waits[0], Is.InRange(0.8, 1.2));
            Assert.That(waits[1], Is.InRange(1.6, 2.4));
            Assert.That(waits[2], Is.InRange(3.2, 4.8));
            Assert.That(health.Failed(false, FailureKind.Throttled, TimeSpan.FromHours(1))!.Value.For, Is.EqualTo(TimeSpan.FromSeconds(30)), "a Retry-After is capped at MaxCooldown");
        });
    }

    [Test]
    public void Failures_open_the_circuit_then_one_probe_closes_or_reopens_it()
    {
        var time = new FakeTimeProvider();
        var options = new EccosHealthOptions { ConsecutiveFailures = 3, BreakDuration = TimeSpan.FromSeconds(5), MinimumThroughput = 100 };
        var health = new ModelHealth(options, time, seed: 1);
        health.Failed(false, FailureKind.Failure, null);
        health.Failed(false, FailureKind.Failure, null);
        Assert.That(health.State, Is.EqualTo(EccosModelHealth.Healthy));
        Assert.That(health.Failed(false, FailureKind.Failure, null)?.State, Is.EqualTo(EccosModelHealth.Broken));
        Assert.That(health.TryEnter(out _), Is.False);

        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Multiple(() =>
        {
            Assert.That(health.State, Is.EqualTo(EccosModelHealth.Probing));
            Assert.That(health.TryEnter(out bool probe) && probe, Is.True, "one probe");
            Assert.That(health.TryEnter(out _), Is.False, "and only one");
        });

        health.Failed(probe: true, FailureKind.Failure, null);
        Assert.That(health.State, Is.EqualTo(EccosModelHealth.Broken), "a failed probe reopens it");
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.That(health.TryEnter(out bool again) && again, Is.True);
        health.Succeeded(probe: true);
        Assert.That(health.State, Is.EqualTo(EccosModelHealth.Healthy), "a successful probe closes it");
    }

    [Test]
    public void A_failure_ratio_over_the_sampling_window_opens_the_circuit_only_with_enough_throughput()
    {
        var time = new FakeTimeProvider();
        var health = new ModelHealth(new EccosHealthOptions { FailureRatio = 0.5, MinimumThroughput = 10, ConsecutiveFailures = 100 }, time, seed: 1);
        for (int i = 0; i < 4; i++)
        {
            health.Succeeded(false);
            health.Failed(false, FailureKind.Failure, null);
        }

        Assert.That(health.State, Is.EqualTo(EccosModelHealth.Healthy), "8 calls: below the minimum throughput");
        health.Succeeded(false);
        Assert.That(health.Failed(false, FailureKind.Failure, null)?.State, Is.EqualTo(EccosModelHealth.Broken), "10 calls, half failed");

        var spread = new ModelHealth(new EccosHealthOptions { FailureRatio = 0.5, MinimumThroughput = 4, ConsecutiveFailures = 100, SamplingDuration = TimeSpan.FromSeconds(10) }, time, seed: 1);
        spread.Failed(false, FailureKind.Failure, null);
        spread.Failed(false, FailureKind.Failure, null);
        time.Advance(TimeSpan.FromSeconds(11));
        spread.Succeeded(false);
        spread.Succeeded(false);
        spread.Succeeded(false);
        Assert.That(spread.Failed(false, FailureKind.Failure, null), Is.Null, "failures older than the sampling window do not count");
    }

    [Test]
    public void A_learned_rate_cuts_on_a_throttle_climbs_back_and_probes_a_steady_ceiling_ever_more_rarely()
    {
        var time = new FakeTimeProvider();
        TimeSpan window = TimeSpan.FromSeconds(10);
        using var learned = new WindowLimiter(long.MaxValue, window, time);
        var member = new PoolMember(0, new FakeChatClient("m"), new ModelProfile("m", 1, 1), false, null, new ModelLimits([], learned),
            new ModelHealth(new EccosHealthOptions(), time, seed: 1), null, null, (long)(window.TotalSeconds * time.TimestampFrequency));

        long ThrottleAfter(int requests)
        {
            for (int i = 0; i < requests; i++)
            {
                learned.AttemptAcquire(1).Dispose();
            }

            return member.Throttled(time);
        }

        List<long> Windows(int count)
        {
            var limits = new List<long>();
            for (int w = 0; w < count; w++)
            {
                time.Advance(window);
                member.Succeeded(window, time);
                limits.Add(learned.Limit);
            }

            return limits;
        }

        Assert.That(ThrottleAfter(100), Is.EqualTo(80), "cut to 80 % of the 100 taken");
        Assert.That(Windows(7), Is.EqualTo(new long[] { 84, 88, 92, 92, 93, 93, 94 }), "5 % a window up to 90 % of the ceiling, then 1 % every 2 windows");

        time.Advance(window);
        Assert.That(ThrottleAfter(94), Is.EqualTo(75), "throttled again near the ceiling");
        Assert.That(Windows(11), Is.EqualTo(new long[] { 78, 81, 85, 85, 85, 85, 86, 86, 86, 86, 87 }), "near the ceiling a probe now waits 4 windows");

        time.Advance(window);
        ThrottleAfter(87); // again: 8 windows
        List<long> climb = Windows(3 + (3 * 8) + 1);
        Assert.That(climb.Distinct().Count(), Is.EqualTo(3 + 3 + 1), "3 fast steps, then one probe every 8 windows");

        // No throttle any more (the provider raised its limit): probes every 8 windows pass the old ceiling of 87 and,
        // 5 % past it, the rate makes itself the ceiling and is probed every 2 windows again.
        List<long> onwards = Windows(8 * 12);
        int passed = onwards.FindIndex(l => l > 87 * 1.05);
        Assert.That(passed, Is.GreaterThan(0), "the rate went 5 % past the old ceiling");
        Assert.That(onwards[passed + 2], Is.GreaterThan(onwards[passed]), "then a probe every 2 windows");
    }

    [Test]
    public void A_call_refused_by_a_supplied_limiter_gives_back_what_the_own_limits_granted()
    {
        // Regression: the own request window granted, a supplied token limiter refused, and the request permit stayed
        // in the window — every refusal shrank the model's rate until the window moved on.
        var time = new FakeTimeProvider();
        using var requests = new WindowLimiter(10, TimeSpan.FromMinutes(1), time);
        using var supplied = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = 1, QueueLimit = 0 });
        using RateLimitLease held = supplied.AttemptAcquire(1); // the supplied limit is spent elsewhere
        using var learned = new WindowLimiter(long.MaxValue, TimeSpan.FromMinutes(1), time);
        var limits = new ModelLimits(
            [new LimiterSlot(requests, EccosLimitKind.Requests, "requests"), new LimiterSlot(supplied, EccosLimitKind.Tokens, "supplied tokens")],
            learned);

        for (int i = 0; i < 20; i++)
        {
            Assert.That(limits.TryAdmit(1, out string? refusedBy, out _), Is.Null);
            Assert.That(refusedBy, Is.EqualTo("supplied tokens"));
        }

        Assert.That(requests.Used, Is.Zero, "the refused calls left no request permit in the window");
        Assert.Throws<LimitTooSmallException>(() => limits.TryAdmit(100, out _, out _), "a call larger than the supplied limiter's whole limit");
        Assert.That(requests.Used, Is.Zero, "nor did the call no wait could admit");
    }
}
