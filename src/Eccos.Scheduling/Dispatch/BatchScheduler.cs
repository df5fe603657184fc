using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Eccos.Scheduling;

/// <summary>
/// Batched mode: requests wait until <see cref="EccosOptions.BatchSize"/> of them are waiting or the oldest has
/// waited <see cref="EccosOptions.BatchWindow"/> (on the <see cref="TimeProvider"/>), then the batch is predicted in
/// one call and assigned jointly by the solver within each model's free slots. Deferred requests stay at the head of
/// the queue for the next batch, which runs when a slot is released.
/// </summary>
/// <remarks>
/// Thread-safe. A request that is cancelled while waiting leaves the queue; a request granted a model holds that
/// model's slot until its first try ends. If a batch cannot be solved, its requests are routed one by one at the
/// current prices rather than lost.
/// </remarks>
internal sealed class BatchScheduler
{
    private readonly RouterCore _router;
    private readonly Dispatcher _dispatcher;
    private readonly object _lock = new();
    private readonly List<Pending> _pending = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly int _maxPending;
    private readonly long _windowTicks;
    private long _releases;
    private long _blockedAt = -1;
    private Exception? _closed;
    private Task _loop = Task.CompletedTask;

    public BatchScheduler(RouterCore router, Dispatcher dispatcher)
    {
        _router = router;
        _dispatcher = dispatcher;
        dispatcher.Freed = OnCapacityReleased;
        EccosOptions o = router.Options;
        _maxPending = (int)Math.Min(int.MaxValue, Math.Max(o.BatchSize, (long)o.MaxQueueLength * router.Pool.Length));
        _windowTicks = (long)(o.BatchWindow.TotalSeconds * router.Time.TimestampFrequency);
    }

    public Task Completion => _loop;

    /// <summary>Gets the requests waiting for a batch.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    public void Start(CancellationToken stop) => _loop = Task.Run(() => RunAsync(stop), CancellationToken.None);

    /// <summary>Queues a request for the next batch.</summary>
    /// <returns>Its plan, with the chosen model's slot already held.</returns>
    /// <exception cref="EccosQueueFullException">Too many requests are waiting.</exception>
    public Task<RoutePlan> EnqueueAsync(SchedulingQuery query, CancellationToken cancellationToken)
    {
        var pending = new Pending(query, _router.Time.GetTimestamp());
        lock (_lock)
        {
            if (_closed is not null)
            {
                return Task.FromException<RoutePlan>(_closed);
            }

            if (_pending.Count >= _maxPending)
            {
                return Task.FromException<RoutePlan>(new EccosQueueFullException(
                    $"{_pending.Count} requests already wait for a batch (the limit is MaxQueueLength × models = {_maxPending})."));
            }

            cancellationToken.ThrowIfCancellationRequested();
            _pending.Add(pending);
        }

        if (cancellationToken.CanBeCanceled)
        {
            pending.Registration = cancellationToken.UnsafeRegister(static (state, token) =>
            {
                var (self, p) = ((BatchScheduler, Pending))state!;
                lock (self._lock)
                {
                    self._pending.Remove(p);
                }

                p.TrySetCanceled(token);
            }, (this, pending));
        }

        _wake.Writer.TryWrite(true);
        return pending.Task;
    }

    /// <summary>Called when a model's slot is released: deferred requests may now fit.</summary>
    public void OnCapacityReleased()
    {
        Interlocked.Increment(ref _releases);
        if (Volatile.Read(ref _blockedAt) >= 0)
        {
            _wake.Writer.TryWrite(true);
        }
    }

    public void Close(Exception error)
    {
        Pending[] failed;
        lock (_lock)
        {
            _closed ??= error;
            failed = [.. _pending];
            _pending.Clear();
        }

        foreach (Pending p in failed)
        {
            p.Registration.Dispose();
            p.TrySetException(error);
        }

        _wake.Writer.TryComplete();
    }

    private async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                TimeSpan? wait = NextWait();
                if (wait is null)
                {
                    if (!await _wake.Reader.WaitToReadAsync(stop).ConfigureAwait(false))
                    {
                        return;
                    }

                    _wake.Reader.TryRead(out _);
                }
                else if (wait > TimeSpan.Zero)
                {
                    using var delayStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    Task delay = Task.Delay(wait.Value, _router.Time, delayStop.Token);
                    Task<bool> woken = _wake.Reader.WaitToReadAsync(stop).AsTask();
                    await Task.WhenAny(delay, woken).ConfigureAwait(false);
                    await delayStop.CancelAsync().ConfigureAwait(false);
                    _wake.Reader.TryRead(out _);
                }
                else
                {
                    await RunBatchAsync(stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // disposal
        }
    }

    /// <summary>null: wait for a wake-up; zero: solve now; otherwise the time left in the oldest request's window.</summary>
    private TimeSpan? NextWait()
    {
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return null;
            }

            if (_blockedAt >= 0)
            {
                if (Volatile.Read(ref _releases) == _blockedAt)
                {
                    return null; // everything waiting was deferred for lack of slots: wait for a release
                }

                _blockedAt = -1;
            }

            if (_pending.Count >= _router.Options.BatchSize || _pending[0].Deferred)
            {
                // a full batch, or requests deferred by an earlier batch: they waited their window already
                return TimeSpan.Zero;
            }

