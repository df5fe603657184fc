using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>One model of the router's pool: its client, its profile, its admission gate and its observed latency.</summary>
internal sealed class PoolMember
{
    private const double LatencySmoothing = 0.1;
    private readonly object _lock = new();
    private double _latencySeconds = double.NaN;

    public PoolMember(int index, IChatClient client, ModelProfile profile, bool ownsClient, string? modelId, int maxQueue)
    {
        Index = index;
        Client = client;
        Profile = profile;
        OwnsClient = ownsClient;
        ModelId = modelId;
        Gate = new ModelGate(profile.Capacity ?? int.MaxValue, maxQueue);
    }

    public int Index { get; }

    public string Name => Profile.Name;

    public IChatClient Client { get; }

    public ModelProfile Profile { get; }

    public bool OwnsClient { get; }

    /// <summary>Gets the model id put into <see cref="ChatOptions.ModelId"/> for this model, if any.</summary>
    public string? ModelId { get; }

    public ModelGate Gate { get; }

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

    public void ObserveLatency(TimeSpan latency)
    {
        lock (_lock)
        {
            double s = latency.TotalSeconds;
            _latencySeconds = double.IsNaN(_latencySeconds) ? s : _latencySeconds + (LatencySmoothing * (s - _latencySeconds));
        }
    }
}

/// <summary>Where a request may go, best first, and what the router predicted for it.</summary>
internal sealed class RoutePlan
{
    public RoutePlan(EccosRouteReason reason, int[] order, EccosCandidate[] candidates, EccosPrices? prices, int preAcquired = -1)
    {
        Reason = reason;
        Order = order;
        Candidates = candidates;
        Prices = prices;
        PreAcquired = preAcquired;
    }

    public EccosRouteReason Reason { get; }

    /// <summary>Gets the eligible models, best first.</summary>
    public int[] Order { get; }

    /// <summary>Gets every model with its predictions, in pool order; empty when the request was not scored.</summary>
    public EccosCandidate[] Candidates { get; }

    public EccosPrices? Prices { get; }

    /// <summary>Gets the model whose slot is already held for the first try (batched mode), or -1.</summary>
    public int PreAcquired { get; }

    public static EccosCandidate[] BuildCandidates(IReadOnlyList<ModelProfile> models, ReadOnlySpan<double> quality, ReadOnlySpan<double> cost, ReadOnlySpan<bool> eligible, ReadOnlySpan<double> scores)
    {
        var candidates = new EccosCandidate[models.Count];
        for (int j = 0; j < candidates.Length; j++)
        {
            candidates[j] = new EccosCandidate(models[j].Name, quality[j], cost[j], scores.IsEmpty ? double.NaN : scores[j], eligible[j]);
        }

        return candidates;
    }

    /// <summary>Scores one predicted row at <paramref name="prices"/> (or by the threshold rule before any) into a plan.</summary>
    public static RoutePlan Score(EccosRouteReason reason, IReadOnlyList<ModelProfile> models, ReadOnlySpan<double> quality, ReadOnlySpan<double> cost, ReadOnlySpan<bool> eligible, EccosPrices? prices, double alpha, int preAcquired = -1)
    {
        int[] order;
        EccosCandidate[] candidates;
        if (prices is null)
        {
            order = Pricing.OrderByThreshold(quality, cost, eligible, alpha);
            candidates = BuildCandidates(models, quality, cost, eligible, default);
        }
        else
        {
            Span<double> scores = stackalloc double[models.Count];
            Pricing.Score(quality, cost, eligible, prices, scores);
            order = Pricing.OrderByScore(scores, eligible);
            candidates = BuildCandidates(models, quality, cost, eligible, scores);
        }

        if (preAcquired >= 0 && order.Length > 0 && order[0] != preAcquired)
        {
            // the joint solve chose this model: it goes first, the rest keep their order for failover
            int at = Array.IndexOf(order, preAcquired);
            if (at > 0)
            {
                Array.Copy(order, 0, order, 1, at);
                order[0] = preAcquired;
            }
        }

        return new RoutePlan(reason, order, candidates, prices, preAcquired);
    }
}
