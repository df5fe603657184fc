namespace Eccos.Scheduling.Tests.Solve;

/// <summary>Bad input gets an ArgumentException naming the argument and the problem, from every solver.</summary>
public class SolverValidationTests
{
    private static readonly ModelProfile[] Models = [new("m0", 1, 1), new("m1", 2, 2)];

    public static IEnumerable<TestCaseData> Solvers()
    {
        yield return new TestCaseData(new LagrangianAssignmentSolver()).SetArgDisplayNames("Lagrangian");
        yield return new TestCaseData(new ExactAssignmentSolver()).SetArgDisplayNames("Exact");
        yield return new TestCaseData(new ThresholdAssignmentSolver()).SetArgDisplayNames("Threshold");
        yield return new TestCaseData(new SingleModelAssignmentSolver("m1")).SetArgDisplayNames("SingleModel");
        yield return new TestCaseData(new CheapestModelAssignmentSolver()).SetArgDisplayNames("Cheapest");
        yield return new TestCaseData(new RoundRobinAssignmentSolver()).SetArgDisplayNames("RoundRobin");
        yield return new TestCaseData(new RandomAssignmentSolver(7)).SetArgDisplayNames("Random");
    }

    [TestCaseSource(nameof(Solvers))]
    public void Alpha_outside_the_unit_interval_is_rejected(IAssignmentSolver solver)
    {
        foreach (double alpha in new[] { -0.1, 1.5, double.NaN, double.PositiveInfinity })
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => solver.Solve(Valid(), new AssignmentConstraints { QualityTarget = alpha }));
            Assert.That(ex!.ParamName, Is.EqualTo("constraints"));
            Assert.That(ex.Message, Does.Contain("QualityTarget"));
        }
    }

    [TestCaseSource(nameof(Solvers))]
    public void Bad_predictions_name_the_query_the_model_and_the_problem(IAssignmentSolver solver)
    {
        foreach ((double quality, double cost, string what) in new[] { (double.NaN, 0.1, "quality"), (1.2, 0.1, "quality"), (0.5, double.PositiveInfinity, "cost"), (0.5, -1.0, "cost") })
        {
            PredictionMatrix p = Valid();
            p.Set(1, 1, quality, cost);
            var ex = Assert.Throws<ArgumentException>(() => solver.Solve(p, new AssignmentConstraints()));
            Assert.That(ex!.ParamName, Is.EqualTo("predictions"));
            Assert.That(ex.Message, Does.Contain("Query 1").And.Contain("'m1'").And.Contain(what));
        }
    }

    [TestCaseSource(nameof(Solvers))]
    public void Bad_capacities_are_rejected(IAssignmentSolver solver)
    {
        var negative = Assert.Throws<ArgumentException>(() => solver.Solve(Valid(), new AssignmentConstraints { Capacities = [1, -2] }));
        Assert.That(negative!.ParamName, Is.EqualTo("constraints"));
        Assert.That(negative.Message, Does.Contain("'m1'").And.Contain("-2"));

        var count = Assert.Throws<ArgumentException>(() => solver.Solve(Valid(), new AssignmentConstraints { Capacities = [1, 2, 3] }));
        Assert.That(count!.ParamName, Is.EqualTo("constraints"));
        Assert.That(count.Message, Does.Contain("3 were given for 2 models"));
    }

    [TestCaseSource(nameof(Solvers))]
    public void A_query_no_model_may_take_is_rejected(IAssignmentSolver solver)
    {
        PredictionMatrix p = Valid();
        p.EligibleRow(2).Clear();
        var ex = Assert.Throws<ArgumentException>(() => solver.Solve(p, new AssignmentConstraints()));
        Assert.That(ex!.ParamName, Is.EqualTo("predictions"));
        Assert.That(ex.Message, Does.Contain("Query 2").And.Contain("no model is eligible"));
    }

    [TestCaseSource(nameof(Solvers))]
    public void A_negative_budget_and_null_arguments_are_rejected(IAssignmentSolver solver)
    {
        var budget = Assert.Throws<ArgumentOutOfRangeException>(() => solver.Solve(Valid(), new AssignmentConstraints { CostBudget = -1 }));
        Assert.That(budget!.ParamName, Is.EqualTo("constraints"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => solver.Solve(null!, new AssignmentConstraints()))!.ParamName, Is.EqualTo("predictions"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => solver.Solve(Valid(), null!))!.ParamName, Is.EqualTo("constraints"));
    }

    [TestCaseSource(nameof(Solvers))]
    public void A_cancelled_token_throws(IAssignmentSolver solver)
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => solver.Solve(Valid(), new AssignmentConstraints { QualityTarget = 0.5 }, cts.Token));
    }

    private static PredictionMatrix Valid()
    {
        var p = new PredictionMatrix(3, Models);
        for (int i = 0; i < 3; i++)
        {
            p.Set(i, 0, 0.4, 0.001);
            p.Set(i, 1, 0.8, 0.004);
        }

        return p;
    }
}
