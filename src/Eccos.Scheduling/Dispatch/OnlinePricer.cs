using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Eccos.Scheduling;

/// <summary>
/// Keeps the online router's prices current: a window of recent predictions and a background loop that re-solves
/// it every <see cref="EccosOptions.PriceRefreshInterval"/> (on the <see cref="TimeProvider"/>) while traffic arrives,
/// as soon as the first requests (or the warm-up queries) are in, and whenever a quarter of the window is new since
/// the last solve (so that prices keep up with heavy traffic).
/// </summary>
/// <remarks>
/// <para>
/// Each solve gives the solver the window's predictions with the quality target α and, per model, the capacity that
/// its concurrency allows over the window by Little's law: <c>L_j = max(C_j, ⌈C_j · span / latency_j⌉)</c> where
/// span is the time the window's requests arrived over and latency_j the model's smoothed latency (unlimited while
/// either is unknown). The solver's λ is kept when scoring at it meets α on the window; otherwise (a solver without
/// duals, or subgradient noise) λ is raised to the smallest price that does (bisection).
/// </para>
/// <para>Requests never wait for a solve; a failed solve keeps the previous prices.</para>
/// </remarks>
internal sealed class OnlinePricer
{
    /// <summary>The number of requests after which the first solve runs without waiting for the interval.</summary>
    internal const int BootstrapCount = 16;

    private readonly RouterCore _router;
    private readonly PredictionWindow _window;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly int _bootstrapCount;
    private readonly int _turnover;
    private long _solvedVersion = -1;
    private readonly IReadOnlyList<SchedulingQuery> _warmUp;
    private Task _loop = Task.CompletedTask;

    public OnlinePricer(RouterCore router, IReadOnlyList<SchedulingQuery> warmUp)
    {
        _router = router;
        _window = new PredictionWindow(router.Options.PriceWindowSize, router.Profiles.Length);
        _bootstrapCount = Math.Min(BootstrapCount, router.Options.PriceWindowSize);
        _turnover = Math.Max(BootstrapCount, router.Options.PriceWindowSize / 4);
        _warmUp = warmUp;
    }

    public PredictionWindow Window => _window;

    public void Start(CancellationToken stop) => _loop = Task.Run(() => RunAsync(stop), CancellationToken.None);

    public Task Completion => _loop;

    /// <summary>Adds one routed request's predictions (called on the request path: one short lock).</summary>
    public void Observe(ReadOnlySpan<double> quality, ReadOnlySpan<double> cost, ReadOnlySpan<bool> eligible)
    {
        _window.Add(quality, cost, eligible, _router.Time.GetTimestamp());
        long solved = Volatile.Read(ref _solvedVersion);
        if (solved < 0 ? _window.Count >= _bootstrapCount : _window.Version - solved >= _turnover)
        {
            _wake.Writer.TryWrite(true); // first prices, or a quarter of the window is new since the last solve
        }
    }

    /// <summary>Solves the window now (used by the loop; internal for tests).</summary>
    internal EccosPrices? ResolveNow(CancellationToken cancellationToken)
    {
        PredictionMatrix? matrix = _window.Snapshot(_router.Profiles, out long spanTicks);
        if (matrix is null)
        {
            return null;
        }

        long start = _router.Time.GetTimestamp();
        double span = spanTicks / (double)_router.Time.TimestampFrequency;
        PoolMember[] pool = _router.Pool;
        int[] caps = new int[pool.Length];
        double window = _router.Options.RateWindow.TotalSeconds;
        for (int j = 0; j < pool.Length; j++)
        {
            PoolMember member = pool[j];
            int c = member.Capacity;
            double latency = member.LatencySeconds;
            double cap = c == int.MaxValue || span <= 0 || !(latency > 0) ? double.PositiveInfinity : Math.Max(c, Math.Ceiling(c * span / latency));

            // Rate limits (configured or learned) over the window's span: the solver prices them before the provider
            // throttles, so traffic moves to other models while this one still has room.
            if (span > 0 && member.Limits.RequestsPerWindow is { } requests)
            {
                cap = Math.Min(cap, Math.Max(1, Math.Floor(requests * span / window)));
            }

            if (span > 0 && member.Limits.TokensPerWindow is { } tokens && member.TokensPerCall is var perCall && perCall > 0)
            {
                cap = Math.Min(cap, Math.Max(1, Math.Floor(tokens * span / window / perCall)));
            }

            caps[j] = double.IsPositiveInfinity(cap) ? AssignmentConstraints.Unlimited : (int)Math.Min(int.MaxValue - 1, cap);
        }

        EccosPrices prices = _router.SolvePrices(matrix, new AssignmentConstraints { QualityTarget = _router.TargetOnPredictions, Capacities = caps }, start, cancellationToken, out _);
        _router.PublishPrices(prices, EccosMode.Online);
        return prices;
    }

    private async Task RunAsync(CancellationToken stop)
    {
        TimeSpan interval = _router.Options.PriceRefreshInterval;
        using ITimer timer = _router.Time.CreateTimer(static s => ((Channel<bool>)s!).Writer.TryWrite(true), _wake, interval, interval);
        try
        {
            await WarmUpAsync(stop).ConfigureAwait(false);

            while (await _wake.Reader.WaitToReadAsync(stop).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                long version = _window.Version;
                if (version == Volatile.Read(ref _solvedVersion) || version == 0)
                {
                    continue;
                }

                try
                {
                    ResolveNow(stop);
                    Volatile.Write(ref _solvedVersion, version);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    EccosLog.ResolveFailed(_router.Logger, ex);
                    Volatile.Write(ref _solvedVersion, version);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // disposal
        }
    }

    private async Task WarmUpAsync(CancellationToken stop)
    {
        try
        {
            IPredictor predictor = await _router.GetPredictorAsync(stop).ConfigureAwait(false);
            IReadOnlyList<SchedulingQuery> warmUp = _router.PredictorReady.Result.WarmUp is { Count: > 0 } fromPredictor ? [.. _warmUp, .. fromPredictor] : _warmUp;
            if (warmUp.Count == 0)
            {
                return;
            }

            int take = Math.Min(warmUp.Count, _router.Options.PriceWindowSize);
            var queries = new SchedulingQuery[take];
            for (int i = 0; i < take; i++)
            {
                queries[i] = warmUp[warmUp.Count - take + i];
            }

            PredictionMatrix predictions = await predictor.PredictAsync(queries, _router.Profiles, stop).ConfigureAwait(false);
            predictions.Validate("predictions");
            long now = _router.Time.GetTimestamp();
            Span<bool> eligible = stackalloc bool[_router.Profiles.Length];
            for (int i = 0; i < predictions.QueryCount; i++)
            {
                _router.MaskEligible(predictions.EligibleRow(i), eligible);
                _window.Add(predictions.QualityRow(i), predictions.CostRow(i), eligible, now);
            }

            _wake.Writer.TryWrite(true);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw;
        }
        catch (ObjectDisposedException) when (stop.IsCancellationRequested)
        {
            throw new OperationCanceledException(stop);
        }
        catch (Exception ex)
        {
            EccosLog.ResolveFailed(_router.Logger, ex); // includes a predictor that could not be created: requests report it
        }
    }
}
