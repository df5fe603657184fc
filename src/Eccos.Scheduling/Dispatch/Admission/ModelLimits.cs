using System.Threading.RateLimiting;

namespace Eccos.Scheduling;

/// <summary>What a limiter counts: calls in flight, requests, or tokens.</summary>
public enum EccosLimitKind
{
    /// <summary>Calls in flight: one permit per call, held until the call ends.</summary>
    Concurrency,

    /// <summary>Requests: one permit per call, spent when the call is admitted.</summary>
    Requests,

    /// <summary>Tokens: the call's prompt tokens plus its predicted output tokens, settled to its reported usage.</summary>
    Tokens,
}

/// <summary>A limiter and what it counts; shared by the models of a group.</summary>
internal sealed record LimiterSlot(RateLimiter Limiter, EccosLimitKind Kind, string Name);

/// <summary>
/// Every limit one model is admitted through: its concurrency (<see cref="ModelProfile.Capacity"/>), its own and its
/// group's requests and tokens per window, a learned request rate (from throttling), and any
/// <see cref="RateLimiter"/> supplied for it or its group. A call is admitted only when all of them grant it.
/// </summary>
/// <remarks>
/// Thread-safe: the router admits under its dispatch lock, and each limiter synchronizes itself. Limiters never queue
/// here (the router keeps one queue for all models, so a waiting request takes whichever model frees first).
/// </remarks>
internal sealed class ModelLimits
{
    private readonly LimiterSlot[] _slots;

    public ModelLimits(LimiterSlot[] slots, WindowLimiter learned)
    {
        _slots = slots;
        Learned = learned;
        HasTokenLimit = slots.Any(s => s.Kind == EccosLimitKind.Tokens);
    }

    /// <summary>Gets the learned request rate (unlimited until the model is throttled without configured limits).</summary>
    public WindowLimiter Learned { get; }

    public bool HasTokenLimit { get; }

    /// <summary>Gets the fewest requests a window admits (own, group and learned limits; supplied limiters are not known), or null.</summary>
    public long? RequestsPerWindow => Smallest(EccosLimitKind.Requests, Learned.Limit);

    /// <summary>Gets the fewest tokens a window admits (own and group limits), or null.</summary>
    public long? TokensPerWindow => Smallest(EccosLimitKind.Tokens, long.MaxValue);

    public IReadOnlyList<LimiterSlot> Slots => _slots;

    /// <summary>
    /// Admits one call that reserves <paramref name="tokens"/> tokens, or returns why not: the limit that refused and,
    /// for a rate, when to try again (null: when a call ends).
    /// </summary>
    public Admitted? TryAdmit(int tokens, out string? refusedBy, out TimeSpan? retryAfter)
    {
        refusedBy = null;
        retryAfter = null;
        RateLimitLease? concurrency = null;
        List<(LimiterSlot Slot, RateLimitLease Lease)>? spent = null;

        // Own rates first check without spending (the permits of a limit that grants would be lost if a later one
        // refused), in one reading each: a check and a separate probe could straddle the moment a window moves on.
        foreach (LimiterSlot slot in _slots)
        {
            if (slot.Kind != EccosLimitKind.Concurrency && slot.Limiter is WindowLimiter own && !own.WouldGrant(Permits(slot, tokens), out TimeSpan wait))
            {
                refusedBy = slot.Name;
                retryAfter = wait;
                return null;
            }
        }

        if (Learned.Limit != long.MaxValue && !Learned.WouldGrant(1, out TimeSpan learnedWait))
        {
            refusedBy = "learned request rate";
            retryAfter = learnedWait;
            return null;
        }

        foreach (LimiterSlot slot in _slots)
        {
            RateLimitLease lease;
            try
            {
                lease = slot.Limiter.AttemptAcquire(Permits(slot, tokens));
            }
            catch (ArgumentOutOfRangeException e)
            {
                // A supplied limiter whose whole limit is below what this call needs (the runtime's limiters throw
                // then): no wait would help.
                GiveBack(concurrency, spent, tokens);
                throw new LimitTooSmallException(
                    $"{char.ToUpperInvariant(slot.Name[0])}{slot.Name[1..]} can never grant the {Permits(slot, tokens)} permits one call needs: its limit is lower.", e);
            }

            if (!lease.IsAcquired)
            {
                refusedBy = slot.Name;
                retryAfter = slot.Kind == EccosLimitKind.Concurrency ? null : RetryAfter(lease) ?? TimeSpan.FromMilliseconds(100);
                lease.Dispose();
                GiveBack(concurrency, spent, tokens);
                return null;
            }

            if (slot.Kind == EccosLimitKind.Concurrency)
            {
                concurrency = concurrency is null ? lease : new CombinedLease(concurrency, lease); // own and group: hold both
            }
            else
            {
                (spent ??= []).Add((slot, lease));
            }
        }

        // Counted always (it cannot refuse now: admission runs under the router's dispatch lock), so that the first
        // throttle knows the rate the model took.
        Learned.AttemptAcquire(1).Dispose();
        return new Admitted(concurrency, spent, tokens);
    }

