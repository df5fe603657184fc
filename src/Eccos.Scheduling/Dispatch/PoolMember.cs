using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>
/// One model of the router's pool: its client, its profile, its limits and health, its timeouts, the calls it has in
/// flight and its observed latency.
/// </summary>
internal sealed class PoolMember
{
    private const double LatencySmoothing = 0.1;

    /// <summary>The fewest requests in a window at which a throttle starts a learned rate.</summary>
    private const int MinimumLearningRate = 10;

    /// <summary>The share of the known ceiling from which a learned rate grows only by cautious probes.</summary>
    private const double NearCeiling = 0.9;
    private const int FirstProbeWindows = 2;
    private const int MaxProbeWindows = 64;
    private readonly object _lock = new();
    private double _latencySeconds = double.NaN;
    private double _tokensPerCall = double.NaN;
    private int _inFlight;
    private long _lastThrottle;
    private long _lastRateChange;
    private long _window;
    private long _ceiling = long.MaxValue; // the learned rate the model was last throttled at
    private int _probeWindows = FirstProbeWindows; // clean windows a probe near the ceiling waits for

    public PoolMember(int index, IChatClient client, ModelProfile profile, bool ownsClient, string? modelId, ModelLimits limits, ModelHealth health, TimeSpan? attemptTimeout, TimeSpan? firstTokenTimeout, long rateWindowTicks)
    {
        Index = index;
        Client = client;
        Profile = profile;
        OwnsClient = ownsClient;
        ModelId = modelId;
        Limits = limits;
        Health = health;
        AttemptTimeout = attemptTimeout;
        FirstTokenTimeout = firstTokenTimeout;
        Capacity = profile.Capacity ?? int.MaxValue;
        _window = rateWindowTicks;
    }

    public int Index { get; }

    public string Name => Profile.Name;

    public IChatClient Client { get; }

    public ModelProfile Profile { get; }

    public bool OwnsClient { get; }

    /// <summary>Gets the model id put into <see cref="ChatOptions.ModelId"/> for this model, if any.</summary>
    public string? ModelId { get; }

    public ModelLimits Limits { get; }

    public ModelHealth Health { get; }

    /// <summary>Gets the most calls in flight; <see cref="int.MaxValue"/> for unlimited.</summary>
    public int Capacity { get; }

    public TimeSpan? AttemptTimeout { get; }

    public TimeSpan? FirstTokenTimeout { get; }

    /// <summary>Gets the calls in flight (admitted and not yet ended).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Gets the smoothed latency of successful calls in seconds, NaN before the first.</summary>
    public double LatencySeconds
    {
        get
        {
            lock (_lock)
            {
                return _latencySeconds;
            }
        }
    }

    /// <summary>
    /// A throttle: the learned request rate drops to 80 % of what the model took in the current window (at most once a
    /// twentieth of a window, so that a burst of 429s counts once), and the rate it was throttled at becomes the known
    /// ceiling. A throttle again near the same ceiling doubles the clean windows each probe towards it waits (up to
    /// 64), so that a steady limit is probed ever more rarely. Returns the new rate per window.
    /// </summary>
    public long Throttled(TimeProvider time)
    {
        lock (_lock)
        {
            long now = time.GetTimestamp();
            WindowLimiter learned = Limits.Learned;
            _lastThrottle = now;
            if (learned.Limit != long.MaxValue && now - _lastRateChange < _window / 20)
            {
                return learned.Limit;
            }

            long used = learned.Used;
            if (learned.Limit == long.MaxValue && used < MinimumLearningRate)
            {
                return learned.Limit; // a throttle under light load says little about a rate: the cool-down handles it
            }

            long rate = Math.Min(learned.Limit, used);
            _probeWindows = _ceiling != long.MaxValue && rate >= _ceiling * NearCeiling
                ? Math.Min(MaxProbeWindows, _probeWindows * 2)
                : FirstProbeWindows;
            _ceiling = Math.Max(1, rate);
            learned.Limit = Math.Max(1, Math.Min(learned.Limit == long.MaxValue ? used : learned.Limit, (long)(used * 0.8)));
            _lastRateChange = now;
            return learned.Limit;
        }
    }

    /// <summary>
    /// A success: after a whole window without throttling, a learned rate (if any) below 90 % of its ceiling grows by
    /// 5 %; nearer the ceiling it grows by 1 % only after the probe's count of clean windows. A rate that passes the
    /// ceiling by 5 % without a throttle makes itself the ceiling (the provider raised its limit).
    /// </summary>
    public void Succeeded(TimeSpan window, TimeProvider time)
    {
        WindowLimiter learned = Limits.Learned;
        if (learned.Limit == long.MaxValue)
        {
            return;
        }

        lock (_lock)
        {
            long now = time.GetTimestamp();
            _window = (long)(window.TotalSeconds * time.TimestampFrequency);
            long limit = learned.Limit;
            bool near = limit >= _ceiling * NearCeiling;
            long wait = near ? _window * _probeWindows : _window;
            if (now - _lastThrottle >= _window && now - _lastRateChange >= wait)
            {
                limit += Math.Max(1, limit / (near ? 100 : 20));
                if (limit > _ceiling * 1.05)
                {
                    _ceiling = limit;
                    _probeWindows = FirstProbeWindows;
                }

                learned.Limit = limit;
                _lastRateChange = now;
            }
        }
    }

    /// <summary>Gets the smoothed tokens (prompt and answer) of this model's calls, NaN before the first.</summary>
    public double TokensPerCall
    {
        get
        {
            lock (_lock)
            {
                return _tokensPerCall;
            }
        }
    }

    public void ObserveTokens(int tokens)
    {
        lock (_lock)
        {
            _tokensPerCall = double.IsNaN(_tokensPerCall) ? tokens : _tokensPerCall + (LatencySmoothing * (tokens - _tokensPerCall));
        }
    }

    public void Entered() => Interlocked.Increment(ref _inFlight);

    public void Left() => Interlocked.Decrement(ref _inFlight);

    public void ObserveLatency(TimeSpan latency)
    {
        lock (_lock)
        {
            double s = latency.TotalSeconds;
            _latencySeconds = double.IsNaN(_latencySeconds) ? s : _latencySeconds + (LatencySmoothing * (s - _latencySeconds));
        }
    }
}
