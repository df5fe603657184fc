namespace Eccos.Scheduling;

/// <summary>A request as admission sees it: where it may go and how to rank its candidates now.</summary>
internal interface IAdmissionRequest
{
    /// <summary>Gets the order of arrival (waiting requests are served oldest first).</summary>
    long Sequence { get; }

    /// <summary>Writes the request's candidates, best first at these prices and this health, into <paramref name="order"/>; returns how many.</summary>
    int Rank(Span<int> order);

    /// <summary>Gets the tokens the request reserves on model <paramref name="model"/> (prompt plus predicted answer).</summary>
    int Tokens(int model);
}

/// <summary>
/// Admission for the whole pool: a request takes the best-ranked candidate that its limits (<see cref="ModelLimits"/>)
/// and its health (<see cref="ModelHealth"/>) let through now; otherwise it waits in one FIFO queue for all models and
/// is served, ranked again at that moment, by whichever of its candidates frees first — a released slot, a window that
/// moves on, a cool-down or break that ends. No request overtakes an older one on a model the older one waits for.
/// </summary>
/// <remarks>
/// Thread-safe (one lock; admissions take microseconds). A waiting request's cancellation removes it from the queue; a
/// request counts against <see cref="EccosOptions.MaxQueueLength"/> of every candidate it waits for, and one whose
/// every candidate's queue is full is refused at once. <see cref="Close"/> fails every waiter and later admissions.
/// </remarks>
internal sealed class Dispatcher : IDisposable
{
    private readonly object _lock = new();
    private readonly PoolMember[] _pool;
    private readonly int _maxQueue;
    private readonly TimeProvider _time;
    private readonly LinkedList<Waiter> _queue = new();
    private readonly int[] _waitingFor;
    private readonly ITimer _timer;
    private long _timerDue = long.MaxValue;
    private Exception? _closed;

