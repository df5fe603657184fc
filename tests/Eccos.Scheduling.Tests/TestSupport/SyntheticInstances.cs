namespace Eccos.Scheduling.Tests.TestSupport;

/// <summary>
/// Seeded synthetic assignment problems for the solver tests and benchmarks (this one file is linked into the
/// benchmark project). Everything is made from the seed alone: no shared data is read.
/// </summary>
internal static class SyntheticInstances
{
    /// <summary>
    /// An instance shaped like recorded LLM outcomes: M models whose output prices span 50× (log-spaced, the
    /// stronger models dearer on average), predicted quality a_ij in [0.2, 0.9] from model skill minus query
    /// difficulty, per-query prompt lengths and per-model answer lengths, and the target α halfway between the
    /// cheapest and the best assignment's mean quality.
    /// </summary>
    /// <param name="n">Queries.</param>
    /// <param name="m">Models (at least 2).</param>
    /// <param name="seed">The seed.</param>
    /// <param name="bindingCapacities">
    /// Whether the two cheapest models get capacities that bind: each may take at most half the queries it takes at
    /// the optimum without capacities.
    /// </param>
    /// <param name="alphaPosition">Where α lies between the cheapest (0) and the best (1) mean quality.</param>
    public static (PredictionMatrix Predictions, AssignmentConstraints Constraints) Realistic(
        int n, int m, int seed, bool bindingCapacities = true, double alphaPosition = 0.5)
    {
        var rng = new Random(seed);
        var models = new ModelProfile[m];
        var skill = new double[m];
        var price = new double[m];
        var verbosity = new double[m];
        for (int j = 0; j < m; j++)
        {
            // output prices log-spaced from 0.1 to 5 per 1M tokens: a 50× span
            double position = m == 1 ? 0 : j / (double)(m - 1);
            price[j] = 0.1 * Math.Pow(50, position);
            skill[j] = -0.6 + (2.2 * position) + (0.8 * (rng.NextDouble() - 0.5));
            verbosity[j] = 0.6 + rng.NextDouble();
            models[j] = new ModelProfile($"model-{j:D2}", price[j] * (0.25 + (0.5 * rng.NextDouble())), price[j]);
        }

        var predictions = new PredictionMatrix(n, models);
        Span<double> quality = predictions.Quality;
        Span<double> cost = predictions.Cost;
        Span<double> output = predictions.OutputTokens;
        double cheapMean = 0;
        double bestMean = 0;
        for (int i = 0; i < n; i++)
        {
            double difficulty = Normal(rng);
            double inputTokens = 80 + (400 * rng.NextDouble());
            double length = Math.Exp(5 + (0.6 * Normal(rng)));
            int cheapest = 0;
            double bestA = 0;
            for (int j = 0; j < m; j++)
            {
                int k = (i * m) + j;
                double z = skill[j] - difficulty + (0.5 * Normal(rng));
                quality[k] = 0.2 + (0.7 / (1 + Math.Exp(-z)));
                output[k] = length * verbosity[j] * Math.Exp(0.3 * Normal(rng));
                cost[k] = models[j].CostOf(inputTokens, output[k]);
                if (cost[k] < cost[(i * m) + cheapest])
                {
                    cheapest = j;
                }

                bestA = Math.Max(bestA, quality[k]);
            }

            cheapMean += quality[(i * m) + cheapest];
            bestMean += bestA;
        }

        cheapMean /= Math.Max(1, n);
        bestMean /= Math.Max(1, n);
        double alpha = cheapMean + (alphaPosition * (bestMean - cheapMean));
        int[]? caps = null;
        if (bindingCapacities)
        {
            // the two cheapest models may take half of what they take at the optimum without capacities (found here
            // by bisection on the quality price, independently of the solvers under test)
            int[] free = LoadsWithoutCapacities(predictions, alpha);
            caps = new int[m];
            Array.Fill(caps, AssignmentConstraints.Unlimited);
            int[] byPrice = Enumerable.Range(0, m).OrderBy(j => price[j]).ToArray();
            for (int r = 0; r < Math.Min(2, m - 1); r++)
            {
                int j = byPrice[r];
                caps[j] = Math.Max(1, free[j] / 2);
            }
        }

        var constraints = new AssignmentConstraints
        {
            QualityTarget = alpha,
            Capacities = caps,
        };
        return (predictions, constraints);
    }

