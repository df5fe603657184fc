namespace Eccos.Scheduling;

/// <summary>
/// Baseline: every query goes to a model drawn uniformly at random; when that is full or not eligible, to the next
/// model of the same random permutation.
/// </summary>
/// <remarks>
/// For evaluation: <see cref="AssignmentResult.Bound"/> is <see cref="double.NaN"/> and the status says honestly
/// whether α (or the budget) was met. Every solve draws from a new generator seeded with <see cref="Seed"/>, so the
/// same input gives the same assignment, on any thread.
/// </remarks>
public sealed class RandomAssignmentSolver : IAssignmentSolver
{
    /// <summary>Initializes a new solver.</summary>
    /// <param name="seed">The seed of every solve's generator.</param>
    public RandomAssignmentSolver(int seed)
    {
        Seed = seed;
    }

    /// <summary>Gets the seed of every solve's generator.</summary>
    public int Seed { get; }

    /// <inheritdoc />
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        int[] caps = SolveSupport.ValidateAndResolve(predictions, constraints);
        int m = predictions.ModelCount;
        var rng = new Random(Seed);
        return BaselinePlacement.Solve(predictions, constraints, caps, (_, key) =>
        {
            // independent uniform keys: their order is a uniformly random permutation
            for (int j = 0; j < m; j++)
            {
                key[j] = rng.NextDouble();
            }
        }, cancellationToken);
    }
}
