using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Eccos.Scheduling;

/// <summary>
/// An <see cref="IChatClient"/> that spreads requests over a pool of models so that the traffic meets a quality
/// target at the least cost without any model taking more calls at once than its <see cref="ModelProfile.Capacity"/>;
/// it learns from every call through its outcome sinks. Build one with <see cref="EccosBuilder"/> or, with dependency
/// injection, <c>services.AddEccos(...)</c>. How it routes, queues, fails over and reports: docs/serving.md.
/// </summary>
/// <remarks>
/// <para>
/// <b>Routing.</b> Each request goes to the model with the lowest score <c>c_j − λ·a_j/N + μ_j</c> at the prices of
/// the latest background solve (<see cref="EccosMode.Online"/>), or is assigned with its batch by the solver
/// (<see cref="EccosMode.Batched"/>). A known <see cref="ChatOptions.ConversationId"/> keeps its model; a
/// <see cref="ChatOptions.ModelId"/> naming a pool model pins it.
/// </para>
/// <para>
/// <b>Capacity and failover.</b> Excess requests wait in a bounded FIFO queue per model; when every candidate's
/// queue is full the request fails at once with <see cref="EccosQueueFullException"/>. A failed call is retried on the
/// next-best model, up to <see cref="EccosOptions.MaxAttempts"/> models, and when streaming only before the first
/// update; when every try fails, an <see cref="EccosRoutingException"/> lists them. The caller's cancellation is final.
/// </para>
/// <para>
/// <b>Explainability.</b> The <see cref="EccosDecision"/> comes back in
/// <c>ChatResponse.AdditionalProperties["eccos.decision"]</c> (and on the first streaming update).
/// <see cref="GetService"/> returns the router, its <see cref="ChatClientMetadata"/>, its current
/// <see cref="EccosPrices"/>, and, keyed by a model name, that model's client or <see cref="ModelProfile"/>.
/// </para>
/// <para>
/// <b>Thread safety and disposal.</b> All members are safe to call concurrently. Disposal fails waiting requests with
/// <see cref="ObjectDisposedException"/>, lets calls in flight finish (up to <see cref="EccosOptions.ShutdownTimeout"/>),
/// flushes the outcome sinks and disposes the clients the router owns (never the others, the sinks or the predictor).
/// Prefer <see cref="DisposeAsync"/>.
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

    private readonly RouterCore _core;
    private readonly Func<IEnumerable<ChatMessage>, ChatOptions?, SchedulingQuery> _queryFactory;
    private readonly ConversationMap _conversations;
    private readonly FeedbackPump _feedback;
    private readonly OnlinePricer? _online;
    private readonly BatchScheduler? _batcher;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Dispatcher _dispatcher;
    private readonly CancellationTokenSource _startup;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ChatClientMetadata _metadata;
    private int _active;
    private int _disposed;
    private Task? _disposal;

    internal EccosChatClient(RouterSetup setup, Task<PredictorSetup> predictor)
    {
        _core = new RouterCore(setup, predictor, _stop.Token);
        _dispatcher = new Dispatcher(_core.Pool, Options.MaxQueueLength, Time);
        _startup = setup.Startup;
        IOutcomeSink[] sinks = [.. setup.Sinks];
        if (setup.LearnFromTraffic && !(predictor.IsCompletedSuccessfully && predictor.Result.Predictor is not IOutcomeSink))
        {
            // The predictor learns from every call when it is a sink; it may still be under construction.
            sinks = [new PredictorSink(predictor), .. sinks];
        }

        _feedback = new FeedbackPump(sinks, setup.QualitySignal, Options.FeedbackQueueLength, Logger, Telemetry);
        _conversations = new ConversationMap(Options.ConversationCacheSize, Options.ConversationExpiry, Time);
        _queryFactory = setup.QueryFactory ?? DefaultQuery;
        _metadata = new ChatClientMetadata(ProviderName, null, null);
        if (Options.Mode == EccosMode.Online)
        {
            _online = new OnlinePricer(_core, [.. setup.WarmUp]);
            _online.Start(_stop.Token);
        }
        else
        {
            _batcher = new BatchScheduler(_core, _dispatcher);
            _batcher.Start(_stop.Token);
        }
    }

    /// <summary>Gets the router's name (its key in dependency injection, the <c>eccos.router</c> telemetry tag).</summary>
    public string Name => _core.Name;

    /// <summary>Gets the pool's models, in pool order.</summary>
    public IReadOnlyList<ModelProfile> Models => _core.Profiles;

    /// <summary>Gets the quality target α.</summary>
    public double QualityTarget => Options.QualityTarget;

    /// <summary>
    /// Gets the target the router solves for on predicted quality: α itself, or t(α) when a
    /// <see cref="QualityTargetCurve"/> maps the wanted realized quality to it.
    /// </summary>
    public double TargetOnPredictions => _core.TargetOnPredictions;

    /// <summary>Gets the scheduling mode.</summary>
    public EccosMode Mode => Options.Mode;

    internal RouterCore Core => _core;

    /// <summary>Gets the predictor once it exists (tests).</summary>
    internal IPredictor? Predictor => _core.PredictorReady.IsCompletedSuccessfully ? _core.PredictorReady.Result.Predictor : null;

    internal EccosOptions Options => _core.Options;

    internal TimeProvider Time => _core.Time;

    internal ILogger Logger => _core.Logger;

    internal EccosTelemetry Telemetry => _core.Telemetry;

    internal PoolMember[] Pool => _core.Pool;

    internal ModelProfile[] Profiles => _core.Profiles;

    internal EccosPrices? CurrentPrices => _core.Prices;

    internal OnlinePricer? Online => _online;

    internal BatchScheduler? Batcher => _batcher;

    internal int ConversationCount => _conversations.Count;

    /// <summary>Gets the requests waiting for a model (tests).</summary>
    internal int Waiting => _dispatcher.Waiting;

    /// <summary>Gets the number of calls in flight on <paramref name="model"/>.</summary>
    /// <param name="model">A model of the pool.</param>
    /// <returns>The calls holding one of its slots.</returns>
    /// <exception cref="ArgumentException">No model of the pool has that name.</exception>
    public int GetInFlight(string model) => Find(model)?.InFlight
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
    /// <summary>How long disposal still waits after cancelling what did not finish in the shutdown timeout (calls, sinks).</summary>
    internal static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(1);

    internal static int EstimateTokens(long characters) => (int)Math.Min(int.MaxValue, Math.Max(1, (characters + 3) / 4));

    internal PoolMember? Find(string model) => _core.Find(model);

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
        await _startup.CancelAsync().ConfigureAwait(false);
        var closed = new ObjectDisposedException(nameof(EccosChatClient), "The Eccos router was disposed.");
        _batcher?.Close(closed);
        _dispatcher.Close(closed);

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
            // Calls still running are cancelled; one that ignores its cancellation is left behind rather than waited for.
            EccosLog.ShutdownTimedOut(Logger, timeout.TotalMilliseconds, Volatile.Read(ref _active));
            await _abort.CancelAsync().ConfigureAwait(false);
            await _drained.Task.WaitAsync(AbortGrace, Time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        TimeSpan left = timeout - Time.GetElapsedTime(start);
        await _feedback.DisposeAsync(left > AbortGrace ? left : AbortGrace).ConfigureAwait(false);
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

        if (_core.PredictorReady.IsCompletedSuccessfully)
        {
            _core.PredictorReady.Result.Owned?.Dispose();
        }
        else
        {
            _ = _core.PredictorReady.ContinueWith(
                static t => t.Result.Owned?.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }

        _dispatcher.Dispose();
        foreach (IDisposable limiter in _core.OwnedLimiters)
        {
            limiter.Dispose();
        }

        Telemetry.Dispose();
        _stop.Dispose();
        _abort.Dispose();
        _startup.Dispose();
    }
}
