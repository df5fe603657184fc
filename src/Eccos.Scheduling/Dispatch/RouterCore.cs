using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Eccos.Scheduling;

/// <summary>
/// What the router's schedulers share, and all they may touch: the pool and its slots, the predictor, the solver and
/// the target, the latest prices, the clock, logs and metrics. <see cref="OnlinePricer"/> and
/// <see cref="BatchScheduler"/> work against this, not against the <see cref="EccosChatClient"/> that owns it.
/// </summary>
/// <remarks>Thread-safe: the prices are published atomically; the pool members synchronize their own state.</remarks>
internal sealed class RouterCore
{
    private readonly Task<PredictorSetup> _predictor;
    private readonly CancellationToken _stopping;
    private EccosPrices? _prices;

    public RouterCore(RouterSetup setup, Task<PredictorSetup> predictor, CancellationToken stopping)
    {
        _stopping = stopping;
        Time = setup.Time;
        Name = setup.Name;
        Options = setup.Options.Clone();
        TargetOnPredictions = setup.Curve?.Apply(Options.QualityTarget) ?? Options.QualityTarget;
        Solver = setup.Solver;
        Logger = (ILogger?)setup.LoggerFactory?.CreateLogger<EccosChatClient>() ?? NullLogger.Instance;
        Telemetry = new EccosTelemetry(Name, setup.MeterFactory);
        int m = setup.Models.Count;
        Pool = new PoolMember[m];
        Profiles = new ModelProfile[m];
        Names = new string[m];
        Dictionary<string, List<LimiterSlot>> groups = GroupLimiters(setup);
        long windowTicks = (long)(Options.RateWindow.TotalSeconds * Time.TimestampFrequency);
        for (int j = 0; j < m; j++)
        {
            PoolEntry entry = setup.Models[j];
            EccosModelOptions? own = Options.Models.TryGetValue(entry.Profile.Name, out EccosModelOptions? o) ? o : null;
            var limits = new ModelLimits(ModelSlots(setup, entry.Profile, own, groups), new WindowLimiter(long.MaxValue, Options.RateWindow, Time));
            var health = new ModelHealth(Options.Health, Time, seed: j);
            Pool[j] = new PoolMember(j, entry.Client, entry.Profile, entry.OwnsClient, entry.ModelId, limits, health,
                own?.AttemptTimeout ?? Options.AttemptTimeout, own?.FirstTokenTimeout ?? Options.FirstTokenTimeout, windowTicks);
            Profiles[j] = entry.Profile;
            Names[j] = entry.Profile.Name;
        }

        _predictor = predictor;
    }

    public string Name { get; }

    /// <summary>Gets the limiters the router created (it disposes them); supplied ones stay their owner's.</summary>
    public List<IDisposable> OwnedLimiters { get; } = [];

    public EccosOptions Options { get; }

    /// <summary>Gets the target solved for on predicted quality: α, or t(α) of the target curve.</summary>
    public double TargetOnPredictions { get; }

