namespace Eccos.Scheduling.Tests.Evaluation;

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
