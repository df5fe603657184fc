using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Solve;

/// <summary>
/// Properties of the Lagrangian solver against the exact optimum on small random and tie-heavy instances, with
/// capacities (0 included), at quality targets from the cheapest assignment's quality to the highest reachable one and
/// beyond: every feasible result holds exactly, costs no less than the optimum, its bound is no more than the optimum,
/// and so its reported gap is no less than the true one.
/// </summary>
public class SolverPropertyTests
{
    private static readonly LagrangianAssignmentSolver Solver = new();
    private static readonly ExactAssignmentSolver Exact = new();

    private static readonly double[] Positions = [0, 0.5, 0.9, 0.99, 1, 1.02];

    [Test]
    public void Against_the_exact_optimum([Values(false, true)] bool coarse, [Range(0, 59)] int seed)
    {
        var rng = new Random((seed * 104_729) + (coarse ? 1 : 0));
        int n = 3 + rng.Next(8);
        int m = 2 + rng.Next(3);
        (PredictionMatrix p, int[]? caps) = SyntheticInstances.Small(seed + 5000, n, m, withCapacities: true, ineligible: coarse ? 0.2 : 0, coarse);
        if (rng.NextDouble() < 0.5)
        {
            // every model capped, as on the stress family (some at 0)
            caps = Enumerable.Range(0, m).Select(_ => rng.Next((2 * n / m) + 1)).ToArray();
        }

        AssignmentResult cheapest = Exact.Solve(p, new AssignmentConstraints { Capacities = caps });
        if (cheapest.Status == AssignmentStatus.CapacityShortfall)
        {
            return; // covered by the shortfall tests
        }

        AssignmentResult max = Exact.Solve(p, new AssignmentConstraints { QualityTarget = 1, Capacities = caps });
        foreach (double position in Positions)
        {
            double alpha = Math.Min(1, cheapest.MeanQuality + (position * (max.MeanQuality - cheapest.MeanQuality)));
            if (position == 1)
            {
                alpha = max.MeanQuality;
            }

            var c = new AssignmentConstraints { QualityTarget = alpha, Capacities = caps };
            AssignmentResult exact = Exact.Solve(p, c);
            AssignmentResult r = Solver.Solve(p, c);
            string at = $"n {n}, m {m}, position {position}, α {alpha:R}: {r.Status} (exact {exact.Status})";
            SolverChecks.AssertConsistent(p, c, r);
            Assert.That(r.IsFeasible, Is.EqualTo(exact.IsFeasible), at);
            if (!exact.IsFeasible)
            {
                Assert.That(r.Status, Is.EqualTo(exact.Status), at);
                Assert.That(r.MeanQuality, Is.EqualTo(exact.MeanQuality).Within(1e-12), at);
                continue;
            }

            double trueGap = (r.TotalCost - exact.TotalCost) / Math.Max(r.TotalCost, 1e-12);
            Assert.Multiple(() =>
            {
                Assert.That(r.MeanQuality, Is.GreaterThanOrEqualTo(alpha), at + ": the target holds exactly");
                Assert.That(r.TotalCost, Is.GreaterThanOrEqualTo(exact.TotalCost - 1e-12), at + ": no cheaper than the optimum");
                Assert.That(r.Bound, Is.LessThanOrEqualTo(exact.TotalCost + 1e-12), at + ": the bound is a lower bound");
                Assert.That(r.Gap, Is.GreaterThanOrEqualTo(trueGap - 1e-9), at + ": the reported gap is no less than the true one");
            });
        }
    }
}