    public IAssignmentSolver Solver { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public EccosTelemetry Telemetry { get; }

    public PoolMember[] Pool { get; }

    public ModelProfile[] Profiles { get; }

    public string[] Names { get; }

    /// <summary>Gets the prices of the latest solve; <see langword="null"/> before the first.</summary>
    public EccosPrices? Prices => Volatile.Read(ref _prices);

    /// <summary>Gets the predictor's set-up task (completed at once unless the predictor is created asynchronously).</summary>
    public Task<PredictorSetup> PredictorReady => _predictor;

    /// <summary>Returns the predictor, waiting for its creation if it is still under way.</summary>
    /// <exception cref="InvalidOperationException">The predictor could not be created (its error is the inner exception).</exception>
    /// <exception cref="ObjectDisposedException">The router was disposed while waiting.</exception>
    public ValueTask<IPredictor> GetPredictorAsync(CancellationToken cancellationToken) =>
        _predictor.IsCompletedSuccessfully ? new(_predictor.Result.Predictor) : WaitForPredictorAsync(cancellationToken);

    public PoolMember? Find(string model)
    {
        for (int j = 0; j < Names.Length; j++)
        {
            if (string.Equals(Names[j], model, StringComparison.Ordinal))
            {
                return Pool[j];
            }
        }

        return null;
    }

    public void PublishPrices(EccosPrices prices, EccosMode mode)
    {
        Volatile.Write(ref _prices, prices);
        Telemetry.Solved(mode, prices.SolveDuration);
    }

    /// <summary>Solves one window or batch and turns the result into prices (see <see cref="OnlinePricer"/>).</summary>
    public EccosPrices SolvePrices(PredictionMatrix matrix, AssignmentConstraints constraints, long start, CancellationToken cancellationToken, out AssignmentResult? result)
    {
        using Activity? activity = EccosTelemetry.ActivitySource.StartActivity("eccos.solve");
        activity?.SetTag("eccos.router", Name);
        activity?.SetTag("eccos.queries", matrix.QueryCount);
        result = Solver.Solve(matrix, constraints, cancellationToken);
        double[] mu = new double[Pool.Length];
        if (result.CapacityPrices.Count == mu.Length)
        {
            for (int j = 0; j < mu.Length; j++)
            {
                double p = result.CapacityPrices[j];
                mu[j] = p > 0 ? p : 0; // +∞ kept: the model is full at these prices; NaN and negatives dropped
            }
        }

        double solverPrice = result.QualityPrice;
        double lambda = Pricing.FitQualityPrice(matrix, mu, solverPrice, constraints.QualityTarget);
        TimeSpan duration = Time.GetElapsedTime(start);
        activity?.SetTag("eccos.quality_price", lambda);
        activity?.SetTag("eccos.solve.status", result.Status.ToString());
        EccosLog.PricesUpdated(Logger, matrix.QueryCount, duration.TotalMilliseconds, lambda, solverPrice, result.Status.ToString());
        return new EccosPrices(lambda, mu, matrix.QueryCount, Names, Time.GetUtcNow(), result.Status, duration);
    }

    /// <summary>Clears eligibility of models that can never take a request (capacity 0).</summary>
    public void MaskEligible(ReadOnlySpan<bool> predicted, Span<bool> destination)
    {
        for (int j = 0; j < destination.Length; j++)
        {
            destination[j] = predicted[j] && Pool[j].Capacity > 0;
        }
    }

    /// <summary>Permits per <see cref="EccosOptions.RateWindow"/> of a per-minute limit.</summary>
    public long PerWindow(int perMinute) => Math.Max(1, (long)Math.Ceiling(perMinute * Options.RateWindow.TotalMinutes));

    private Dictionary<string, List<LimiterSlot>> GroupLimiters(RouterSetup setup)
    {
        var groups = new Dictionary<string, List<LimiterSlot>>(StringComparer.Ordinal);
        foreach ((string name, EccosLimitOptions limits) in Options.LimitGroups)
        {
            groups[name] = RateSlots(limits, $"limit group '{name}'");
        }

        foreach (SuppliedLimiter supplied in setup.Limiters)
        {
            if (!groups.TryGetValue(supplied.Target, out List<LimiterSlot>? slots))
            {
                continue; // a model's own
            }

            slots.Add(new LimiterSlot(supplied.Limiter, supplied.Kind, $"the {supplied.Kind} limiter of group '{supplied.Target}'"));
        }

        return groups;
    }

    private LimiterSlot[] ModelSlots(RouterSetup setup, ModelProfile profile, EccosModelOptions? own, Dictionary<string, List<LimiterSlot>> groups)
    {
        var slots = new List<LimiterSlot>();
        if (profile.Capacity is { } capacity)
        {
            var concurrency = new System.Threading.RateLimiting.ConcurrencyLimiter(new System.Threading.RateLimiting.ConcurrencyLimiterOptions
            {
                PermitLimit = Math.Max(1, capacity),
                QueueLimit = 0, // the router queues, across models
            });
            OwnedLimiters.Add(concurrency);
            slots.Add(new LimiterSlot(concurrency, EccosLimitKind.Concurrency, $"the capacity of '{profile.Name}'"));
        }

        foreach (SuppliedLimiter supplied in setup.Limiters.Where(l => string.Equals(l.Target, profile.Name, StringComparison.Ordinal)))
        {
            slots.Add(new LimiterSlot(supplied.Limiter, supplied.Kind, $"the {supplied.Kind} limiter of '{profile.Name}'"));
        }

        if (own is not null)
        {
            slots.AddRange(RateSlots(own, $"'{profile.Name}'"));
            if (own.LimitGroup is { } group)
            {
                slots.AddRange(groups[group]);
            }
        }

        // Concurrency first: a slot held and given back costs nothing; a rate permit spent before a refusal is lost.
        return [.. slots.OrderBy(s => s.Kind == EccosLimitKind.Concurrency ? 0 : 1)];
    }

    private List<LimiterSlot> RateSlots(EccosLimitOptions limits, string owner)
    {
        var slots = new List<LimiterSlot>(2);
        if (limits.RequestsPerMinute is { } rpm)
        {
            var limiter = new WindowLimiter(PerWindow(rpm), Options.RateWindow, Time);
            OwnedLimiters.Add(limiter);
            slots.Add(new LimiterSlot(limiter, EccosLimitKind.Requests, $"the requests per minute of {owner}"));
        }

        if (limits.TokensPerMinute is { } tpm)
        {
            var limiter = new WindowLimiter(PerWindow(tpm), Options.RateWindow, Time);
            OwnedLimiters.Add(limiter);
            slots.Add(new LimiterSlot(limiter, EccosLimitKind.Tokens, $"the tokens per minute of {owner}"));
        }

        return slots;
    }

    /// <summary>
    /// Predicts a batch, checks the matrix and masks models without capacity; on a predictor failure (but not the
    /// caller's cancellation), falls back to list prices and reports <c>Predicted</c> false — the requests
    /// are never lost.
    /// </summary>
    public async ValueTask<(PredictionMatrix Matrix, bool Predicted)> PredictAsync(IReadOnlyList<SchedulingQuery> queries, CancellationToken cancellationToken)
    {
        IPredictor predictor = await GetPredictorAsync(cancellationToken).ConfigureAwait(false);
        PredictionMatrix matrix;
        bool predicted = true;
        try
        {
            matrix = await predictor.PredictAsync(queries, Profiles, cancellationToken).ConfigureAwait(false);
            if (matrix.QueryCount != queries.Count || matrix.ModelCount != Profiles.Length)
            {
                throw new InvalidOperationException(
                    $"The predictor returned a {matrix.QueryCount}×{matrix.ModelCount} matrix for {queries.Count} queries × {Profiles.Length} models.");
            }

            matrix.Validate("predictions");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            EccosLog.PredictorFailed(Logger, ex, queries.Count > 0 ? queries[0].Id ?? "?" : "?");
            matrix = ListPricePredictions(queries);
            predicted = false;
        }

        for (int i = 0; i < matrix.QueryCount; i++)
        {
            Span<bool> row = matrix.EligibleRow(i);
            MaskEligible(row, row);
        }

        return (matrix, predicted);
    }

    private PredictionMatrix ListPricePredictions(IReadOnlyList<SchedulingQuery> queries)
    {
        // Unknown quality; an answer as long as the prompt, so that the order follows the list prices.
        var matrix = new PredictionMatrix(queries.Count, Profiles);
        for (int i = 0; i < queries.Count; i++)
        {
            matrix.OutputTokensRow(i).Fill(queries[i].InputTokens);
        }

        matrix.ComputeCosts(queries);
        matrix.OutputTokens.Clear();
        return matrix;
    }

    private async ValueTask<IPredictor> WaitForPredictorAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping);
        try
        {
            return (await _predictor.WaitAsync(linked.Token).ConfigureAwait(false)).Predictor;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _stopping.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(EccosChatClient), "The Eccos router was disposed while its predictor was being created.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"Eccos router '{Name}': the predictor could not be created: {ex.Message}", ex);
        }
    }
}
