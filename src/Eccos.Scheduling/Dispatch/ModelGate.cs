namespace Eccos.Scheduling;

/// <summary>
/// Admission to one model: at most <c>capacity</c> calls in flight, then a bounded FIFO queue of waiters; a released
/// slot is handed straight to the oldest waiter.
/// </summary>
/// <remarks>Thread-safe. A waiter's cancellation removes it from the queue; it never holds a slot afterwards.</remarks>
internal sealed class ModelGate
{
    private readonly object _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly int _capacity;
    private readonly int _maxQueue;
    private int _inFlight;
    private Exception? _closed;

    public ModelGate(int capacity, int maxQueue)
    {
        _capacity = capacity;
        _maxQueue = maxQueue;
    }

    /// <summary>Gets the capacity; <see cref="int.MaxValue"/> for unlimited.</summary>
    public int Capacity => _capacity;

    /// <summary>Gets the calls in flight (holding a slot).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Gets the requests waiting for a slot.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Gets the free slots right now (0 when full).</summary>
    public int Free => Math.Max(0, _capacity - InFlight);

    /// <summary>Takes a slot if one is free and nobody waits for it.</summary>
    /// <returns><see langword="true"/> when the slot is taken (call <see cref="Release"/> once).</returns>
    public bool TryAcquire()
    {
        lock (_lock)
        {
            if (_closed is null && _inFlight < _capacity && _waiters.Count == 0)
            {
                _inFlight++;
                return true;
            }

            return false;
        }
    }

    /// <summary>Takes a slot, waiting in the queue when none is free.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>
    /// <see langword="true"/> once a slot is held; <see langword="false"/> at once when no slot is free and the queue
    /// is full.
    /// </returns>
    /// <exception cref="OperationCanceledException">The wait was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The gate was closed (router disposed).</exception>
    public Task<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            if (_closed is not null)
            {
                return Task.FromException<bool>(_closed);
            }

            if (_inFlight < _capacity && _waiters.Count == 0)
            {
                _inFlight++;
                return Task.FromResult(true);
            }

            if (_waiters.Count >= _maxQueue)
            {
                return Task.FromResult(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            waiter = new Waiter(this);
            waiter.Node = _waiters.AddLast(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).Cancel(token), waiter);
        }

        return waiter.Task;
    }

    /// <summary>Gives a slot back: to the oldest waiter if any, otherwise to the pool.</summary>
    public void Release()
    {
        Waiter? next = null;
        lock (_lock)
        {
            while (_waiters.First?.Value is { } first)
            {
                _waiters.RemoveFirst();
                first.Node = null;
                if (first.TryGrant())
                {
                    next = first;
                    break;
                }
            }

            if (next is null)
            {
                _inFlight--;
            }
        }

        next?.Registration.Dispose();
    }

    /// <summary>Fails every waiter and every later acquisition with <paramref name="error"/>; slots in use stay valid.</summary>
    /// <param name="error">The error waiters get.</param>
    public void Close(Exception error)
    {
        List<Waiter> failed;
        lock (_lock)
        {
            _closed ??= error;
            failed = [.. _waiters];
            _waiters.Clear();
            foreach (Waiter w in failed)
            {
                w.Node = null;
            }
        }

        foreach (Waiter w in failed)
        {
            w.Registration.Dispose();
            w.TrySetException(error);
        }
    }

    private sealed class Waiter : TaskCompletionSource<bool>
    {
        private readonly ModelGate _gate;

        public Waiter(ModelGate gate)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            _gate = gate;
        }

        public LinkedListNode<Waiter>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }

        // Called under the gate's lock: the slot passes to this waiter unless it was already cancelled.
        public bool TryGrant() => TrySetResult(true);

        public void Cancel(CancellationToken token)
        {
            lock (_gate._lock)
            {
                if (Node is null)
                {
                    return; // already granted or failed
                }

                _gate._waiters.Remove(Node);
                Node = null;
            }

            TrySetCanceled(token);
        }
    }
}
