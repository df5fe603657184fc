using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Solve;

public class LagrangianAssignmentSolverTests
{
    private static readonly LagrangianAssignmentSolver Solver = new();
    private static readonly ExactAssignmentSolver Exact = new();

    public enum Shape
    {
        Unlimited,
        Capacities,
        CapacitiesAndEligibility,
        Budget,
        BudgetWithCapacities,
        CoarseTies,
        CoarseTiesBudget,
    }

    [Test]
    public void Agrees_with_the_exact_optimum_on_small_instances([Values] Shape shape, [Range(0, 199)] int seed)
    {
        var rng = new Random((seed * 7919) + (int)shape);
        int n = 2 + rng.Next(9);
        int m = 1 + rng.Next(4);
        bool coarse = shape is Shape.CoarseTies or Shape.CoarseTiesBudget;
        bool caps = coarse || shape is Shape.Capacities or Shape.CapacitiesAndEligibility or Shape.BudgetWithCapacities;
        bool budget = shape is Shape.Budget or Shape.BudgetWithCapacities or Shape.CoarseTiesBudget;
        (PredictionMatrix p, int[]? capacities) = SyntheticInstances.Small(
            seed, n, m, caps, shape is Shape.CapacitiesAndEligibility or Shape.CoarseTies ? 0.25 : 0, coarse);
        var c = new AssignmentConstraints
        {
            QualityTarget = 0.3 + (0.6 * rng.NextDouble()),
            Capacities = capacities,
            CostBudget = budget ? 0.003 * n * (0.3 + rng.NextDouble()) : null,
        };

        AssignmentResult exact = Exact.Solve(p, c);
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.That(r.Deferred, Has.Count.EqualTo(exact.Deferred.Count), "deferred count");
        if (exact.Status == AssignmentStatus.CapacityShortfall)
        {
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.CapacityShortfall));
            return;
        }

        Assert.That(r.Status == AssignmentStatus.Optimal || r.Status == AssignmentStatus.Feasible, Is.EqualTo(exact.IsFeasible), $"status {r.Status}, exact {exact.Status}");
        if (!exact.IsFeasible)
        {
            // unreachable: both return the best on the side measure, which the transportation solve gets exactly
            Assert.That(r.Status, Is.EqualTo(exact.Status));
            Assert.That(budget ? r.TotalCost : r.MeanQuality, Is.EqualTo(budget ? exact.TotalCost : exact.MeanQuality).Within(1e-9));
            return;
        }

        Assert.That(SolverChecks.MeetsSide(c, r), Is.True, "the target (budget) holds whenever it can");
        if (budget)
        {
            Assert.That(r.MeanQuality, Is.GreaterThanOrEqualTo(exact.MeanQuality * 0.99), "within 1 % of the best quality");
            Assert.That(r.Bound, Is.GreaterThanOrEqualTo(exact.MeanQuality - 1e-9), "the bound is an upper bound on the best quality");
        }
        else
        {
            Assert.That(r.TotalCost, Is.LessThanOrEqualTo((exact.TotalCost * 1.01) + 1e-12), "within 1 % of the least cost");
            Assert.That(r.Bound, Is.LessThanOrEqualTo(exact.TotalCost + 1e-9), "the bound is a lower bound on the least cost");
        }
    }

    [Test]
    public void Realistic_instance_reaches_half_a_percent_gap([Values(1, 2, 3)] int seed)
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(10_000, 12, seed);
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.Multiple(() =>
        {
            Assert.That(r.IsFeasible, Is.True, r.Status.ToString());
            Assert.That(r.MeanQuality, Is.GreaterThanOrEqualTo(c.QualityTarget - 1e-9));
            Assert.That(r.Gap, Is.LessThanOrEqualTo(0.005));
            Assert.That(r.QualityPrice, Is.GreaterThan(0));
            Assert.That(r.CapacityPrices.Count(mu => mu > 0), Is.GreaterThanOrEqualTo(1), "a binding capacity has a price");
        });

        // the capacities bind: the same instance without them costs less
        var free = new AssignmentConstraints { QualityTarget = c.QualityTarget };
        Assert.That(Solver.Solve(p, free).TotalCost, Is.LessThan(r.TotalCost));
    }

    [Test]
    public void Realistic_budget_mode_reaches_half_a_percent_gap()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(10_000, 12, 4);
        double cheapest = new CheapestModelAssignmentSolver().Solve(p, c).TotalCost;
        var budget = new AssignmentConstraints { Capacities = c.Capacities, CostBudget = cheapest * 2 };
        AssignmentResult r = Solver.Solve(p, budget);
        SolverChecks.AssertConsistent(p, budget, r);
        Assert.Multiple(() =>
        {
            Assert.That(r.IsFeasible, Is.True, r.Status.ToString());
            Assert.That(r.TotalCost, Is.LessThanOrEqualTo(budget.CostBudget * (1 + 1e-9)));
            Assert.That(r.Gap, Is.LessThanOrEqualTo(0.005));
            Assert.That(r.Bound, Is.GreaterThanOrEqualTo(r.MeanQuality));
        });
    }

    [TestCase(34)]
    [TestCase(88)]
    [TestCase(122)]
    public void Coarse_predictions_with_many_ties_still_close_the_gap(int seed)
    {
        // quality in steps of 0.25 and costs rounded to 0.001: the priced costs tie massively at the optimal prices,
        // and the greedy repair alone stops short (gaps of 0.3–1.1 % on these seeds); the exact capacitated argmin just
        // past the best quality price closes them
        var rng = new Random(seed);
        int n = 2000 + rng.Next(8000);
        int m = 2 + rng.Next(14);
        var p = new PredictionMatrix(n, Enumerable.Range(0, m).Select(j => new ModelProfile($"m{j}", 1, 1)).ToArray());
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double strength = (j + 1.0) / m;
                double quality = Math.Round(Math.Clamp(0.2 + (0.6 * strength) + (0.3 * (rng.NextDouble() - 0.5)), 0, 1) * 4) / 4;
                p.Set(i, j, quality, Math.Round(0.001 * Math.Pow(50, strength) * (0.5 + rng.NextDouble()), 3));
            }
        }

        int[] caps = Enumerable.Range(0, m)
            .Select(j => j < 2 ? (n / (3 * m)) + 1 : rng.NextDouble() < 0.5 ? AssignmentConstraints.Unlimited : n / m * 2)
            .ToArray();
        var c = new AssignmentConstraints { QualityTarget = 0.3 + (0.5 * rng.NextDouble()), Capacities = caps };
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.That(r.IsFeasible, Is.True, r.Status.ToString());
        Assert.That(r.Gap, Is.LessThanOrEqualTo(0.005));
    }

    [Test]
    public void Without_capacities_the_breakpoint_search_is_exact_up_to_one_query()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(5_000, 8, 7, bindingCapacities: false);
        AssignmentResult r = Solver.Solve(p, c);
        Assert.That(r.Status, Is.EqualTo(AssignmentStatus.Optimal));
        double maxCost = 0;
        foreach (double x in p.Cost)
        {
            maxCost = Math.Max(maxCost, x);
        }

        Assert.That(r.TotalCost - r.Bound, Is.LessThanOrEqualTo(maxCost), "at most one query's cost above the LP bound");
        Assert.That(r.CapacityPrices, Is.All.Zero);
    }

    [Test]
    public void Unreachable_target_returns_the_highest_quality_within_capacities()
    {
        PredictionMatrix p = TwoModels(4, (0.3, 0.001), (0.9, 0.01));

        var c = new AssignmentConstraints { QualityTarget = 0.8, Capacities = [4, 2] };
        AssignmentResult r = Solver.Solve(p, c);
        Assert.Multiple(() =>
        {
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.QualityTargetUnreachable));
            Assert.That(r.MeanQuality, Is.EqualTo(0.6).Within(1e-12));
            Assert.That(r.Gap, Is.NaN);
            Assert.That(r.Bound, Is.NaN);
            Assert.That(r.QualityPrice, Is.EqualTo(double.PositiveInfinity));
        });
    }

    [Test]
    public void Unreachable_budget_returns_the_cheapest_assignment_within_capacities()
    {
        PredictionMatrix p = TwoModels(3, (0.3, 1), (0.9, 5));

        var c = new AssignmentConstraints { CostBudget = 4, Capacities = [1, 3] };
        AssignmentResult r = Solver.Solve(p, c);
        Assert.Multiple(() =>
        {
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.BudgetUnreachable));
            Assert.That(r.TotalCost, Is.EqualTo(11));
            Assert.That(r.IsBudgetMode, Is.True);
        });
    }

    [Test]
    public void A_budget_that_only_the_capacities_make_unreachable_is_settled_quickly()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(3_000, 8, 17);
        double cheapestAnywhere = 0;
        for (int i = 0; i < p.QueryCount; i++)
        {
            cheapestAnywhere += p.CostRow(i).ToArray().Min();
        }

        // B = 0 is out of reach: the result is the cheapest assignment within the capacities
        double cheapestWithin = Solver.Solve(p, new AssignmentConstraints { Capacities = c.Capacities, CostBudget = 0 }).TotalCost;
        Assert.That(cheapestWithin, Is.GreaterThan(cheapestAnywhere * 1.01), "the capacities bind on the cheap models");

        // between the two, only the capacities stand in the way: the dual rises without end, which must be noticed
        var between = new AssignmentConstraints { Capacities = c.Capacities, CostBudget = (cheapestAnywhere + cheapestWithin) / 2 };
        AssignmentResult r = Solver.Solve(p, between);
        Assert.Multiple(() =>
        {
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.BudgetUnreachable));
            Assert.That(r.TotalCost, Is.EqualTo(cheapestWithin).Within(1e-9 * cheapestWithin));
            Assert.That(r.Iterations, Is.LessThan(20), "settled by the exact reachability check, not the iteration limit");
        });
    }

    [Test]
    public void Shortfall_defers_what_does_not_fit_and_never_drops_it()
    {
        (PredictionMatrix p, _) = SyntheticInstances.Small(3, 10, 3, withCapacities: false);
        var c = new AssignmentConstraints { QualityTarget = 0.5, Capacities = [2, 3, 1] };
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.Multiple(() =>
        {
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.CapacityShortfall));
            Assert.That(r.Deferred, Has.Count.EqualTo(4));
            Assert.That(r.Assignments.Count(a => a >= 0), Is.EqualTo(6));
            Assert.That(r.IsFeasible, Is.False);
        });
    }

    [Test]
    public void Shortfall_from_eligibility_defers_only_what_cannot_be_placed()
    {
        var p = new PredictionMatrix(5, [new("a", 1, 1), new("b", 1, 1)]);
        for (int i = 0; i < 5; i++)
        {
            p.Set(i, 0, 0.5, 0.01);
            p.Set(i, 1, 0.6, 0.02);
            p.EligibleRow(i)[1] = i == 4; // only query 4 may use b
        }

        var c = new AssignmentConstraints { Capacities = [3, 5] };
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.That(r.Deferred, Has.Count.EqualTo(1));
        Assert.That(r.Assignments[4], Is.EqualTo(1));
    }

    [Test]
    public void A_model_with_zero_capacity_takes_nothing_and_gets_a_price()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(2_000, 5, 9, bindingCapacities: false);
        AssignmentResult free = Solver.Solve(p, c);
        int favourite = Enumerable.Range(0, 5).OrderByDescending(j => free.Assignments.Count(a => a == j)).First();
        var caps = Enumerable.Repeat(AssignmentConstraints.Unlimited, 5).ToArray();
        caps[favourite] = 0;
        var closed = new AssignmentConstraints { QualityTarget = c.QualityTarget, Capacities = caps };
        AssignmentResult r = Solver.Solve(p, closed);
        SolverChecks.AssertConsistent(p, closed, r);
        Assert.Multiple(() =>
        {
            Assert.That(r.IsFeasible, Is.True, r.Status.ToString());
            Assert.That(r.Assignments, Has.None.EqualTo(favourite));
            Assert.That(r.CapacityPrices[favourite], Is.GreaterThan(0));
            Assert.That(r.TotalCost, Is.GreaterThanOrEqualTo(free.TotalCost));
            Assert.That(r.Gap, Is.LessThanOrEqualTo(0.005));
        });
    }

    [Test]
    public void Budget_that_does_not_bind_buys_the_best_quality_within_capacities()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(1_000, 6, 13);
        var rich = new AssignmentConstraints { Capacities = c.Capacities, CostBudget = 1e6 };
        AssignmentResult r = Solver.Solve(p, rich);
        double best = 0;
        for (int i = 0; i < p.QueryCount; i++)
        {
            best += p.QualityRow(i).ToArray().Max();
        }

        // the dearest models are unlimited here, so the best quality of every query is affordable and fits
        Assert.Multiple(() =>
        {
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.Optimal));
            Assert.That(r.MeanQuality, Is.EqualTo(best / p.QueryCount).Within(1e-9));
            Assert.That(r.QualityPrice, Is.EqualTo(double.PositiveInfinity), "a budget that does not bind makes quality priceless");
        });
    }

    [Test]
    public void A_chain_of_moves_is_found_when_no_single_move_fits()
    {
        // q1 may only use A; q0 prefers A and may use B; q2 holds B and may use C: freeing A takes q0 to B and q2 to C
        var p = new PredictionMatrix(3, [new("A", 1, 1), new("B", 1, 1), new("C", 1, 1)]);
        p.Set(0, 0, 0.5, 0.001);
        p.Set(0, 1, 0.5, 0.002);
        p.EligibleRow(0)[2] = false;
        p.Set(1, 0, 0.5, 0.001);
        p.EligibleRow(1)[1] = false;
        p.EligibleRow(1)[2] = false;
        p.Set(2, 1, 0.5, 0.001);
        p.Set(2, 2, 0.5, 0.009);
        p.EligibleRow(2)[0] = false;
        var c = new AssignmentConstraints { Capacities = [1, 1, AssignmentConstraints.Unlimited] };
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.That(r.Assignments, Is.EqualTo(Exact.Solve(p, c).Assignments));
        Assert.That(r.Status, Is.EqualTo(AssignmentStatus.Optimal));
    }

    [Test]
    public void Cancellation_during_a_long_solve_throws()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(60_000, 12, 3);
        using var cts = new CancellationTokenSource();
        var slow = new LagrangianAssignmentSolver(new LagrangianSolverOptions { Tolerance = 0, MaxIterations = 10_000 });
        cts.CancelAfter(TimeSpan.FromMilliseconds(20));
        Assert.Throws<OperationCanceledException>(() =>
        {
            // with a zero tolerance the ascent runs until its step scale is exhausted: far longer than 20 ms
            while (true)
            {
                slow.Solve(p, c, cts.Token);
            }
        });
    }

    [Test]
    public void Shortfall_is_exact_with_more_models_than_a_bit_mask_holds()
    {
        // 70 models: the placement groups queries by comparing eligibility rows instead of 64-bit masks
        var models = Enumerable.Range(0, 70).Select(j => new ModelProfile($"m{j}", 1, 1)).ToArray();
        var p = new PredictionMatrix(10, models);
        for (int i = 0; i < 10; i++)
        {
            p.EligibleRow(i).Clear();
            p.EligibleRow(i)[1] = true;
            p.EligibleRow(i)[0] = i % 2 == 0; // even queries may also use m0
            p.Set(i, 0, 0.5, 0.001);
            p.Set(i, 1, 0.6, 0.002);
        }

        var caps = new int[70];
        caps[0] = 3;
        caps[1] = 2;
        var c = new AssignmentConstraints { Capacities = caps };
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.That(r.Status, Is.EqualTo(AssignmentStatus.CapacityShortfall));
        Assert.That(r.Deferred, Has.Count.EqualTo(5));
    }

    [Test]
    public void Zero_queries_give_an_empty_optimal_result()
    {
        var p = new PredictionMatrix(0, [new("a", 1, 1)]);
        AssignmentResult r = Solver.Solve(p, new AssignmentConstraints { QualityTarget = 0.9 });
        Assert.Multiple(() =>
        {
            Assert.That(r.Assignments, Is.Empty);
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.Optimal));
            Assert.That(r.TotalCost, Is.Zero);
        });
    }

    [Test]
    public void One_model_takes_everything_it_can()
    {
        (PredictionMatrix p, _) = SyntheticInstances.Small(5, 50, 1, withCapacities: false);
        AssignmentResult r = Solver.Solve(p, new AssignmentConstraints { QualityTarget = 0.01 });
        Assert.That(r.Assignments, Is.All.Zero);
        Assert.That(r.Status, Is.EqualTo(AssignmentStatus.Optimal));
    }

    [Test]
    public void Alpha_zero_with_capacities_is_the_exact_transportation_optimum()
    {
        for (int seed = 0; seed < 30; seed++)
        {
            (PredictionMatrix p, int[]? caps) = SyntheticInstances.Small(seed, 8, 3);
            var c = new AssignmentConstraints { Capacities = caps };
            AssignmentResult exact = Exact.Solve(p, c);
            AssignmentResult r = Solver.Solve(p, c);
            if (exact.IsFeasible)
            {
                Assert.That(r.TotalCost, Is.EqualTo(exact.TotalCost).Within(1e-9 + (0.01 * exact.TotalCost)), $"seed {seed}");
            }
        }
    }

    [Test]
    public void Is_deterministic_and_safe_to_call_from_several_threads()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(3_000, 8, 11);
        AssignmentResult first = Solver.Solve(p, c);
        var results = new AssignmentResult[8];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k => results[k] = Solver.Solve(p, c));
        foreach (AssignmentResult r in results)
        {
            Assert.Multiple(() =>
            {
                Assert.That(r.Assignments, Is.EqualTo(first.Assignments));
                Assert.That(r.TotalCost, Is.EqualTo(first.TotalCost));
                Assert.That(r.Bound, Is.EqualTo(first.Bound));
                Assert.That(r.QualityPrice, Is.EqualTo(first.QualityPrice));
                Assert.That(r.CapacityPrices, Is.EqualTo(first.CapacityPrices));
            });
        }
    }

    [Test]
    public void Cancellation_throws()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(2_000, 6, 2);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => Solver.Solve(p, c, cts.Token));
    }

    [Test]
    public void Options_are_validated()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new LagrangianAssignmentSolver(new LagrangianSolverOptions { Tolerance = -1 }));
        Assert.That(ex!.ParamName, Is.EqualTo("options"));
        Assert.That(ex.Message, Does.Contain("Tolerance"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new LagrangianAssignmentSolver(new LagrangianSolverOptions { MaxIterations = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new LagrangianAssignmentSolver(new LagrangianSolverOptions { FeasibilityTolerance = -1e-9 }));
    }

    [Test]
    public void Prices_reproduce_the_assignment_of_a_query_whose_choice_is_clear()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(4_000, 6, 5);
        AssignmentResult r = Solver.Solve(p, c);
        int m = p.ModelCount;
        int agree = 0;
        for (int i = 0; i < p.QueryCount; i++)
        {
            int best = 0;
            double bestV = double.PositiveInfinity;
            for (int j = 0; j < m; j++)
            {
                double v = p.CostRow(i)[j] - (r.QualityPrice * p.QualityRow(i)[j] / p.QueryCount) + r.CapacityPrices[j];
                if (v < bestV)
                {
                    bestV = v;
                    best = j;
                }
            }

            agree += best == r.Assignments[i] ? 1 : 0;
        }

        // pricing each query alone by λ and μ reproduces the batch decision for almost every query
        Assert.That(agree, Is.GreaterThan(0.97 * p.QueryCount));
    }

    /// <summary>Every query sees the same (quality, cost) on a weak and a strong model.</summary>
    private static PredictionMatrix TwoModels(int n, (double Quality, double Cost) weak, (double Quality, double Cost) strong)
    {
        var p = new PredictionMatrix(n, [new("weak", 1, 1), new("strong", 1, 1)]);
        for (int i = 0; i < n; i++)
        {
            p.Set(i, 0, weak.Quality, weak.Cost);
            p.Set(i, 1, strong.Quality, strong.Cost);
        }

        return p;
    }
}
