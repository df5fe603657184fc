using System.Collections.Concurrent;
using System.Diagnostics;
using Eccos.Scheduling.Tests.Dispatch;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Eccos.Scheduling.Tests.Dispatch;

public class TelemetryTests
{
    private static readonly ChatMessage[] Secret = [new(ChatRole.User, "SECRET-PROMPT-TEXT")];

    [Test]
    public async Task Metrics_count_requests_failovers_costs_and_queue_waits_per_model()
    {
        using var meters = new TestMeterFactory();
        using var requests = new MetricCollector<long>(meters, "Eccos.Scheduling", "eccos.requests");
        using var failovers = new MetricCollector<long>(meters, "Eccos.Scheduling", "eccos.failovers");
        using var realized = new MetricCollector<double>(meters, "Eccos.Scheduling", "eccos.cost.realized");
        using var predicted = new MetricCollector<double>(meters, "Eccos.Scheduling", "eccos.cost.predicted");
        using var waits = new MetricCollector<double>(meters, "Eccos.Scheduling", "eccos.queue.wait");
        var (builder, _, mid, _) = Pools.Three(alpha: 0.7, name: "orders");
        int call = 0;
        mid.Respond = (_, _, _) => Interlocked.Increment(ref call) == 1
            ? throw new HttpRequestException("flaky")
            : Task.FromResult(FakeChatClient.Answer("ok", 10, 20));
        await using EccosChatClient router = builder.Build(TestServices.With(meters: meters));

        await router.GetResponseAsync(Secret).Within(); // mid fails, strong serves
        await router.GetResponseAsync(Secret).Within(); // mid serves

        var done = requests.GetMeasurementSnapshot();
        Assert.Multiple(() =>
        {
            Assert.That(done.Select(m => (m.Tags["eccos.model"], m.Tags["eccos.outcome"], m.Tags["eccos.router"])),
                Is.EqualTo(new (object?, object?, object?)[] { ("strong", "success", "orders"), ("mid", "success", "orders") }));
            Assert.That(failovers.GetMeasurementSnapshot().Single().Tags["eccos.model"], Is.EqualTo("mid"));
            Assert.That(realized.LastMeasurement!.Value, Is.EqualTo(Pools.Mid.CostOf(10, 20)).Within(1e-15));
            Assert.That(predicted.LastMeasurement!.Value, Is.EqualTo(0.01));
            Assert.That(waits.GetMeasurementSnapshot(), Has.Count.EqualTo(3));
        });
    }

    [Test]
    public async Task Solve_duration_is_recorded_when_prices_are_solved()
    {
        using var meters = new TestMeterFactory();
        using var solves = new MetricCollector<double>(meters, "Eccos.Scheduling", "eccos.solve.duration");
        var (builder, _, _, _) = Pools.Three();
        await using EccosChatClient router = builder.WarmUpWith([new SchedulingQuery("q", 5)]).Build(TestServices.With(meters: meters));

        await solves.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));

        Assert.That(solves.LastMeasurement!.Tags["eccos.mode"], Is.EqualTo("online"));
    }

    [Test]
    public async Task Logs_use_event_ids_and_never_carry_prompt_text_above_trace()
    {
        var (logs, collector) = TestLogging.Create(LogLevel.Trace);
        var (builder, _, mid, _) = Pools.Three(alpha: 0.7);
        mid.Respond = (_, _, _) => throw new HttpRequestException("boom");
        await using EccosChatClient router = builder.Build(TestServices.With(logs: logs));

        await router.GetResponseAsync(Secret).Within();

        var records = collector.GetSnapshot();
        Assert.Multiple(() =>
        {
            Assert.That(records.Where(r => r.Level > LogLevel.Trace).Select(r => r.Message), Has.None.Contains("SECRET-PROMPT-TEXT"));
            Assert.That(records.Where(r => r.Level == LogLevel.Trace).Select(r => r.Message), Has.Some.Contains("SECRET-PROMPT-TEXT"));
            Assert.That(records.Any(r => r.Level == LogLevel.Warning && r.Id.Id == 3 && r.Message.Contains("mid", StringComparison.Ordinal)), Is.True);
            Assert.That(records.Any(r => r.Level == LogLevel.Debug && r.Id.Id == 1 && r.Message.Contains("strong", StringComparison.Ordinal)), Is.True);
        });
    }

    [Test]
    public async Task Each_request_is_an_activity_with_the_model_and_prices()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Eccos.Scheduling",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var (builder, _, _, _) = Pools.Three(alpha: 0.7, name: "telemetry-test");
        await using EccosChatClient router = builder.Build();

        await router.GetResponseAsync(Secret).Within();

        Activity route = stopped.Single(a => a.OperationName == "eccos.route" && Equals(a.GetTagItem("eccos.router"), "telemetry-test"));
        Assert.Multiple(() =>
        {
            Assert.That(route.GetTagItem("eccos.model"), Is.EqualTo("mid"));
            Assert.That(route.GetTagItem("eccos.attempts"), Is.EqualTo(1));
            Assert.That(route.GetTagItem("eccos.predicted_quality"), Is.EqualTo(0.8));
        });
    }
}
