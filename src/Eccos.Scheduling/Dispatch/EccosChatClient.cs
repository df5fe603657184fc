using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Eccos.Scheduling;

/// <summary>
/// An <see cref="IChatClient"/> that spreads requests over a pool of models so that the traffic meets a quality
/// target at the least cost without any model taking more calls at once than its <see cref="ModelProfile.Capacity"/>;
/// it learns from every call through its outcome sinks. Build one with <see cref="EccosBuilder"/> or, with dependency
/// injection, <c>services.AddEccos(...)</c>.
/// </summary>
/// <remarks>
/// <para>
/// <b>Routing.</b> In <see cref="EccosMode.Online"/> mode each request is predicted on its own (one
/// <see cref="IPredictor"/> call) and goes to the model with the lowest score <c>c_j − λ·a_j/N + μ_j</c> among those
/// with a free slot, using the prices of the latest background solve; before the first solve, to the cheapest model
/// predicted to reach α (or the best one when none does). In <see cref="EccosMode.Batched"/> mode requests are
/// assigned jointly by the <see cref="IAssignmentSolver"/>. A request carrying a
/// <see cref="ChatOptions.ConversationId"/> the router has seen goes to the model holding that conversation; a
/// request whose <see cref="ChatOptions.ModelId"/> names a pool model goes to that model.
/// </para>
/// <para>
/// <b>Capacity.</b> A model never has more calls in flight than its capacity; other requests wait in a FIFO queue of
/// at most <see cref="EccosOptions.MaxQueueLength"/> per model (waiting honours the caller's cancellation token);
/// when every candidate's queue is full the request fails at once with <see cref="EccosQueueFullException"/>.
/// </para>
/// <para>
/// <b>Failover.</b> A failed call is retried on the next-best model not yet tried, up to
/// <see cref="EccosOptions.MaxAttempts"/> models, and — when streaming — only before the first update has reached the
/// caller. Cancellation through the caller's token is final. When every try fails, an
/// <see cref="EccosRoutingException"/> lists them all. Conversation-bound and pinned requests are not failed over.
/// </para>
/// <para>
/// <b>Explainability.</b> The <see cref="EccosDecision"/> is put into
/// <c>ChatResponse.AdditionalProperties["eccos.decision"]</c> (and into the first streaming update).
/// <see cref="GetService"/> returns the router itself, its <see cref="ChatClientMetadata"/>, its current
/// <see cref="EccosPrices"/>, and, with a model name as key, that model's client or <see cref="ModelProfile"/>.
/// </para>
/// <para>
/// <b>Thread safety.</b> All members are safe to call concurrently. <b>Disposal</b> stops accepting requests
/// (<see cref="ObjectDisposedException"/>), fails requests still waiting for a slot or a batch with
/// <see cref="ObjectDisposedException"/>, lets calls in flight finish (up to <see cref="EccosOptions.ShutdownTimeout"/>),
/// ends the background loops, flushes the outcome sinks and then disposes the pool clients the router owns (never the
/// others, never the sinks or the predictor). Prefer <see cref="DisposeAsync"/>.
/// </para>
/// </remarks>
public sealed partial class EccosChatClient : IChatClient, IAsyncDisposable
{
    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key of an optional task tag (a string) for the predictor.</summary>
    public const string TaskPropertyKey = "eccos.task";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key of an optional query id (a string) carried into outcome logs.</summary>
    public const string QueryIdPropertyKey = "eccos.query_id";

    /// <summary>The <see cref="ChatClientMetadata.ProviderName"/> the router reports.</summary>
    public const string ProviderName = "eccos";

    private readonly string[] _names;
    private readonly IAssignmentSolver? _solver;
    private readonly Func<IEnumerable<ChatMessage>, ChatOptions?, SchedulingQuery> _queryFactory;
    private readonly ConversationMap _conversations;
    private readonly FeedbackPump _feedback;
    private readonly OnlinePricer? _online;
    private readonly BatchScheduler? _batcher;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ChatClientMetadata _metadata;
    private readonly IDisposable[] _owned;
    private EccosPrices? _prices;
    private int _active;
    private int _disposed;
    private Task? _disposal;

