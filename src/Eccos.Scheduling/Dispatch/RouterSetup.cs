using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Eccos.Scheduling;

/// <summary>One model of a pool being built.</summary>
internal sealed record PoolEntry(IChatClient Client, ModelProfile Profile, bool OwnsClient, string? ModelId);

/// <summary>
/// What a predictor factory produces: the predictor, queries to warm the first prices up with, and what the router
/// must dispose with itself (for example an embedding generator the factory created).
/// </summary>
internal sealed record PredictorSetup(IPredictor Predictor, IReadOnlyList<SchedulingQuery>? WarmUp = null, IDisposable? Owned = null);

/// <summary>A <see cref="System.Threading.RateLimiting.RateLimiter"/> supplied for a model or a limit group.</summary>
internal sealed record SuppliedLimiter(string Target, EccosLimitKind Kind, System.Threading.RateLimiting.RateLimiter Limiter);

/// <summary>Everything a router is built from, resolved by <see cref="EccosBuilder.Build"/>.</summary>
internal sealed class RouterSetup
{
    public required string Name { get; init; }

    public required EccosOptions Options { get; init; }

    public required IAssignmentSolver Solver { get; init; }

    public List<PoolEntry> Models { get; } = [];

    public List<IOutcomeSink> Sinks { get; } = [];

    public List<SchedulingQuery> WarmUp { get; } = [];

    public List<SuppliedLimiter> Limiters { get; } = [];

    public bool LearnFromTraffic { get; init; } = true;

    public Func<EccosQualityContext, CancellationToken, ValueTask<double?>>? QualitySignal { get; init; }

    public Func<IEnumerable<ChatMessage>, ChatOptions?, SchedulingQuery>? QueryFactory { get; init; }

    public QualityTargetCurve? Curve { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public ILoggerFactory? LoggerFactory { get; init; }

    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>Cancelled when the router is disposed: the predictor factory's token.</summary>
    public CancellationTokenSource Startup { get; init; } = new();

    public void AddSink(IOutcomeSink sink)
    {
        if (!Sinks.Contains(sink))
        {
            Sinks.Add(sink);
        }
    }
}
