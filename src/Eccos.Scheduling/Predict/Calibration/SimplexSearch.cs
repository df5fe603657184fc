namespace Eccos.Scheduling;

/// <summary>
/// Minimizes a function over the probability simplex (non-negative weights summing to 1): an exhaustive grid of
/// multiples of 1/R, then pairwise mass transfers with a halving step from the best grid point. Exact enough for the
/// convex losses of a blend (Brier, log-loss, MAE), where the grid start keeps the local search out of kinks.
/// </summary>
internal static class SimplexSearch
{
    public const int MaxGridPoints = 5000;
    public const double FinalStep = 1e-4;

    public static double[] Minimize(int dimensions, Func<double[], double> loss, int resolution, CancellationToken cancellationToken)
    {
        if (dimensions == 1)
        {
            return [1.0];
        }

        while (resolution > 1 && GridSize(resolution, dimensions) > MaxGridPoints)
        {
            resolution--;
        }

        double[] best = new double[dimensions];
        double bestLoss = double.PositiveInfinity;
        int[] counts = new int[dimensions];
        double[] w = new double[dimensions];
        Enumerate(0, resolution);

        // Local refinement: move `step` of weight from one component to another while that lowers the loss.
        for (double step = 1.0 / resolution / 2; step >= FinalStep; step /= 2)
        {
            for (int sweep = 0; sweep < 1000; sweep++)
            {
                bool improved = false;
                for (int from = 0; from < dimensions; from++)
                {
                    for (int to = 0; to < dimensions; to++)
                    {
                        if (from == to || best[from] <= 0)
                        {
                            continue;
                        }

                        best.CopyTo(w, 0);
                        double t = Math.Min(step, w[from]);
                        w[from] -= t;
                        w[to] += t;
                        double l = loss(w);
                        if (l < bestLoss - 1e-15)
                        {
                            bestLoss = l;
                            w.CopyTo(best, 0);
                            improved = true;
                        }
                    }
                }

                if (!improved)
                {
                    break;
                }
            }
        }

        return best;

        void Enumerate(int k, int remaining)
        {
            if (k == dimensions - 1)
            {
                counts[k] = remaining;
                cancellationToken.ThrowIfCancellationRequested();
                for (int i = 0; i < dimensions; i++)
                {
                    w[i] = (double)counts[i] / resolution;
                }

                double l = loss(w);
                if (l < bestLoss)
                {
                    bestLoss = l;
                    w.CopyTo(best, 0);
                }

                return;
            }

            for (int c = remaining; c >= 0; c--)
            {
                counts[k] = c;
                Enumerate(k + 1, remaining - c);
            }
        }
    }

    /// <summary>The number of grid points: C(resolution + dimensions − 1, dimensions − 1), saturating.</summary>
    private static double GridSize(int resolution, int dimensions)
    {
        double size = 1;
        for (int i = 1; i < dimensions; i++)
        {
            size = size * (resolution + i) / i;
        }

        return size;
    }
}
