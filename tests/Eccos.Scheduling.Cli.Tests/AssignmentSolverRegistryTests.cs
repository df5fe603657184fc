using Eccos.Scheduling.Evaluation.Tests;

namespace Eccos.Scheduling.Cli.Tests;

public class AssignmentSolverRegistryTests
{
    private static readonly string[] Sorted = ["a", "b"];

    [Test]
    public void Create_PassesTheArgumentAndTheSeed()
    {
        AssignmentSolverContext? seen = null;
        var registry = new AssignmentSolverRegistry().Register("pick", c =>
        {
            seen = c;
            return new GreedyTargetSolver();
        });

        IAssignmentSolver solver = registry.Create("PICK:model-a:v2", seed: 42);
        Assert.Multiple(() =>
        {
            Assert.That(solver, Is.InstanceOf<GreedyTargetSolver>());
            Assert.That(seen, Is.EqualTo(new AssignmentSolverContext("model-a:v2", 42)));
            Assert.That(registry.Contains("pick:anything"), Is.True);
            Assert.That(registry.Contains("other"), Is.False);
        });
    }

    [Test]
    public void UnknownNames_AreRejectedListingTheRegisteredOnes()
    {
        var registry = new AssignmentSolverRegistry().Register("b", _ => new GreedyTargetSolver()).Register("a", _ => new GreedyTargetSolver());
        Assert.Multiple(() =>
        {
            Assert.That(() => registry.Create("c"), Throws.ArgumentException.With.Message.Contains("'c'").And.Message.Contains("a, b"));
            Assert.That(() => registry.Register("x:y", _ => new GreedyTargetSolver()), Throws.ArgumentException.With.Property("ParamName").EqualTo("name"));
            Assert.That(registry.Names, Is.EqualTo(Sorted));
        });
    }
}

public class DefaultSolverRegistryTests
{
    private static readonly string[] Baselines = ["eccos:task-mean", "threshold:task-mean", "single:cheap", "single:strong", "cheapest", "random", "round-robin", "oracle"];

    [TestCase("lagrangian", typeof(LagrangianAssignmentSolver))]
    [TestCase("exact", typeof(ExactAssignmentSolver))]
    [TestCase("threshold", typeof(ThresholdAssignmentSolver))]
    [TestCase("single:cheap", typeof(SingleModelAssignmentSolver))]
    [TestCase("cheapest", typeof(CheapestModelAssignmentSolver))]
    [TestCase("round-robin", typeof(RoundRobinAssignmentSolver))]
    [TestCase("random", typeof(RandomAssignmentSolver))]
    public void Default_HoldsTheLibrarysSolvers(string name, Type type) =>
        Assert.That(AssignmentSolverRegistry.CreateDefault().Create(name), Is.InstanceOf(type));

    [Test]
    public void Single_NeedsAModelName() =>
        Assert.That(() => AssignmentSolverRegistry.CreateDefault().Create("single"), Throws.ArgumentException.With.Message.Contains("single:<model>"));

    [Test]
    public async Task DefaultRegistry_RunsEveryBaselineOnTheSameBatches()
    {
        OutcomeDataset data = SyntheticOutcomes.Create();
        var options = new EvaluationOptions { Alphas = [0.6, 0.7], BatchSize = 50, CapacityShares = new Dictionary<string, double> { ["strong"] = 0.3 } };
        EvaluationReport report = await new ScheduleEvaluator().EvaluateAsync(data, [EvaluationTestSetup.TaskMean()], options);
        string[] policies = [.. report.Runs.Select(r => r.Policy).Distinct()];
        Assert.Multiple(() =>
        {
            Assert.That(policies, Is.SupersetOf(Baselines));
            Assert.That(report.Runs.Select(r => r.CapacityViolations), Is.All.Zero);
            foreach (PolicyRun run in report.Runs.Where(r => r.Policy == "eccos:task-mean" && r.Reachable))
            {
                Assert.That(run.PredictedQuality, Is.GreaterThanOrEqualTo(run.Target!.Value - 1e-6), "the Lagrangian solver meets the target it was given");
            }
        });
    }
}
