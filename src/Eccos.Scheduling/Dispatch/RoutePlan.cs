namespace Eccos.Scheduling;

/// <summary>
/// What the router predicted for one request and where it may go: every model's predicted quality, cost and answer
/// length, which are eligible, and either a fixed model (pinned, or the conversation's) or a ranking by score at the
/// current prices, computed again whenever the request is admitted.
/// </summary>
internal sealed class RoutePlan
{
    private RoutePlan(EccosRouteReason reason, EccosCandidate[] candidates, double[] quality, double[] cost, bool[] eligible, int[] tokens, EccosPrices? prices, int fixedModel)
    {
        Reason = reason;
        Candidates = candidates;
        Quality = quality;
        Cost = cost;
        Eligible = eligible;
        Tokens = tokens;
        Prices = prices;
        FixedModel = fixedModel;
    }

    public EccosRouteReason Reason { get; }

    /// <summary>Gets every model with its predictions, in pool order; empty when the request was not scored.</summary>
    public EccosCandidate[] Candidates { get; }

    public double[] Quality { get; }

    public double[] Cost { get; }

    public bool[] Eligible { get; }

    /// <summary>Gets, per model, the tokens a call reserves against token limits: prompt plus predicted answer.</summary>
    public int[] Tokens { get; }

    /// <summary>Gets the prices the request was first scored with; <see langword="null"/> before the first solve.</summary>
    public EccosPrices? Prices { get; }

    /// <summary>Gets the only model the request may go to (pinned or conversation-bound), or -1.</summary>
    public int FixedModel { get; }

    /// <summary>Gets or sets the admission a joint batch solve already holds for the first try, or null.</summary>
    public Grant? PreGranted { get; set; }

    /// <summary>A plan bound to one model (pinned, or holding the conversation): not scored, not failed over.</summary>
    public static RoutePlan Fixed(EccosRouteReason reason, int model, int models, int inputTokens, EccosPrices? prices)
    {
        var eligible = new bool[models];
        eligible[model] = true;
        int[] tokens = new int[models];
        Array.Fill(tokens, inputTokens);
        return new RoutePlan(reason, [], new double[models], new double[models], eligible, tokens, prices, model);
    }

    /// <summary>Plans one predicted row: candidates for the decision, and what ranking needs.</summary>
    public static RoutePlan Scored(
        EccosRouteReason reason, PoolMember[] pool, int inputTokens, ReadOnlySpan<double> quality, ReadOnlySpan<double> cost,
        ReadOnlySpan<double> outputTokens, ReadOnlySpan<bool> eligible, EccosPrices? prices)
    {
        int m = pool.Length;
        var candidates = new EccosCandidate[m];
        Span<double> scores = stackalloc double[m];
        if (prices is not null)
        {
            Pricing.Score(quality, cost, eligible, prices, scores);
        }

        int[] tokens = new int[m];
        for (int j = 0; j < m; j++)
        {
            candidates[j] = new EccosCandidate(pool[j].Name, quality[j], cost[j], prices is null ? double.NaN : scores[j], eligible[j])
            {
                Health = pool[j].Health.State,
            };
            tokens[j] = (int)Math.Min(int.MaxValue, inputTokens + Math.Ceiling(outputTokens[j]));
        }

        return new RoutePlan(reason, candidates, quality.ToArray(), cost.ToArray(), eligible.ToArray(), tokens, prices, -1);
    }

    /// <summary>
    /// Writes the models not yet tried, best first — by score at <paramref name="prices"/>, or by the threshold rule
    /// before any — into <paramref name="order"/>; returns how many.
    /// </summary>
    public int Rank(ReadOnlySpan<bool> tried, EccosPrices? prices, double target, Span<int> order)
    {
        if (FixedModel >= 0)
        {
            if (tried[FixedModel])
            {
                return 0;
            }

            order[0] = FixedModel;
            return 1;
        }

        int m = Eligible.Length;
        Span<bool> open = stackalloc bool[m];
        for (int j = 0; j < m; j++)
        {
            open[j] = Eligible[j] && !tried[j];
        }

        if (prices is null)
        {
            return Pricing.OrderByThreshold(Quality, Cost, open, target, order);
        }

        Span<double> scores = stackalloc double[m];
        Pricing.Score(Quality, Cost, open, prices, scores);
        return Pricing.OrderByScore(scores, open, order);
    }
}