    internal EccosChatClient(RouterSetup setup)
    {
        Name = setup.Name;
        EccosOptions options = Options = setup.Options.Clone();
        TargetOnPredictions = setup.Calibration?.Apply(options.QualityTarget) ?? options.QualityTarget;
        Predictor = setup.Predictor!;
        _solver = setup.Solver;
        Time = setup.Time;
        Logger = (ILogger?)setup.LoggerFactory?.CreateLogger<EccosChatClient>() ?? NullLogger.Instance;
        int m = setup.Models.Count;
        Pool = new PoolMember[m];
        Profiles = new ModelProfile[m];
        _names = new string[m];
        for (int j = 0; j < m; j++)
        {
            PoolEntry entry = setup.Models[j];
            Pool[j] = new PoolMember(j, entry.Client, entry.Profile, entry.OwnsClient, entry.ModelId, options.MaxQueueLength);
            Profiles[j] = entry.Profile;
            _names[j] = entry.Profile.Name;
        }

        _owned = [.. setup.Owned];
        Telemetry = new EccosTelemetry(Name, setup.MeterFactory);
        _feedback = new FeedbackPump([.. setup.Sinks], setup.QualitySignal, options.FeedbackQueueLength, Logger, Telemetry);
        _conversations = new ConversationMap(options.ConversationCacheSize, options.ConversationExpiry, Time);
        _queryFactory = setup.QueryFactory ?? DefaultQuery;
        _metadata = new ChatClientMetadata(ProviderName, null, null);
        if (options.Mode == EccosMode.Online)
        {
            _online = new OnlinePricer(this, [.. setup.WarmUp]);
            _online.Start(_stop.Token);
        }
        else
        {
            _batcher = new BatchScheduler(this);
            _batcher.Start(_stop.Token);
        }
    }

    /// <summary>Gets the router's name (its key in dependency injection, the <c>eccos.router</c> telemetry tag).</summary>
    public string Name { get; }

    /// <summary>Gets the pool's models, in pool order.</summary>
    public IReadOnlyList<ModelProfile> Models => Profiles;

    /// <summary>Gets the quality target α.</summary>
    public double QualityTarget => Options.QualityTarget;

    /// <summary>
    /// Gets the target the router solves for on predicted quality: α itself, or t(α) when a
    /// <see cref="QualityTargetCurve"/> maps the wanted realized quality to it.
    /// </summary>
    public double TargetOnPredictions { get; }

    /// <summary>Gets the scheduling mode.</summary>
    public EccosMode Mode => Options.Mode;

    /// <summary>Gets the prices of the latest solve; <see langword="null"/> before the first.</summary>
    public EccosPrices? CurrentPrices => Volatile.Read(ref _prices);

    internal EccosOptions Options { get; }

    internal IPredictor Predictor { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal EccosTelemetry Telemetry { get; }

    internal PoolMember[] Pool { get; }

    internal ModelProfile[] Profiles { get; }

    internal OnlinePricer? Online => _online;

    internal BatchScheduler? Batcher => _batcher;

    internal int ConversationCount => _conversations.Count;

    /// <summary>Gets the number of calls in flight on <paramref name="model"/>.</summary>
    /// <param name="model">A model of the pool.</param>
    /// <returns>The calls holding one of its slots.</returns>
    /// <exception cref="ArgumentException">No model of the pool has that name.</exception>
    public int GetInFlight(string model) => Find(model)?.Gate.InFlight
        ?? throw new ArgumentException($"No model named '{model}' is in the pool.", nameof(model));

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null)
        {
            if (serviceType.IsInstanceOfType(this))
            {
                return this;
            }

            if (serviceType == typeof(ChatClientMetadata))
            {
                return _metadata;
            }

            return serviceType == typeof(EccosPrices) ? CurrentPrices : null;
        }

        if (serviceKey is string model && Find(model) is { } member)
        {
            if (serviceType == typeof(ModelProfile))
            {
                return member.Profile;
            }

            return serviceType.IsInstanceOfType(member.Client) ? member.Client : member.Client.GetService(serviceType);
        }

