namespace Eccos.Scheduling.Tests.Predict.Calibration;

/// <summary>
/// A small exact-enough solver for tests without capacities: the Lagrangian rule with a single multiplier. Each query
/// takes argmin_j c_ij − λ·a_ij; λ is bisected to the smallest value whose mean predicted quality meets the target.
/// Throws when a capacity is finite (it does not handle them).
/// </summary>
internal sealed class LambdaTestSolver : IAssignmentSolver
{
    public int Solves;

    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        constraints.Validate(predictions);
        Span<int> caps = new int[predictions.ModelCount];
        constraints.ResolveCapacities(predictions, caps);
        foreach (int c in caps)
        {
            if (c != AssignmentConstraints.Unlimited)
            {
                throw new NotSupportedException("LambdaTestSolver handles unlimited capacities only.");
            }
        }

        Interlocked.Increment(ref Solves);
        int n = predictions.QueryCount;
        var choice = new int[n];
        double target = constraints.QualityTarget;
        if (n == 0)
        {
            return new AssignmentResult(choice, 0, 0, 0, 0, AssignmentStatus.Optimal);
        }

        if (Pick(predictions, double.PositiveInfinity, choice) < target - 1e-12)
        {
            return Result(predictions, choice, AssignmentStatus.QualityTargetUnreachable);
        }

        double lo = 0, hi = 1e-12;
        if (Pick(predictions, 0, choice) >= target)
        {
            return Result(predictions, choice, AssignmentStatus.Feasible);
        }

        while (Pick(predictions, hi, choice) < target)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lo = hi;
            hi *= 2;
        }

        for (int it = 0; it < 60; it++)
        {
            double mid = (lo + hi) / 2;
            if (Pick(predictions, mid, choice) >= target)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        Pick(predictions, hi, choice);
        return Result(predictions, choice, AssignmentStatus.Feasible);
    }

    /// <summary>Each query takes argmin c − λ·a (λ = ∞: argmax a, cheapest among ties); returns the mean quality.</summary>
    private static double Pick(PredictionMatrix p, double lambda, int[] choice)
    {
        double sum = 0;
        for (int i = 0; i < p.QueryCount; i++)
        {
            ReadOnlySpan<double> a = p.QualityRow(i);
            ReadOnlySpan<double> c = p.CostRow(i);
            ReadOnlySpan<bool> e = p.EligibleRow(i);
            int best = -1;
            for (int j = 0; j < a.Length; j++)
            {
                if (!e[j])
                {
                    continue;
                }

                if (best < 0 || Better(lambda, a[j], c[j], a[best], c[best]))
                {
                    best = j;
                }
            }

            choice[i] = best;
            sum += a[best];
        }

        return sum / p.QueryCount;
    }

    private static bool Better(double lambda, double ax, double cx, double ay, double cy)
    {
        if (double.IsPositiveInfinity(lambda))
        {
            return ax > ay || (ax == ay && cx < cy);
        }

        double vx = cx - (lambda * ax);
        double vy = cy - (lambda * ay);
        return vx < vy || (vx == vy && ax > ay);
    }

    private static AssignmentResult Result(PredictionMatrix p, int[] choice, AssignmentStatus status)
    {
        double cost = 0, quality = 0;
        for (int i = 0; i < choice.Length; i++)
        {
            cost += p.CostRow(i)[choice[i]];
            quality += p.QualityRow(i)[choice[i]];
        }

        return new AssignmentResult(choice, cost, quality / choice.Length, double.NaN, 0, status);
    }
}