    public Dispatcher(PoolMember[] pool, int maxQueue, TimeProvider time)
    {
        _pool = pool;
        _maxQueue = maxQueue;
        _time = time;
        _waitingFor = new int[pool.Length];
        _timer = time.CreateTimer(static s => ((Dispatcher)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (PoolMember member in pool)
        {
            member.Health.Changed += Pump;
        }
    }

    /// <summary>Gets or sets what runs whenever an admission ends (the batch scheduler: deferred requests may now fit).</summary>
    public Action? Freed { get; set; }

    /// <summary>Gets the requests waiting for a model.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// Admits <paramref name="request"/> to its best available candidate, waiting when none is available; the grant
    /// names the model and holds its admission until disposed.
    /// </summary>
    /// <exception cref="EccosQueueFullException">No candidate is available and every candidate's queue is full.</exception>
    /// <exception cref="InvalidOperationException">The request has no candidate left (the caller turns this into its own error).</exception>
    /// <exception cref="OperationCanceledException">The wait was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The router was disposed.</exception>
    public ValueTask<Grant> AdmitAsync(IAdmissionRequest request, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            if (_closed is not null)
            {
                return ValueTask.FromException<Grant>(_closed);
            }

            Span<int> order = stackalloc int[_pool.Length];
            int candidates = request.Rank(order);
            if (candidates == 0)
            {
                return ValueTask.FromException<Grant>(new NoCandidateException());
            }

            if (_queue.Count == 0 || !AnyWaitsFor(order[..candidates]))
            {
                if (TryGrant(request, order[..candidates], blocked: default, out Grant grant, out LimitTooSmallException? never))
                {
                    return new(grant);
                }

                if (never is not null)
                {
                    return ValueTask.FromException<Grant>(never);
                }
            }

            bool room = false;
            foreach (int j in order[..candidates])
            {
                room |= _waitingFor[j] < _maxQueue;
            }

            if (!room)
            {
                return ValueTask.FromException<Grant>(new EccosQueueFullException(
                    $"Every candidate model ({string.Join(", ", order[..candidates].ToArray().Select(j => _pool[j].Name))}) is at its limits and its queue of {_maxQueue} is full."));
            }

            cancellationToken.ThrowIfCancellationRequested();
            waiter = new Waiter(request, this);
            LinkedListNode<Waiter>? after = _queue.Last;
            while (after is not null && after.Value.Request.Sequence > request.Sequence)
            {
                after = after.Previous; // a request failing over keeps its place: it is older than those behind it
            }

            waiter.Node = after is null ? _queue.AddFirst(waiter) : _queue.AddAfter(after, waiter);
            waiter.Candidates = [.. order[..candidates]];
            foreach (int j in waiter.Candidates)
            {
                _waitingFor[j]++;
            }

            ScheduleLocked();
        }

        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).Cancel(token), waiter);
        }

        Pump(); // it may take a candidate that no older request waits for
        return new(waiter.Task);
    }

    /// <summary>Serves waiting requests, oldest first, with whatever is available now (a slot freed, a window moved, a model recovered).</summary>
    public void Pump()
    {
        List<(Waiter, Grant)>? granted = null;
        List<(Waiter, Exception)>? failed = null;
        lock (_lock)
        {
            if (_queue.Count == 0 || _closed is not null)
            {
                return;
            }

            Span<bool> blocked = stackalloc bool[_pool.Length];
            Span<int> order = stackalloc int[_pool.Length];
            for (LinkedListNode<Waiter>? node = _queue.First; node is not null;)
            {
                LinkedListNode<Waiter>? next = node.Next;
                Waiter w = node.Value;
                int candidates = w.Request.Rank(order);
                if (TryGrant(w.Request, order[..candidates], blocked, out Grant grant, out LimitTooSmallException? never))
                {
                    Remove(w);
                    (granted ??= []).Add((w, grant));
                }
                else if (never is not null)
                {
                    Remove(w);
                    (failed ??= []).Add((w, never));
                }
                else
                {
                    foreach (int j in order[..candidates])
                    {
                        blocked[j] = true; // a younger request may not take what this one waits for
                    }
                }

                node = next;
            }

            ScheduleLocked();
        }

        foreach ((Waiter w, Exception error) in failed ?? [])
        {
            w.Registration.Dispose();
            w.TrySetException(error);
        }

        if (granted is not null)
        {
            foreach ((Waiter w, Grant grant) in granted)
            {
                w.Registration.Dispose();
                if (!w.TrySetResult(grant))
                {
                    grant.Dispose(); // cancelled meanwhile: give it back
                }
            }
        }
    }

    /// <summary>
    /// The timer fired: it is no longer armed, whatever the clock says. (Timers count whole milliseconds and may fire
    /// before the timestamp they were set for; keeping that timestamp would make the pump think a timer is still
    /// coming and arm none — every waiter stranded.)
    /// </summary>
    private void OnTimer()
    {
        lock (_lock)
        {
            _timerDue = long.MaxValue;
        }

        Pump();
    }

    /// <summary>Fails every waiter and every later admission with <paramref name="error"/>; grants already made stay valid.</summary>
    public void Close(Exception error)
    {
        List<Waiter> failed;
        lock (_lock)
        {
            _closed ??= error;
            failed = [.. _queue];
            foreach (Waiter w in failed)
            {
                Remove(w);
            }
        }

        foreach (Waiter w in failed)
        {
            w.Registration.Dispose();
            w.TrySetException(error);
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        foreach (PoolMember member in _pool)
        {
            member.Health.Changed -= Pump;
        }
    }

    /// <summary>Admits one model for the request directly (a batch's joint assignment), or returns null.</summary>
    public Grant? TryAdmitModel(int model, int tokens)
    {
        lock (_lock)
        {
            if (_closed is not null || !_pool[model].Health.TryEnter(out bool probe))
            {
                return null;
            }

            Admitted? admitted;
            try
            {
                admitted = _pool[model].Limits.TryAdmit(tokens, out _, out _);
            }
            catch (LimitTooSmallException)
            {
                admitted = null; // the request then goes through AdmitAsync, which fails it with the reason
            }

            if (admitted is null)
            {
                if (probe)
                {
                    _pool[model].Health.CancelProbe();
                }

                return null;
            }

            return new Grant(this, _pool[model], admitted, probe);
        }
    }

    private bool AnyWaitsFor(ReadOnlySpan<int> candidates)
    {
        foreach (int j in candidates)
        {
            if (_waitingFor[j] > 0)
            {
                return true;
            }
        }

        return false;
    }

    private bool TryGrant(IAdmissionRequest request, ReadOnlySpan<int> order, Span<bool> blocked, out Grant grant, out LimitTooSmallException? never)
    {
        never = null;
        int impossible = 0;
        foreach (int j in order)
        {
            if (!blocked.IsEmpty && blocked[j])
            {
                continue;
            }

            PoolMember member = _pool[j];
            if (!member.Health.TryEnter(out bool probe))
            {
                continue;
            }

            Admitted? admitted;
            TimeSpan? retryAfter;
            try
            {
                admitted = member.Limits.TryAdmit(request.Tokens(j), out _, out retryAfter);
            }
            catch (LimitTooSmallException e)
            {
                if (probe)
                {
                    member.Health.CancelProbe();
                }

                never = e;
                impossible++;
                continue;
            }

            if (admitted is not null)
            {
                grant = new Grant(this, member, admitted, probe);
                never = null;
                return true;
            }

            if (probe)
            {
                member.Health.CancelProbe();
            }

            if (retryAfter is { } wait)
            {
                Due(_time.GetTimestamp() + (long)Math.Ceiling(wait.TotalSeconds * _time.TimestampFrequency));
            }
        }

        grant = null!;
        if (impossible < order.Length)
        {
            never = null; // another candidate may still serve it
        }

        return false;
    }

    /// <summary>Arms the timer for the earliest moment a waiting request's candidate may become available.</summary>
    private void ScheduleLocked()
    {
        if (_queue.Count == 0)
        {
            return;
        }

        foreach (Waiter w in _queue)
        {
            foreach (int j in w.Candidates)
            {
                long at = _pool[j].Health.AvailableAt;
                if (at > 0)
                {
                    Due(at);
                }
            }
        }
    }

    private void Due(long at)
    {
        long now = _time.GetTimestamp();
        if (at >= _timerDue && _timerDue > now)
        {
            return;
        }

        _timerDue = at;
        double milliseconds = Math.Ceiling(Math.Max(0, (at - now) * 1000.0 / _time.TimestampFrequency)); // never early by rounding
        _timer.Change(TimeSpan.FromMilliseconds(Math.Min(milliseconds, EccosOptions.MaxTimeout.TotalMilliseconds)), Timeout.InfiniteTimeSpan);
    }

    private void Remove(Waiter w)
    {
        if (w.Node is null)
        {
            return;
        }

        _queue.Remove(w.Node);
        w.Node = null;
        foreach (int j in w.Candidates)
        {
            _waitingFor[j]--;
        }
    }

    /// <summary>The request has no model left to try.</summary>
    internal sealed class NoCandidateException : InvalidOperationException
    {
        public NoCandidateException()
            : base("No candidate model is left.")
        {
        }
    }

    private sealed class Waiter(IAdmissionRequest request, Dispatcher owner) : TaskCompletionSource<Grant>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public IAdmissionRequest Request { get; } = request;

        public LinkedListNode<Waiter>? Node { get; set; }

        public int[] Candidates { get; set; } = [];

        public CancellationTokenRegistration Registration { get; set; }

        public void Cancel(CancellationToken token)
        {
            lock (owner._lock)
            {
                if (Node is null)
                {
                    return; // already granted or failed
                }

                owner.Remove(this);
            }

            TrySetCanceled(token);
        }
    }
}

/// <summary>
/// One admission to one model: its slot and rate permits, and, when its circuit was half open, the probe. Report the
/// outcome to the model's <see cref="ModelHealth"/>, settle tokens, then dispose (which frees the slot and
/// lets waiting requests in).
/// </summary>
internal sealed class Grant : IDisposable
{
    private readonly Dispatcher _owner;
    private readonly Admitted _admitted;
    private int _disposed;

    public Grant(Dispatcher owner, PoolMember member, Admitted admitted, bool probe)
    {
        _owner = owner;
        Member = member;
        _admitted = admitted;
        Probe = probe;
        member.Entered();
    }

    public PoolMember Member { get; }

    /// <summary>Gets a value indicating whether this call is the probe of a half-open circuit.</summary>
    public bool Probe { get; }

    public void Settle(int usedTokens) => _admitted.Settle(usedTokens);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _admitted.Dispose();
        Member.Left();
        _owner.Pump();
        _owner.Freed?.Invoke();
    }
}
