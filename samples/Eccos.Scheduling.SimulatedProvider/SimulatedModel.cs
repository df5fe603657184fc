namespace Eccos.Scheduling.Simulation;

/// <summary>
/// One model of a running <see cref="SimulatedProvider"/>: read its counters, or change how it behaves while it runs
/// (drift, outages, new limits). Get it from <see cref="SimulatedProvider.Model"/>.
/// </summary>
/// <remarks>
/// All members are thread-safe. A change made with <see cref="Configure"/> applies to requests that arrive after it;
/// a request reads the options once, on arrival, and keeps them to its end.
/// </remarks>
public sealed partial class SimulatedModel
{
    private readonly object _configureGate = new();
    private readonly TimeProvider _time;
    private readonly int _providerSeed;
    private SimulatedModelOptions _options;

    private long _received;
    private long _completed;
    private long _failed;
    private long _throttled;
    private long _cancelled;
    private int _inFlight;
    private int _maxInFlight;
    private int _active;
    private int _maxActive;
    private long _promptTokens;
    private long _completionTokens;

    internal SimulatedModel(string name, SimulatedModelOptions options, int providerSeed, TimeProvider time)
    {
        Name = name;
        _options = options;
        _providerSeed = providerSeed;
        _time = time;
        _random = new Random(SeedOf(options));
    }

    /// <summary>Gets the model's name.</summary>
    public string Name { get; }

    /// <summary>Gets a copy of the options now in force (changing the copy does nothing; use <see cref="Configure"/>).</summary>
    public SimulatedModelOptions Options => Volatile.Read(ref _options).Clone();

    /// <summary>The options now in force, shared: read-only for the server.</summary>
    internal SimulatedModelOptions Current => Volatile.Read(ref _options);

    /// <summary>
    /// Changes the model's behaviour: <paramref name="change"/> edits a copy of the current options, which is validated
    /// and then swapped in atomically. Concurrent calls apply one after another.
    /// </summary>
    /// <param name="change">Edits the copy.</param>
    /// <exception cref="ArgumentOutOfRangeException">The edited options are invalid (named in the message); nothing changes.</exception>
    public void Configure(Action<SimulatedModelOptions> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_configureGate)
        {
            SimulatedModelOptions copy = Current.Clone();
            change(copy);
            copy.Validate(Name);
            Volatile.Write(ref _options, copy);
        }
    }

    /// <summary>Gets a snapshot of the model's counters.</summary>
    /// <returns>The counters, each exact.</returns>
    public SimulatedModelStats Stats() => new(
        Interlocked.Read(ref _received),
        Interlocked.Read(ref _completed),
        Interlocked.Read(ref _failed),
        Interlocked.Read(ref _throttled),
        Interlocked.Read(ref _cancelled),
        Volatile.Read(ref _inFlight),
        Volatile.Read(ref _maxInFlight),
        Volatile.Read(ref _active),
        Volatile.Read(ref _maxActive),
        Interlocked.Read(ref _promptTokens),
        Interlocked.Read(ref _completionTokens));

    /// <summary>
    /// Zeroes the counters (the maxima start again from what is in flight now), empties the rate windows and re-seeds
    /// the random numbers. Requests in flight go on and are counted when they end.
    /// </summary>
    internal void Reset()
    {
        lock (_admissionGate)
        {
            _window.Clear();
            _tokensInWindow = 0;
            _sequence = 0;
            _random = new Random(SeedOf(Current));
            Interlocked.Exchange(ref _received, 0);
            Interlocked.Exchange(ref _completed, 0);
            Interlocked.Exchange(ref _failed, 0);
            Interlocked.Exchange(ref _throttled, 0);
            Interlocked.Exchange(ref _cancelled, 0);
            Interlocked.Exchange(ref _promptTokens, 0);
            Interlocked.Exchange(ref _completionTokens, 0);
            Interlocked.Exchange(ref _maxInFlight, Volatile.Read(ref _inFlight));
            Interlocked.Exchange(ref _maxActive, Volatile.Read(ref _active));
        }
    }

    /// <summary>Counts a request naming the model in; <see cref="RequestTicket.Settle"/> counts it out.</summary>
    internal RequestTicket Arrive()
    {
        Interlocked.Increment(ref _received);
        RaiseMax(ref _maxInFlight, Interlocked.Increment(ref _inFlight));
        return new RequestTicket(this);
    }

    private int SeedOf(SimulatedModelOptions options) => options.Seed ?? HashCode32(Name) ^ _providerSeed;

    /// <summary>FNV-1a of the name: stable across processes, unlike string.GetHashCode.</summary>
    private static int HashCode32(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return unchecked((int)hash);
    }

    private static void RaiseMax(ref int max, int value)
    {
        int seen = Volatile.Read(ref max);
        while (value > seen)
        {
            int previous = Interlocked.CompareExchange(ref max, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }

    /// <summary>
    /// One request's passage through the counters: settled exactly once, by the first <see cref="Settle"/> (later calls
    /// are ignored), which ends its in-flight (and, if admitted, active) time.
    /// </summary>
    internal sealed class RequestTicket(SimulatedModel model)
    {
        private int _settled;

        internal bool Admitted { get; set; }

        internal bool IsSettled => Volatile.Read(ref _settled) != 0;

        internal void Settle(RequestOutcome outcome, int promptTokens = 0, int completionTokens = 0)
        {
            if (Interlocked.Exchange(ref _settled, 1) != 0)
            {
                return;
            }

            switch (outcome)
            {
                case RequestOutcome.Completed:
                    Interlocked.Add(ref model._promptTokens, promptTokens);
                    Interlocked.Add(ref model._completionTokens, completionTokens);
                    Interlocked.Increment(ref model._completed);
                    break;
                case RequestOutcome.Failed:
                    Interlocked.Increment(ref model._failed);
                    break;
                case RequestOutcome.Throttled:
                    Interlocked.Increment(ref model._throttled);
                    break;
                default:
                    Interlocked.Increment(ref model._cancelled);
                    break;
            }

            if (Admitted)
            {
                Interlocked.Decrement(ref model._active);
            }

            Interlocked.Decrement(ref model._inFlight);
        }
    }
}

/// <summary>How a request ended, for the counters.</summary>
internal enum RequestOutcome
{
    Completed,
    Failed,
    Throttled,
    Cancelled,
}
