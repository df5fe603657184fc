namespace Eccos.Scheduling;

/// <summary>
/// Baseline: every query goes to its cheapest eligible model by predicted cost; when that is full, to the next
/// cheapest with room.
/// </summary>
/// <remarks>
/// For evaluation: <see cref="AssignmentResult.Bound"/> is <see cref="double.NaN"/> and the status says honestly
/// whether α (or the budget) was met. Queries are placed in index order. Stateless: thread-safe and deterministic.
/// </remarks>
public sealed class CheapestModelAssignmentSolver : IAssignmentSolver
{
    /// <inheritdoc />
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        int[] caps = SolveSupport.ValidateAndResolve(predictions, constraints);
        return BaselinePlacement.Solve(
            predictions, constraints, caps, (i, key) => predictions.CostRow(i).CopyTo(key), cancellationToken);
    }
}
