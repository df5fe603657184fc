using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Solve;

public class ExactAssignmentSolverTests
{
    private static readonly ExactAssignmentSolver Exact = new();

    [Test]
    public void Matches_brute_force_on_tiny_instances([Range(0, 59)] int seed)
    {
        var rng = new Random(seed);
        int n = 1 + rng.Next(6);
        int m = 1 + rng.Next(3);
        (PredictionMatrix p, int[]? caps) = SyntheticInstances.Small(seed, n, m, withCapacities: seed % 2 == 0, ineligible: seed % 3 == 0 ? 0.3 : 0);
        bool budgetMode = seed % 4 == 1;
        var c = new AssignmentConstraints
        {
            QualityTarget = 0.2 + (0.7 * rng.NextDouble()),
            Capacities = caps,
            CostBudget = budgetMode ? 0.002 * n * (0.5 + rng.NextDouble()) : null,
        };

        AssignmentResult r = Exact.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        (int placed, bool sideOk, double objective) = BruteForce(p, c);
        Assert.That(n - r.Deferred.Count, Is.EqualTo(placed), "placed count");
        if (placed < n)
        {
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.CapacityShortfall));
        }
        else if (!sideOk)
        {
            Assert.That(r.Status, Is.EqualTo(budgetMode ? AssignmentStatus.BudgetUnreachable : AssignmentStatus.QualityTargetUnreachable));
        }
        else
        {
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.Optimal));
            Assert.That(budgetMode ? r.MeanQuality : r.TotalCost, Is.EqualTo(objective).Within(1e-9));
            Assert.That(r.Gap, Is.Zero);
        }

        if (placed == n && !sideOk)
        {
            // unreachable: the result must be the best on the side measure (max quality, or least cost)
            Assert.That(budgetMode ? r.TotalCost : r.MeanQuality, Is.EqualTo(objective).Within(1e-9));
        }
    }

    [Test]
    public void Refuses_problems_above_the_size_limit()
    {
        var p = new PredictionMatrix(20, [new("a", 1, 1), new("b", 1, 1), new("c", 1, 1), new("d", 1, 1)]);
        var ex = Assert.Throws<ArgumentException>(() => Exact.Solve(p, new AssignmentConstraints()));
        Assert.That(ex!.ParamName, Is.EqualTo("predictions"));
        Assert.That(ex.Message, Does.Contain("M^N").And.Contain("N = 20"));
    }

    /// <summary>
    /// Enumerates every assignment (deferral included) and returns the lexicographic optimum's placed count, whether
    /// the side constraint is met, and the objective: least cost (or best quality in budget mode) when met, else the
    /// best side measure (max mean quality, or least cost in budget mode).
    /// </summary>
    private static (int Placed, bool SideOk, double Objective) BruteForce(PredictionMatrix p, AssignmentConstraints c)
    {
        int n = p.QueryCount;
        int m = p.ModelCount;
        var caps = new int[m];
        c.ResolveCapacities(p, caps);
        int bestPlaced = -1;
        bool bestOk = false;
        double bestObj = double.NaN;
        var x = new int[n];
        long total = (long)Math.Pow(m + 1, n);
        for (long code = 0; code < total; code++)
        {
            long rest = code;
            var load = new int[m];
            bool valid = true;
            int placed = 0;
            double cost = 0;
            double q = 0;
            for (int i = 0; i < n; i++)
            {
                int j = (int)(rest % (m + 1)) - 1;
                rest /= m + 1;
                x[i] = j;
                if (j < 0)
                {
                    continue;
                }

                if (!p.EligibleRow(i)[j] || ++load[j] > caps[j])
                {
                    valid = false;
                    break;
                }

                placed++;
                cost += p.CostRow(i)[j];
                q += p.QualityRow(i)[j];
            }

            if (!valid)
            {
                continue;
            }

            bool ok = c.CostBudget is { } b ? cost <= b + 1e-12 : q >= (c.QualityTarget * placed) - 1e-12;
            double obj = c.CostBudget is not null
                ? ok ? -q / n : cost
                : ok ? cost : -q / n;
            if (placed > bestPlaced || (placed == bestPlaced && ((ok && !bestOk) || (ok == bestOk && obj < bestObj))))
            {
                bestPlaced = placed;
                bestOk = ok;
                bestObj = obj;
            }
        }

        double reported = c.CostBudget is not null ? (bestOk ? -bestObj : bestObj) : (bestOk ? bestObj : -bestObj);
        return (bestPlaced, bestOk, reported);
    }
}