        return null;
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Volatile.Write(ref _disposal, DisposeCoreAsync());
        }

        return new ValueTask(Volatile.Read(ref _disposal) ?? Task.CompletedTask);
    }

    /// <summary>Estimates prompt tokens from text length (about four characters a token).</summary>
    internal static int EstimateTokens(long characters) => (int)Math.Min(int.MaxValue, Math.Max(1, (characters + 3) / 4));

    internal PoolMember? Find(string model)
    {
        for (int j = 0; j < _names.Length; j++)
        {
            if (string.Equals(_names[j], model, StringComparison.Ordinal))
            {
                return Pool[j];
            }
        }

        return null;
    }

    internal void PublishPrices(EccosPrices prices, EccosMode mode)
    {
        Volatile.Write(ref _prices, prices);
        Telemetry.Solved(mode, prices.SolveDuration);
    }

    /// <summary>Solves one window or batch and turns the result into prices (see <see cref="OnlinePricer"/>).</summary>
    internal EccosPrices SolvePrices(PredictionMatrix matrix, AssignmentConstraints constraints, long start, CancellationToken cancellationToken, out AssignmentResult? result)
    {
        using Activity? activity = EccosTelemetry.ActivitySource.StartActivity("eccos.solve");
        activity?.SetTag("eccos.router", Name);
        activity?.SetTag("eccos.queries", matrix.QueryCount);
        result = _solver?.Solve(matrix, constraints, cancellationToken);
        double[] mu = new double[Pool.Length];
        if (result is not null && result.CapacityPrices.Count == mu.Length)
        {
            for (int j = 0; j < mu.Length; j++)
            {
                double p = result.CapacityPrices[j];
                mu[j] = p > 0 ? p : 0; // +∞ kept: the model is full at these prices; NaN and negatives dropped
            }
        }

        double solverPrice = result?.QualityPrice ?? 0;
        double lambda = Pricing.CalibrateQualityPrice(matrix, mu, solverPrice, constraints.QualityTarget);
        TimeSpan duration = Time.GetElapsedTime(start);
        activity?.SetTag("eccos.quality_price", lambda);
        activity?.SetTag("eccos.solve.status", result?.Status.ToString());
        EccosLog.PricesUpdated(Logger, matrix.QueryCount, duration.TotalMilliseconds, lambda, solverPrice, result?.Status.ToString() ?? "bisection");
        return new EccosPrices(lambda, mu, matrix.QueryCount, _names, Time.GetUtcNow(), result?.Status, duration);
    }

    /// <summary>Clears eligibility of models that can never take a request (capacity 0).</summary>
    internal void MaskEligible(ReadOnlySpan<bool> predicted, Span<bool> destination)
    {
        for (int j = 0; j < destination.Length; j++)
        {
            destination[j] = predicted[j] && Pool[j].Gate.Capacity > 0;
        }
    }

    /// <summary>Predicts a batch; on failure, falls back to list prices (never loses the requests).</summary>
    internal async ValueTask<PredictionMatrix> PredictBatchAsync(IReadOnlyList<SchedulingQuery> queries, CancellationToken cancellationToken)
    {
        PredictionMatrix matrix;
        try
        {
            matrix = await Predictor.PredictAsync(queries, Profiles, cancellationToken).ConfigureAwait(false);
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
        }

        for (int i = 0; i < matrix.QueryCount; i++)
        {
            Span<bool> row = matrix.EligibleRow(i);
            MaskEligible(row, row);
        }

        return matrix;
    }

    internal void SlotTaken(PoolMember member) => Telemetry.ActiveChanged(member.Name, 1);

    internal void ReleaseSlot(PoolMember member)
    {
        member.Gate.Release();
        Telemetry.ActiveChanged(member.Name, -1);
        _batcher?.OnCapacityReleased();
    }

    private static SchedulingQuery DefaultQuery(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        long characters = options?.Instructions?.Length ?? 0;
        ChatMessage? last = null, lastUser = null;
        foreach (ChatMessage message in messages)
        {
            last = message;
            if (message.Role == ChatRole.User)
            {
                lastUser = message;
            }

            foreach (AIContent content in message.Contents)
            {
                if (content is TextContent t)
                {
                    characters += t.Text.Length;
                }
            }
        }

        string text = (lastUser ?? last)?.Text ?? string.Empty;
        string? task = options?.AdditionalProperties?.TryGetValue(TaskPropertyKey, out object? t1) == true ? t1 as string : null;
        string? id = options?.AdditionalProperties?.TryGetValue(QueryIdPropertyKey, out object? i1) == true ? i1 as string : null;
        return new SchedulingQuery(text, EstimateTokens(characters), task, id);
    }

    private PredictionMatrix ListPricePredictions(IReadOnlyList<SchedulingQuery> queries)
    {
        var matrix = new PredictionMatrix(queries.Count, Profiles);
        for (int i = 0; i < queries.Count; i++)
        {
            for (int j = 0; j < Profiles.Length; j++)
            {
                // unknown quality; cost of the prompt alone, so the order follows the list prices
                matrix.Set(i, j, 0, Profiles[j].CostOf(queries[i].InputTokens, queries[i].InputTokens));
            }
        }

        return matrix;
    }

    private void Enter()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Interlocked.Increment(ref _active);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Exit();
            throw new ObjectDisposedException(nameof(EccosChatClient));
        }
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _active) == 0 && Volatile.Read(ref _disposed) != 0)
        {
            _drained.TrySetResult();
        }
    }

    private async Task DisposeCoreAsync()
    {
        long start = Time.GetTimestamp();
        await _stop.CancelAsync().ConfigureAwait(false);
        var closed = new ObjectDisposedException(nameof(EccosChatClient), "The Eccos router was disposed.");
        _batcher?.Close(closed);
        foreach (PoolMember member in Pool)
        {
            member.Gate.Close(closed);
        }

        await (_online?.Completion ?? Task.CompletedTask).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await (_batcher?.Completion ?? Task.CompletedTask).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        if (Volatile.Read(ref _active) == 0)
        {
            _drained.TrySetResult();
        }

        TimeSpan timeout = Options.ShutdownTimeout;
        try
        {
            await _drained.Task.WaitAsync(timeout, Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            EccosLog.ShutdownTimedOut(Logger, timeout.TotalMilliseconds, Volatile.Read(ref _active));
        }

        TimeSpan left = timeout - Time.GetElapsedTime(start);
        await _feedback.DisposeAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero).ConfigureAwait(false);
        foreach (PoolMember member in Pool)
        {
            if (member.OwnsClient)
            {
                if (member.Client is IAsyncDisposable asyncDisposable)
                {
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    member.Client.Dispose();
                }
            }
        }

        foreach (IDisposable owned in _owned)
        {
            owned.Dispose();
        }

        Telemetry.Dispose();
        _stop.Dispose();
    }
}