    /// <summary>
    /// A small random instance for property tests: uniform quality and cost (costs spanning about 50×), optional
    /// random ineligibility (never leaving a query without a model) and optional capacities that bind.
    /// </summary>
    /// <param name="seed">The seed.</param>
    /// <param name="n">Queries.</param>
    /// <param name="m">Models.</param>
    /// <param name="withCapacities">Whether to draw capacities (unlimited or from 1 to about 2·n/m, so that some bind).</param>
    /// <param name="ineligible">The probability that a pair is ineligible.</param>
    /// <param name="coarse">
    /// Whether to round quality to steps of 0.25 and cost to 0.001 and let capacities be 0: many exact ties, the hard
    /// case for a Lagrangian method.
    /// </param>
    /// <returns>The predictions and the capacities (<see langword="null"/> without).</returns>
    public static (PredictionMatrix Predictions, int[]? Capacities) Small(int seed, int n, int m, bool withCapacities = true, double ineligible = 0, bool coarse = false)
    {
        var rng = new Random(seed);
        var models = Enumerable.Range(0, m).Select(j => new ModelProfile($"m{j}", 1, 1)).ToArray();
        var p = new PredictionMatrix(n, models);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double strength = (j + 1.0) / m;
                double quality = Math.Clamp((0.15 + (0.7 * strength)) + (0.3 * (rng.NextDouble() - 0.5)), 0, 1);
                double cost = 0.001 * Math.Pow(50, strength * rng.NextDouble());
                p.Set(i, j, coarse ? Math.Round(quality * 4) / 4 : quality, coarse ? Math.Round(cost, 3) : cost);
                if (rng.NextDouble() < ineligible)
                {
                    p.EligibleRow(i)[j] = false;
                }
            }

            if (!p.EligibleRow(i).Contains(true))
            {
                p.EligibleRow(i)[rng.Next(m)] = true;
            }
        }

        int[]? capacities = null;
        if (withCapacities)
        {
            capacities = new int[m];
            for (int j = 0; j < m; j++)
            {
                capacities[j] = rng.NextDouble() < 0.3 ? AssignmentConstraints.Unlimited : (coarse ? 0 : 1) + rng.Next(Math.Max(1, (2 * n) / m));
            }
        }

        return (p, capacities);
    }

    private static int[] LoadsWithoutCapacities(PredictionMatrix p, double alpha)
    {
        int n = p.QueryCount;
        int m = p.ModelCount;
        var load = new int[m];
        double lo = 0;
        double hi = 1;
        while (MeanQuality(p, hi, load) < alpha && hi < 1e12)
        {
            hi *= 2;
        }

        for (int k = 0; k < 60; k++)
        {
            double mid = 0.5 * (lo + hi);
            if (MeanQuality(p, mid, load) >= alpha)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        MeanQuality(p, hi, load);
        return load;

        static double MeanQuality(PredictionMatrix p, double price, int[] load)
        {
            Array.Clear(load);
            int m = p.ModelCount;
            double sum = 0;
            for (int i = 0; i < p.QueryCount; i++)
            {
                ReadOnlySpan<double> a = p.QualityRow(i);
                ReadOnlySpan<double> c = p.CostRow(i);
                int best = 0;
                for (int j = 1; j < m; j++)
                {
                    if (c[j] - (price * a[j]) < c[best] - (price * a[best]))
                    {
                        best = j;
                    }
                }

                load[best]++;
                sum += a[best];
            }

            return sum / Math.Max(1, p.QueryCount);
        }
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public static double Normal(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
