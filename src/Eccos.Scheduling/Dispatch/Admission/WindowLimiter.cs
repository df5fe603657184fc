using System.Threading.RateLimiting;

namespace Eccos.Scheduling;

/// <summary>
/// A sliding-window <see cref="RateLimiter"/> on a <see cref="TimeProvider"/>: at most <see cref="Limit"/> permits in
/// any window (counted in segments of a twentieth of it), never queueing (the router queues), and with leases that can
/// be settled afterwards to what was really used (a token reservation settled to the reported usage).
/// </summary>
/// <remarks>
/// Thread-safe. A failed lease carries <see cref="MetadataName.RetryAfter"/>: when enough permits will have left the
/// window. A request for more permits than the limit is admitted when the window is empty, so that it cannot starve.
/// The limit may change at run time (<see cref="Limit"/>: a learned rate).
/// </remarks>
internal sealed class WindowLimiter : RateLimiter
{
    private const int Segments = 20;
    private readonly object _lock = new();
    private readonly TimeProvider _time;
    private readonly long _segmentTicks;
    private readonly long[] _counts = new long[Segments];
    private long _segment; // index of the current segment since the epoch of the time provider's timestamps
    private long _total;
    private long _limit;
    private long _successful;
    private long _failed;

    public WindowLimiter(long limit, TimeSpan window, TimeProvider time)
    {
        _time = time;
        _limit = limit;
        _segmentTicks = Math.Max(1, (long)(window.TotalSeconds * time.TimestampFrequency / Segments));
        _segment = time.GetTimestamp() / _segmentTicks;
    }

    /// <summary>Gets or sets the permits allowed per window (<see cref="long.MaxValue"/>: unlimited, only counting).</summary>
    public long Limit
    {
        get => Volatile.Read(ref _limit);
        set => Volatile.Write(ref _limit, Math.Max(1, value));
    }

    /// <summary>Gets the permits used in the current window.</summary>
    public long Used
    {
        get
        {
            lock (_lock)
            {
                Roll();
                return _total;
            }
        }
    }

    public override TimeSpan? IdleDuration => null;

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_lock)
        {
            Roll();
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = Math.Max(0, _limit - _total),
                CurrentQueuedCount = 0,
                TotalSuccessfulLeases = _successful,
                TotalFailedLeases = _failed,
            };
        }
    }

    /// <summary>Adds <paramref name="delta"/> permits (negative: returns them) to the segment the lease was taken in, if it is still in the window.</summary>
    public void Settle(RateLimitLease lease, long delta)
    {
        if (lease is not Lease own || !ReferenceEquals(own.Owner, this) || delta == 0)
        {
            return;
        }

        lock (_lock)
        {
            Roll();
            if (own.Segment > _segment - Segments)
            {
                long add = Math.Max(-_counts[own.Segment % Segments], delta);
                _counts[own.Segment % Segments] += add;
                _total += add;
            }
        }
    }

    /// <summary>
    /// Reports whether <paramref name="permitCount"/> permits would be granted now, without taking them; when not, when
    /// to try again. One reading under the lock, so that a window moving on between a check and a probe cannot turn
    /// the probe into an acquisition nobody holds.
    /// </summary>
    public bool WouldGrant(int permitCount, out TimeSpan retryAfter)
    {
        lock (_lock)
        {
            Roll();
            retryAfter = TimeSpan.Zero;
            if (_total + Math.Max(1, permitCount) <= _limit || _total == 0)
            {
                return true;
            }

            retryAfter = RetryAfterLocked(Math.Max(1, permitCount));
            return false;
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        lock (_lock)
        {
            Roll();
            if (permitCount == 0)
            {
                return _total < _limit ? new Lease(this, _segment) : Failed(1);
            }

            if (_total + permitCount <= _limit || _total == 0)
            {
                _counts[_segment % Segments] += permitCount;
                _total += permitCount;
                _successful++;
                return new Lease(this, _segment);
            }

            _failed++;
            return Failed(permitCount);
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new(AttemptAcquireCore(permitCount));
    }

    /// <summary>Moves the window to now: segments that left it give their permits back.</summary>
    private void Roll()
    {
        long now = _time.GetTimestamp() / _segmentTicks;
        if (now <= _segment)
        {
            return;
        }

        long steps = Math.Min(now - _segment, Segments);
        for (long s = 1; s <= steps; s++)
        {
            int slot = (int)((_segment + s) % Segments);
            _total -= _counts[slot];
            _counts[slot] = 0;
        }

        _segment = now;
    }

    /// <summary>A failed lease whose retry-after is when <paramref name="needed"/> permits will have left the window.</summary>
    private Lease Failed(int needed) => new(null, -1, RetryAfterLocked(needed));

    /// <summary>When <paramref name="needed"/> permits will have left the window.</summary>
    private TimeSpan RetryAfterLocked(int needed)
    {
        long free = _limit - _total;
        long expiring = 0;
        int segments = Segments;
        for (int s = 1; s <= Segments; s++)
        {
            expiring += _counts[(_segment + s) % Segments]; // the oldest segment first
            if (free + expiring >= needed)
            {
                segments = s;
                break;
            }
        }

        // Segment s leaves the window when the clock enters segment _segment + s.
        long ticks = ((_segment + segments) * _segmentTicks) - _time.GetTimestamp();
        return TimeSpan.FromSeconds(Math.Max(ticks, 1) / (double)_time.TimestampFrequency);
    }

    private sealed class Lease(WindowLimiter? owner, long segment, TimeSpan? retryAfter = null) : RateLimitLease
    {
        public WindowLimiter? Owner { get; } = owner;

        public long Segment { get; } = segment;

        public override bool IsAcquired => Owner is not null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } r && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = r;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
