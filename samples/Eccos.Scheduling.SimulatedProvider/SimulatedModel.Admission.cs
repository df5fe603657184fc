namespace Eccos.Scheduling.Simulation;

public sealed partial class SimulatedModel
{
    /// <summary>Guards the window, the random numbers and the sequence, so admission is one atomic decision.</summary>
    private readonly object _admissionGate = new();

    /// <summary>The admitted requests still in the sliding window: their timestamp and tokens, oldest first.</summary>
    private readonly Queue<(long Timestamp, int Tokens)> _window = new();

    private long _tokensInWindow;
    private long _sequence;
    private Random _random;

    /// <summary>
    /// Admits the request or says why not: the concurrency limit, then the request and token windows. An admitted
    /// request enters the window and the active count, and draws its jitter and fault from the model's random numbers
    /// (always two draws, so a sequence of requests repeats under the same seed).
    /// </summary>
    internal Admission Admit(RequestTicket ticket, SimulatedModelOptions options, int tokens)
    {
        lock (_admissionGate)
        {
            long now = _time.GetTimestamp();
            if (options.MaxConcurrency is int max && Volatile.Read(ref _active) >= max)
            {
                return Admission.Reject(new Rejection(options.ConcurrencyLimitStatusCode, options.RetryAfterWhenBusy, "requests", "concurrency_limit_exceeded",
                    $"Model '{Name}' serves at most {max} requests at once; retry later."));
            }

            while (_window.Count > 0 && _time.GetElapsedTime(_window.Peek().Timestamp, now) >= options.RateWindow)
            {
                _tokensInWindow -= _window.Dequeue().Tokens;
            }

            if (options.RequestsPerWindow is int requests && _window.Count >= requests)
            {
                TimeSpan wait = options.RateWindow - _time.GetElapsedTime(_window.Peek().Timestamp, now);
                return Admission.Reject(new Rejection(429, wait, "requests", "rate_limit_exceeded",
                    $"Rate limit reached for {Name}: limit {requests} requests per {options.RateWindow.TotalSeconds:0.###} s."));
            }

            if (options.TokensPerWindow is int limit && _tokensInWindow + tokens > limit)
            {
                return Admission.Reject(new Rejection(429, TokenWait(options, limit, tokens, now), "tokens", "rate_limit_exceeded",
                    $"Rate limit reached for {Name}: limit {limit} tokens per {options.RateWindow.TotalSeconds:0.###} s, used {_tokensInWindow}, requested {tokens}."));
            }

            _window.Enqueue((now, tokens));
            _tokensInWindow += tokens;
            ticket.Admitted = true;
            RaiseMax(ref _maxActive, Interlocked.Increment(ref _active));

            double faultDraw = _random.NextDouble();
            TimeSpan jitter = options.Jitter * _random.NextDouble();
            Fault fault = options.Hang ? Fault.Hang
                : faultDraw < options.FailureRate ? Fault.ServerError
                : faultDraw < options.FailureRate + options.ServiceUnavailableRate ? Fault.ServiceUnavailable
                : faultDraw < options.FailureRate + options.ServiceUnavailableRate + options.DropConnectionRate ? Fault.DropConnection
                : Fault.None;
            return new Admission(fault, jitter, _sequence++, null);
        }
    }

    /// <summary>How long until enough tokens have left the window for <paramref name="tokens"/> more (the window if never).</summary>
    private TimeSpan TokenWait(SimulatedModelOptions options, int limit, int tokens, long now)
    {
        long left = _tokensInWindow;
        foreach ((long timestamp, int spent) in _window)
        {
            left -= spent;
            if (left + tokens <= limit)
            {
                return options.RateWindow - _time.GetElapsedTime(timestamp, now);
            }
        }

        return options.RateWindow;
    }
}

/// <summary>What an admitted request is given instead of (or on the way to) its answer.</summary>
internal enum Fault
{
    None,
    Hang,
    ServerError,
    ServiceUnavailable,
    DropConnection,
}

/// <summary>Why a request was not admitted, as the error response says it.</summary>
internal sealed record Rejection(int StatusCode, TimeSpan RetryAfter, string Type, string Code, string Message);

/// <summary>The admission decision: a <see cref="Rejection"/>, or the fault, jitter and sequence number of an admitted request.</summary>
internal readonly record struct Admission(Fault Fault, TimeSpan Jitter, long Sequence, Rejection? Rejection)
{
    internal static Admission Reject(Rejection rejection) => new(Fault.None, TimeSpan.Zero, -1, rejection);
}
