using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Solve;

public class BaselineSolverTests
{
    private static readonly ModelProfile[] Three = [new("small", 0.1, 0.1), new("medium", 1, 1), new("large", 5, 5)];

    public static IEnumerable<TestCaseData> Baselines()
    {
        yield return new TestCaseData(new ThresholdAssignmentSolver()).SetArgDisplayNames("Threshold");
        yield return new TestCaseData(new SingleModelAssignmentSolver("m1")).SetArgDisplayNames("SingleModel");
        yield return new TestCaseData(new CheapestModelAssignmentSolver()).SetArgDisplayNames("Cheapest");
        yield return new TestCaseData(new RoundRobinAssignmentSolver()).SetArgDisplayNames("RoundRobin");
        yield return new TestCaseData(new RandomAssignmentSolver(3)).SetArgDisplayNames("Random");
    }

    [TestCaseSource(nameof(Baselines))]
    public void Respect_capacities_and_eligibility_and_report_honestly(IAssignmentSolver solver)
    {
        for (int seed = 0; seed < 40; seed++)
        {
            (PredictionMatrix p, int[]? caps) = SyntheticInstances.Small(seed, 12, 3, withCapacities: true, ineligible: 0.3);
            var c = new AssignmentConstraints { QualityTarget = 0.55, Capacities = caps, CostBudget = seed % 3 == 0 ? 0.02 : null };
            AssignmentResult r = solver.Solve(p, c);
            SolverChecks.AssertConsistent(p, c, r);
            Assert.Multiple(() =>
            {
                Assert.That(r.Bound, Is.NaN);
                Assert.That(r.Gap, Is.NaN);
                if (r.Deferred.Count == 0)
                {
                    Assert.That(r.IsFeasible, Is.EqualTo(SolverChecks.MeetsSide(c, r)), $"seed {seed}: {r.Status}");
                    Assert.That(r.Status, Is.Not.EqualTo(AssignmentStatus.Optimal));
                }
            });
        }
    }

    [Test]
    public void Threshold_takes_the_cheapest_model_reaching_alpha_else_the_most_capable()
    {
        var p = new PredictionMatrix(2, Three);
        p.Set(0, 0, 0.5, 0.001);
        p.Set(0, 1, 0.8, 0.010);
        p.Set(0, 2, 0.9, 0.050);
        p.Set(1, 0, 0.3, 0.001);
        p.Set(1, 1, 0.5, 0.010);
        p.Set(1, 2, 0.6, 0.050);
        AssignmentResult r = new ThresholdAssignmentSolver().Solve(p, new AssignmentConstraints { QualityTarget = 0.7 });
        Assert.That(r.Assignments, Is.EqualTo(Ints(1, 2)));
        Assert.That(r.Status, Is.EqualTo(AssignmentStatus.Feasible), "0.8 and 0.6 average 0.7");
        AssignmentResult missed = new ThresholdAssignmentSolver().Solve(p, new AssignmentConstraints { QualityTarget = 0.75 });
        Assert.That(missed.Assignments, Is.EqualTo(Ints(1, 2)));
        Assert.That(missed.Status, Is.EqualTo(AssignmentStatus.QualityTargetUnreachable), "the router's own assignment misses α");
    }

    [Test]
    public void Threshold_spills_to_the_next_choice_when_full_and_defers_when_nothing_is_left()
    {
        PredictionMatrix p = Uniform(4, (0.9, 0.001), (0.9, 0.010), (0.9, 0.050));

        var c = new AssignmentConstraints { QualityTarget = 0.8, Capacities = [2, 1, 0] };
        AssignmentResult r = new ThresholdAssignmentSolver().Solve(p, c);
        Assert.Multiple(() =>
        {
            Assert.That(r.Assignments, Is.EqualTo(Ints(0, 0, 1, AssignmentResult.DeferredModel)));
            Assert.That(r.Status, Is.EqualTo(AssignmentStatus.CapacityShortfall));
            Assert.That(r.Deferred, Is.EqualTo(Ints(3)));
        });
    }

    [Test]
    public void Single_model_sends_everything_it_can_to_its_model_and_names_an_unknown_one()
    {
        PredictionMatrix p = Uniform(3, (0.2, 0.001), (0.5, 0.010), (0.9, 0.050));

        p.EligibleRow(2)[2] = false;
        AssignmentResult r = new SingleModelAssignmentSolver("large").Solve(p, new AssignmentConstraints { Capacities = [3, 3, 1] });
        Assert.That(r.Assignments, Is.EqualTo(Ints(2, 0, 0)), "then the cheapest with room");
        var ex = Assert.Throws<ArgumentException>(() => new SingleModelAssignmentSolver("nope").Solve(p, new AssignmentConstraints()));
        Assert.That(ex!.Message, Does.Contain("'nope'"));
        Assert.Throws<ArgumentException>(() => _ = new SingleModelAssignmentSolver(" "));
    }

    [Test]
    public void Cheapest_and_round_robin_follow_their_orders()
    {
        PredictionMatrix p = Uniform(4, (0.2, 0.003), (0.5, 0.001), (0.9, 0.002));

        Assert.That(new CheapestModelAssignmentSolver().Solve(p, new AssignmentConstraints { Capacities = [4, 2, 1] }).Assignments, Is.EqualTo(Ints(1, 1, 2, 0)));
        Assert.That(new RoundRobinAssignmentSolver().Solve(p, new AssignmentConstraints()).Assignments, Is.EqualTo(Ints(0, 1, 2, 0)));
    }

    [Test]
    public void Random_is_deterministic_per_seed()
    {
        (PredictionMatrix p, _) = SyntheticInstances.Small(1, 200, 4, withCapacities: false);
        var c = new AssignmentConstraints();
        IReadOnlyList<int> a = new RandomAssignmentSolver(5).Solve(p, c).Assignments;
        IReadOnlyList<int> b = new RandomAssignmentSolver(5).Solve(p, c).Assignments;
        IReadOnlyList<int> other = new RandomAssignmentSolver(6).Solve(p, c).Assignments;
        Assert.Multiple(() =>
        {
            Assert.That(b, Is.EqualTo(a));
            Assert.That(other, Is.Not.EqualTo(a));
            Assert.That(a.Distinct().Count(), Is.EqualTo(4), "every model is drawn");
        });
    }

    [Test]
    public void The_optimizer_beats_the_threshold_router_on_a_realistic_batch()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(3_000, 8, 21);
        AssignmentResult threshold = new ThresholdAssignmentSolver().Solve(p, c);
        AssignmentResult optimized = new LagrangianAssignmentSolver().Solve(p, c);
        Assert.That(optimized.IsFeasible, Is.True);
        if (threshold.IsFeasible)
        {
            Assert.That(optimized.TotalCost, Is.LessThan(threshold.TotalCost));
        }
        else
        {
            Assert.That(optimized.MeanQuality, Is.GreaterThanOrEqualTo(c.QualityTarget - 1e-9));
        }
    }

    private static int[] Ints(params int[] values) => values;

    /// <summary>Every query gets the same (quality, cost) per model of <see cref="Three"/>.</summary>
    private static PredictionMatrix Uniform(int n, params (double Quality, double Cost)[] perModel)
    {
        var p = new PredictionMatrix(n, Three);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < perModel.Length; j++)
            {
                p.Set(i, j, perModel[j].Quality, perModel[j].Cost);
            }
        }

        return p;
    }
}