            long left = _pending[0].Arrival + _windowTicks - _router.Time.GetTimestamp();
            return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(left / (double)_router.Time.TimestampFrequency);
        }
    }

    private async Task RunBatchAsync(CancellationToken stop)
    {
        Pending[] batch;
        lock (_lock)
        {
            batch = new Pending[Math.Min(_pending.Count, _router.Options.BatchSize)];
            _pending.CopyTo(0, batch, 0, batch.Length);
            _pending.RemoveRange(0, batch.Length);
        }

        if (batch.Length == 0)
        {
            return;
        }

        long releases = Volatile.Read(ref _releases);
        try
        {
            await SolveBatchAsync(batch, releases, stop).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Whatever ends the batch (disposal during the prediction or the solve, a bug), its requests are not lost:
            // they fail with the router's closing error, or go back to the queue.
            if (ex is not OperationCanceledException || !stop.IsCancellationRequested)
            {
                EccosLog.BatchFailed(_router.Logger, ex, batch.Length);
            }

            Requeue(batch, releases);
            if (stop.IsCancellationRequested)
            {
                throw;
            }
        }
    }

    private async Task SolveBatchAsync(Pending[] batch, long releases, CancellationToken stop)
    {
        PoolMember[] pool = _router.Pool;
        int m = pool.Length;
        int[] free = new int[m];
        bool anyFree = false;
        for (int j = 0; j < m; j++)
        {
            int f = pool[j].Health.State is EccosModelHealth.Healthy or EccosModelHealth.Probing ? Math.Max(0, pool[j].Capacity - pool[j].InFlight) : 0;
            free[j] = pool[j].Capacity == int.MaxValue && f > 0 ? AssignmentConstraints.Unlimited : f;
            anyFree |= f > 0;
        }

        if (!anyFree)
        {
            Requeue(batch, releases);
            return;
        }

        long start = _router.Time.GetTimestamp();
        var queries = new SchedulingQuery[batch.Length];
        for (int i = 0; i < batch.Length; i++)
        {
            queries[i] = batch[i].Query;
        }

        (PredictionMatrix predictions, _) = await _router.PredictAsync(queries, stop).ConfigureAwait(false);
        AssignmentResult? result = null;
        EccosPrices? prices;
        try
        {
            prices = _router.SolvePrices(predictions, new AssignmentConstraints { QualityTarget = _router.TargetOnPredictions, Capacities = free }, start, stop, out result);
            _router.PublishPrices(prices, EccosMode.Batched);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
        {
            EccosLog.BatchFailed(_router.Logger, ex, batch.Length);
            prices = _router.Prices;
        }

        var deferred = new List<Pending>();
        int assigned = 0;
        for (int i = 0; i < batch.Length; i++)
        {
            int j = result?.Assignments[i] ?? -1;
            if (result is not null && j == AssignmentResult.DeferredModel)
            {
                deferred.Add(batch[i]);
                continue;
            }

            RoutePlan plan = RoutePlan.Scored(result is null ? EccosRouteReason.Scheduled : EccosRouteReason.Batched, pool, queries[i].InputTokens,
                predictions.QualityRow(i), predictions.CostRow(i), predictions.OutputTokensRow(i), predictions.EligibleRow(i), prices);
            Grant? held = j >= 0 ? _dispatcher.TryAdmitModel(j, plan.Tokens[j]) : null;
            if (result is not null && held is null)
            {
                deferred.Add(batch[i]); // the slot went to a failover meanwhile
                continue;
            }

            plan.PreGranted = held;
            batch[i].Registration.Dispose();
            if (batch[i].TrySetResult(plan))
            {
                assigned++;
            }
            else
            {
                held?.Dispose(); // cancelled meanwhile
            }
        }

        if (result is not null)
        {
            EccosLog.BatchSolved(_router.Logger, batch.Length, _router.Time.GetElapsedTime(start).TotalMilliseconds, assigned, deferred.Count, result.Status);
        }

        if (deferred.Count > 0)
        {
            Requeue([.. deferred], releases);
        }
    }

    private void Requeue(Pending[] items, long releasesBefore)
    {
        Exception? closed;
        lock (_lock)
        {
            closed = _closed;
            if (closed is null)
            {
                Pending[] alive = [.. items.Where(p => !p.Task.IsCompleted)];
                foreach (Pending p in alive)
                {
                    p.Deferred = true;
                }

                _pending.InsertRange(0, alive);
                _blockedAt = releasesBefore; // unblocked by any release since the free slots were counted
            }
        }

        if (closed is not null)
        {
            foreach (Pending p in items)
            {
                p.Registration.Dispose();
                p.TrySetException(closed); // the router is closing: these requests end now, not at the shutdown timeout
            }

            return;
        }

        _wake.Writer.TryWrite(true);
    }

    private sealed class Pending(SchedulingQuery query, long arrival) : TaskCompletionSource<RoutePlan>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public SchedulingQuery Query { get; } = query;

        public long Arrival { get; } = arrival;

        public CancellationTokenRegistration Registration { get; set; }

        /// <summary>Gets or sets a value indicating whether an earlier batch deferred this request.</summary>
        public bool Deferred { get; set; }
    }
}
