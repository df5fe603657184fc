using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Eccos.Scheduling;

/// <summary>
/// The router's metrics (meter <c>Eccos.Scheduling</c>) and traces (activity source <c>Eccos.Scheduling</c>).
/// </summary>
/// <remarks>
/// Instruments, each tagged with <c>eccos.router</c> (the router's name) and, where it applies, <c>eccos.model</c>:
/// <list type="bullet">
/// <item><c>eccos.requests</c> (counter): finished requests, tagged <c>eccos.outcome</c> = success | failure | canceled | rejected.</item>
/// <item><c>eccos.failovers</c> (counter): tries that failed and passed the request on, tagged with the failed model.</item>
/// <item><c>eccos.cost.predicted</c> / <c>eccos.cost.realized</c> (histograms, currency units): per served request.</item>
/// <item><c>eccos.queue.wait</c> (histogram, s): time waiting for a model's free slot.</item>
/// <item><c>eccos.requests.active</c> (up-down counter): calls in flight per model.</item>
/// <item><c>eccos.solve.duration</c> (histogram, s): price re-solves (online) and batch solves (batched).</item>
/// <item><c>eccos.feedback.dropped</c> (counter): outcomes dropped because the sinks fell behind.</item>
/// <item><c>eccos.throttled</c> (counter): tries a provider throttled (HTTP 429 or 503), tagged <c>http.response.status_code</c>.</item>
/// <item><c>eccos.model.health</c> (counter): a model's health changed, tagged <c>eccos.health</c> = CoolingDown | Broken.</item>
/// </list>
/// Thread-safe.
/// </remarks>
internal sealed class EccosTelemetry : IDisposable
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string SourceName = "Eccos.Scheduling";

    public const string ModelTag = "eccos.model";
    public const string RouterTag = "eccos.router";
    public const string OutcomeTag = "eccos.outcome";
    public const string ModeTag = "eccos.mode";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?> _router;

    public EccosTelemetry(string routerName, IMeterFactory? meterFactory)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(SourceName, Version);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(new MeterOptions(SourceName) { Version = Version });
        }

        _router = new(RouterTag, routerName);
        Requests = _meter.CreateCounter<long>("eccos.requests", "{request}", "Requests finished by the router.");
        Failovers = _meter.CreateCounter<long>("eccos.failovers", "{attempt}", "Tries that failed and passed the request to the next model.");
        PredictedCost = _meter.CreateHistogram<double>("eccos.cost.predicted", "{currency}", "Predicted cost of each served request.");
        RealizedCost = _meter.CreateHistogram<double>("eccos.cost.realized", "{currency}", "Cost of each served request from its real token usage.");
        QueueWait = _meter.CreateHistogram<double>("eccos.queue.wait", "s", "Time a request waited for a free slot of a model.");
        Active = _meter.CreateUpDownCounter<long>("eccos.requests.active", "{request}", "Calls in flight per model.");
        SolveDuration = _meter.CreateHistogram<double>("eccos.solve.duration", "s", "Duration of price re-solves and batch solves.");
        FeedbackDropped = _meter.CreateCounter<long>("eccos.feedback.dropped", "{record}", "Outcomes dropped because the outcome sinks fell behind.");
        ThrottledCalls = _meter.CreateCounter<long>("eccos.throttled", "{attempt}", "Tries that a provider throttled (HTTP 429 or 503).");
        HealthChanges = _meter.CreateCounter<long>("eccos.model.health", "{change}", "Changes of a model's health: cooled down or circuit opened.");
    }

    /// <summary>Gets the activity source <c>Eccos.Scheduling</c>.</summary>
    public static ActivitySource ActivitySource { get; } = new(SourceName, Version);

    public Counter<long> Requests { get; }

    public Counter<long> Failovers { get; }

    public Histogram<double> PredictedCost { get; }

    public Histogram<double> RealizedCost { get; }

    public Histogram<double> QueueWait { get; }

    public UpDownCounter<long> Active { get; }

    public Histogram<double> SolveDuration { get; }

    public Counter<long> FeedbackDropped { get; }

    public Counter<long> ThrottledCalls { get; }

    public Counter<long> HealthChanges { get; }

    public void Throttled(string model, int status) =>
        ThrottledCalls.Add(1, _router, new(ModelTag, model), new("http.response.status_code", status));

    public void HealthChanged(string model, EccosModelHealth state) =>
        HealthChanges.Add(1, _router, new(ModelTag, model), new("eccos.health", state.ToString()));

    private static string Version { get; } = typeof(EccosTelemetry).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    public void RequestDone(string? model, string outcome) =>
        Requests.Add(1, _router, new(ModelTag, model ?? "none"), new(OutcomeTag, outcome));

    public void Failover(string model) => Failovers.Add(1, _router, new(ModelTag, model));

    public void Costs(string model, double predicted, double realized)
    {
        var tag = new KeyValuePair<string, object?>(ModelTag, model);
        if (!double.IsNaN(predicted))
        {
            PredictedCost.Record(predicted, _router, tag);
        }

        RealizedCost.Record(realized, _router, tag);
    }

    public void Waited(string model, TimeSpan wait) => QueueWait.Record(wait.TotalSeconds, _router, new(ModelTag, model));

    public void ActiveChanged(string model, int delta) => Active.Add(delta, _router, new(ModelTag, model));

    public void Solved(EccosMode mode, TimeSpan duration) =>
        SolveDuration.Record(duration.TotalSeconds, _router, new(ModeTag, mode == EccosMode.Online ? "online" : "batched"));

    public void Dropped() => FeedbackDropped.Add(1, _router);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
