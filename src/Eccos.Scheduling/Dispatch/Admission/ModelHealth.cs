namespace Eccos.Scheduling;

/// <summary>
/// Whether one model may take calls: cooled down after throttling (until the provider's Retry-After, else an
/// exponential back-off with jitter), its circuit opened by failures (consecutive, or a failure ratio over a sampling
/// window with a minimum throughput) for a break, then half-open for one probe whose outcome closes or reopens it.
/// </summary>
/// <remarks>
/// Thread-safe (one lock). Follows Polly's advanced circuit breaker: closed → open on too many failures, open → half
/// open after the break, half open → closed on a success or open again on a failure. Polly's strategy itself is not
/// used because the router needs the state before a call (to route around an open circuit and price it), a probe slot
/// taken at admission, and the outcome of a streamed call at its first update — Polly's breaker decides inside an
/// execution it wraps.
/// </remarks>
internal sealed class ModelHealth
{
    private readonly object _lock = new();
    private readonly EccosHealthOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _jitter;
    private readonly Queue<(long At, bool Failed)> _window = new();
    private int _windowFailures;
    private int _consecutiveFailures;
    private int _throttlesInARow;
    private long _coolUntil;
    private long _openUntil;
    private bool _open;
    private bool _probing;

    public ModelHealth(EccosHealthOptions options, TimeProvider time, int seed)
    {
        _options = options;
        _time = time;
        _jitter = new Random(seed);
    }

    /// <summary>Raised (outside the lock) when the model may take calls again or its state changed; the dispatcher pumps its queue.</summary>
    public event Action? Changed;

    /// <summary>Gets the state now.</summary>
    public EccosModelHealth State
    {
        get
        {
            lock (_lock)
            {
                return StateLocked(_time.GetTimestamp());
            }
        }
    }

    /// <summary>Gets when the model may next be tried (a timestamp), or 0 when it may be now.</summary>
    public long AvailableAt
    {
        get
        {
            lock (_lock)
            {
                long now = _time.GetTimestamp();
                long at = Math.Max(_coolUntil, _open ? _openUntil : 0);
                return at > now ? at : 0;
            }
        }
    }

    /// <summary>
    /// Reports whether a call may go to the model now, and takes the probe slot when the circuit is half open (the
    /// call's outcome must then be reported).
    /// </summary>
    public bool TryEnter(out bool probe)
    {
        lock (_lock)
        {
            probe = false;
            EccosModelHealth state = StateLocked(_time.GetTimestamp());
            switch (state)
            {
                case EccosModelHealth.Healthy:
                    return true;
                case EccosModelHealth.Probing when !_probing:
                    _probing = probe = true;
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>Gives back a probe slot taken by <see cref="TryEnter"/> when the call did not happen (another limit refused it).</summary>
    public void CancelProbe()
    {
        lock (_lock)
        {
            _probing = false;
        }
    }

    public void Succeeded(bool probe)
    {
        bool changed;
        lock (_lock)
        {
            changed = _open && probe;
            if (probe)
            {
                _probing = false;
                _open = false;
                _window.Clear();
                _windowFailures = 0;
            }

            _consecutiveFailures = 0;
            _throttlesInARow = 0;
            Record(_time.GetTimestamp(), failed: false);
        }

        if (changed)
        {
            Changed?.Invoke();
        }
    }

    /// <summary>Records a failed call; returns the cool-down or break it started (for logs), or null.</summary>
    public (EccosModelHealth State, TimeSpan For)? Failed(bool probe, FailureKind kind, TimeSpan? retryAfter)
    {
        (EccosModelHealth, TimeSpan)? started = null;
        lock (_lock)
        {
            long now = _time.GetTimestamp();
            if (probe)
            {
                _probing = false;
            }

            if (kind == FailureKind.Throttled)
            {
                TimeSpan wait = retryAfter ?? Backoff(_throttlesInARow);
                wait = wait > _options.MaxCooldown ? _options.MaxCooldown : wait;
                _throttlesInARow++;
                long until = now + Ticks(wait);
                if (until > _coolUntil)
                {
                    _coolUntil = until;
                    started = (EccosModelHealth.CoolingDown, wait);
                }
            }
            else
            {
                _consecutiveFailures++;
                Record(now, failed: true);
                bool trip = probe
                    || _consecutiveFailures >= _options.ConsecutiveFailures
                    || (_window.Count >= _options.MinimumThroughput && _windowFailures >= _options.FailureRatio * _window.Count);
                if (trip && (!_open || probe))
                {
                    _open = true;
                    _openUntil = now + Ticks(_options.BreakDuration);
                    started = (EccosModelHealth.Broken, _options.BreakDuration);
                }
            }
        }

        return started;
    }

    private EccosModelHealth StateLocked(long now)
    {
        if (_coolUntil > now)
        {
            return EccosModelHealth.CoolingDown;
        }

        if (!_open)
        {
            return EccosModelHealth.Healthy;
        }

        return _openUntil > now ? EccosModelHealth.Broken : EccosModelHealth.Probing;
    }

    private void Record(long now, bool failed)
    {
        long horizon = now - Ticks(_options.SamplingDuration);
        while (_window.Count > 0 && _window.Peek().At < horizon)
        {
            if (_window.Dequeue().Failed)
            {
                _windowFailures--;
            }
        }

        _window.Enqueue((now, failed));
        if (failed)
        {
            _windowFailures++;
        }
    }

    /// <summary>Cooldown · 2^n with ±20 % jitter, at most <see cref="EccosHealthOptions.MaxCooldown"/>.</summary>
    private TimeSpan Backoff(int n)
    {
        double seconds = _options.Cooldown.TotalSeconds * Math.Pow(2, Math.Min(n, 30)) * (0.8 + (0.4 * _jitter.NextDouble()));
        return TimeSpan.FromSeconds(Math.Min(seconds, _options.MaxCooldown.TotalSeconds));
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
