namespace Eccos.Scheduling;

/// <summary>
/// Scoring with dual prices: a request's score on model j is <c>c_j − λ·a_j/N + μ_j</c>, the reduced cost of the
/// Lagrangian relaxation of <c>min Σ c_ij x_ij</c> s.t. <c>(1/N) Σ a_ij x_ij ≥ α</c> and the capacities.
/// </summary>
internal static class Pricing
{
    private const int BisectionSteps = 60;
    private const int BracketSteps = 80;

    /// <summary>Computes the score of every model for one request (NaN where ineligible).</summary>
    public static void Score(ReadOnlySpan<double> quality, ReadOnlySpan<double> cost, ReadOnlySpan<bool> eligible, EccosPrices prices, Span<double> scores)
    {
        double perQuery = prices.QualityPrice / Math.Max(1, prices.WindowSize);
        double[] mu = prices.CapacityPricesArray;
        for (int j = 0; j < scores.Length; j++)
        {
            scores[j] = eligible[j] ? Reduced(cost[j], quality[j], perQuery, mu[j]) : double.NaN;
        }
    }

    /// <summary>
    /// <c>c − (λ/N)·a + μ</c>. λ = +∞ (the solver's "target out of reach: quality only") scores <c>−a</c>; μ = +∞
    /// (a model the solve could not fit more into) scores +∞, last but still a failover candidate.
    /// </summary>
    public static double Reduced(double cost, double quality, double perQuery, double mu)
    {
        if (double.IsPositiveInfinity(mu))
        {
            return double.PositiveInfinity;
        }

        return (double.IsPositiveInfinity(perQuery) ? -quality : cost - (perQuery * quality)) + mu;
    }

    /// <summary>Orders the eligible models by ascending score (ties: pool order).</summary>
    public static int[] OrderByScore(ReadOnlySpan<double> scores, ReadOnlySpan<bool> eligible)
    {
        int[] order = new int[CountEligible(eligible)];
        Order(eligible, new ByScore(scores), order);
        return order;
    }

    /// <summary>Orders the eligible models by ascending score into <paramref name="order"/>; returns how many.</summary>
    public static int OrderByScore(ReadOnlySpan<double> scores, ReadOnlySpan<bool> eligible, Span<int> order) =>
        Order(eligible, new ByScore(scores), order);

    /// <summary>
    /// The order before any solve (the threshold rule): models whose predicted quality reaches α, cheapest first,
    /// then the others, best quality first. Each request then meets α on its own predictions whenever some model can.
    /// </summary>
    public static int[] OrderByThreshold(ReadOnlySpan<double> quality, ReadOnlySpan<double> cost, ReadOnlySpan<bool> eligible, double alpha)
    {
        int[] order = new int[CountEligible(eligible)];
        Order(eligible, new ByThreshold(quality, cost, alpha), order);
        return order;
    }

    /// <summary>The threshold order into <paramref name="order"/>; returns how many.</summary>
    public static int OrderByThreshold(ReadOnlySpan<double> quality, ReadOnlySpan<double> cost, ReadOnlySpan<bool> eligible, double alpha, Span<int> order) =>
        Order(eligible, new ByThreshold(quality, cost, alpha), order);

    /// <summary>
    /// Returns the quality price to score with: <paramref name="solverPrice"/> when the argmin policy at that price
    /// (with <paramref name="capacityPrices"/>) meets α on the window's predictions; otherwise the smallest price that
    /// does, found by bisection (or, when α is out of reach, a price high enough that every request takes its best
    /// model).
    /// </summary>
    public static double FitQualityPrice(PredictionMatrix window, ReadOnlySpan<double> capacityPrices, double solverPrice, double alpha)
    {
        if (double.IsPositiveInfinity(solverPrice))
        {
            return solverPrice; // the solver found α out of reach: quality only
        }

        double lo = double.IsFinite(solverPrice) && solverPrice > 0 ? solverPrice : 0;
        if (MeanQualityAt(window, capacityPrices, lo) >= alpha - 1e-12)
        {
            return lo;
        }

        double maxCost = 0;
        foreach (double c in window.Cost)
        {
            maxCost = Math.Max(maxCost, c);
        }

        double hi = Math.Max(lo * 2, Math.Max(maxCost, 1e-9) * window.QueryCount);
        int grow = 0;
        while (MeanQualityAt(window, capacityPrices, hi) < alpha - 1e-12)
        {
            if (++grow > BracketSteps)
            {
                return hi; // α out of reach: every request takes its best model at this price
            }

            lo = hi;
            hi *= 4;
        }

        for (int step = 0; step < BisectionSteps && hi - lo > 1e-12 * hi; step++)
        {
            double mid = lo + ((hi - lo) / 2);
            if (MeanQualityAt(window, capacityPrices, mid) >= alpha - 1e-12)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return hi;
    }

    /// <summary>The mean predicted quality when every query of the window takes its argmin model at price λ.</summary>
    public static double MeanQualityAt(PredictionMatrix window, ReadOnlySpan<double> capacityPrices, double lambda)
    {
        int n = window.QueryCount, m = window.ModelCount;
        if (n == 0)
        {
            return 1;
        }

        ReadOnlySpan<double> q = window.Quality, c = window.Cost;
        ReadOnlySpan<bool> e = window.Eligible;
        double perQuery = lambda / n;
        double sum = 0;
        for (int i = 0, row = 0; i < n; i++, row += m)
        {
            double best = double.NaN, bestQ = 0;
            for (int j = 0; j < m; j++)
            {
                if (!e[row + j])
                {
                    continue;
                }

                double s = Reduced(c[row + j], q[row + j], perQuery, capacityPrices.IsEmpty ? 0 : capacityPrices[j]);
                if (double.IsNaN(best) || s < best)
                {
                    best = s;
                    bestQ = q[row + j];
                }
            }

            sum += bestQ;
        }

        return sum / n;
    }

    /// <summary>Insertion sort of the eligible models (M is small) by a "goes before" rule.</summary>
    private static int Order<TRule>(ReadOnlySpan<bool> eligible, TRule rule, Span<int> order)
        where TRule : IOrderRule, allows ref struct
    {
        int n = 0;
        for (int j = 0; j < eligible.Length; j++)
        {
            if (!eligible[j])
            {
                continue;
            }

            int k = n++;
            while (k > 0 && rule.Before(j, order[k - 1]))
            {
                order[k] = order[k - 1];
                k--;
            }

            order[k] = j;
        }

        return n;
    }

    private static int CountEligible(ReadOnlySpan<bool> eligible)
    {
        int count = 0;
        foreach (bool e in eligible)
        {
            count += e ? 1 : 0;
        }

        return count;
    }

    private interface IOrderRule
    {
        bool Before(int a, int b);
    }

    private readonly ref struct ByScore(ReadOnlySpan<double> scores) : IOrderRule
    {
        private readonly ReadOnlySpan<double> _scores = scores;

        public bool Before(int a, int b) => _scores[a] < _scores[b];
    }

    private readonly ref struct ByThreshold(ReadOnlySpan<double> quality, ReadOnlySpan<double> cost, double alpha) : IOrderRule
    {
        private readonly ReadOnlySpan<double> _quality = quality;
        private readonly ReadOnlySpan<double> _cost = cost;

        public bool Before(int a, int b)
        {
            bool aMeets = _quality[a] >= alpha, bMeets = _quality[b] >= alpha;
            if (aMeets != bMeets)
            {
                return aMeets;
            }

            return aMeets || _quality[a] == _quality[b] ? _cost[a] < _cost[b] : _quality[a] > _quality[b];
        }
    }
}
