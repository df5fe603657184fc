namespace Eccos.Scheduling.Tests.Solve;

public class UtilityAssignmentSolverTests
{
    private static PredictionMatrix Matrix()
    {
        // One query type: model 0 cheap and weak, 1 mid, 2 dear and as good as 1.
        ModelProfile[] models = [new("a", 0, 0), new("b", 0, 0), new("c", 0, 0)];
        var p = new PredictionMatrix(4, models);
        for (int i = 0; i < 4; i++)
        {
            p.Set(i, 0, 0.5, 0.001);
            p.Set(i, 1, 0.9, 0.010);
            p.Set(i, 2, 0.9, 0.100);
        }

        return p;
    }

    [Test]
    public void Lambda_TradesQualityForCost()
    {
        var none = new AssignmentConstraints();
        Assert.Multiple(() =>
        {
            // 0.4 of quality is worth λ·0.4: below the 0.009 price gap at λ = 0.01, above it at λ = 1.
            Assert.That(new UtilityAssignmentSolver(0.01).Solve(Matrix(), none).Assignments, Is.All.EqualTo(0));
            Assert.That(new UtilityAssignmentSolver(1).Solve(Matrix(), none).Assignments, Is.All.EqualTo(1));
        });
    }

    [Test]
    public void QualityFirst_TakesTheCheapestOfTheBest_AndSpillsWhenFull()
    {
        AssignmentResult result = new UtilityAssignmentSolver(double.PositiveInfinity).Solve(Matrix(), new AssignmentConstraints { Capacities = [1, 2, 0] });
        Assert.Multiple(() =>
        {
            Assert.That(result.Assignments, Is.EqualTo(new[] { 1, 1, 0, -1 }));
            Assert.That(result.Status, Is.EqualTo(AssignmentStatus.CapacityShortfall));
        });
    }
}