    /// <summary>Gives back what the limits before a refusal granted (own limiters can; a supplied one keeps its permits).</summary>
    private static void GiveBack(RateLimitLease? concurrency, List<(LimiterSlot Slot, RateLimitLease Lease)>? spent, int tokens)
    {
        concurrency?.Dispose();
        foreach ((LimiterSlot taken, RateLimitLease given) in spent ?? [])
        {
            (taken.Limiter as WindowLimiter)?.Settle(given, -Permits(taken, tokens));
            given.Dispose();
        }
    }

    private long? Smallest(EccosLimitKind kind, long start)
    {
        long least = start;
        foreach (LimiterSlot slot in _slots)
        {
            if (slot.Kind == kind && slot.Limiter is WindowLimiter own)
            {
                least = Math.Min(least, own.Limit);
            }
        }

        return least == long.MaxValue ? null : least;
    }

    private static int Permits(LimiterSlot slot, int tokens) => slot.Kind == EccosLimitKind.Tokens ? Math.Max(1, tokens) : 1;

    private static TimeSpan? RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retry) ? retry : null;

    /// <summary>Two concurrency leases released together.</summary>
    private sealed class CombinedLease(RateLimitLease first, RateLimitLease second) : RateLimitLease
    {
        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                first.Dispose();
                second.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// One admitted call: the concurrency lease it holds until it ends, and the rate leases it spent, of which token
/// reservations are settled to the reported usage.
/// </summary>
/// <remarks>Dispose exactly once (the router does, when the try ends); settling and disposing are not thread-safe together.</remarks>
internal sealed class Admitted(RateLimitLease? concurrency, List<(LimiterSlot Slot, RateLimitLease Lease)>? spent, int reservedTokens) : IDisposable
{
    private int _disposed;

    public int ReservedTokens { get; } = reservedTokens;

    /// <summary>Moves token reservations to <paramref name="usedTokens"/>: own limiters adjust; others are charged any excess.</summary>
    public void Settle(int usedTokens)
    {
        if (spent is null || usedTokens == ReservedTokens)
        {
            return;
        }

        long delta = (long)usedTokens - ReservedTokens;
        foreach ((LimiterSlot slot, RateLimitLease lease) in spent)
        {
            if (slot.Kind != EccosLimitKind.Tokens)
            {
                continue;
            }

            if (slot.Limiter is WindowLimiter own)
            {
                own.Settle(lease, delta);
            }
            else if (delta > 0)
            {
                slot.Limiter.AttemptAcquire((int)Math.Min(int.MaxValue, delta)).Dispose(); // a supplied limiter: charge the excess (refunds are not possible)
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        concurrency?.Dispose();
        if (spent is not null)
        {
            foreach ((LimiterSlot _, RateLimitLease lease) in spent)
            {
                lease.Dispose();
            }
        }
    }
}

/// <summary>A limit that can never admit a call: the call fails (no wait would help), naming the limit.</summary>
internal sealed class LimitTooSmallException(string message, Exception innerException) : InvalidOperationException(message, innerException);
