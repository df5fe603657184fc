namespace Eccos.Scheduling;

/// <summary>
/// Baseline: query i goes to model i mod M; when that is full or not eligible, to the next model in cyclic order.
/// </summary>
/// <remarks>
/// For evaluation: <see cref="AssignmentResult.Bound"/> is <see cref="double.NaN"/> and the status says honestly
/// whether α (or the budget) was met. Stateless: thread-safe and deterministic.
/// </remarks>
public sealed class RoundRobinAssignmentSolver : IAssignmentSolver
{
    /// <inheritdoc />
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        int[] caps = SolveSupport.ValidateAndResolve(predictions, constraints);
        int m = predictions.ModelCount;
        return BaselinePlacement.Solve(predictions, constraints, caps, (i, key) =>
        {
            // model (i + r) mod M is the r-th choice
            int first = i % m;
            for (int j = 0; j < m; j++)
            {
                key[j] = (j - first + m) % m;
            }
        }, cancellationToken);
    }
}
