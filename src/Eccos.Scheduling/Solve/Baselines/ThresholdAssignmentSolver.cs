namespace Eccos.Scheduling;

/// <summary>
/// Baseline: per query the cheapest eligible model whose predicted quality reaches α, else the most capable one —
/// the threshold router of the ECCOS authors' AIOS. Capacity-aware: when the choice is full the query goes to the
/// next model in that order (first the other models reaching α by cost, then the rest by quality, best first).
/// </summary>
/// <remarks>
/// For evaluation: it does not optimize, so <see cref="AssignmentResult.Bound"/> is <see cref="double.NaN"/> and the
/// status says honestly whether its assignment met α (<see cref="AssignmentStatus.Feasible"/> or
/// <see cref="AssignmentStatus.QualityTargetUnreachable"/>), met the budget in budget mode, or deferred queries
/// (<see cref="AssignmentStatus.CapacityShortfall"/>). Queries are placed in index order. Stateless: thread-safe and
/// deterministic.
/// </remarks>
public sealed class ThresholdAssignmentSolver : IAssignmentSolver
{
    /// <inheritdoc />
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        int[] caps = SolveSupport.ValidateAndResolve(predictions, constraints);
        int m = predictions.ModelCount;
        double alpha = constraints.QualityTarget;
        return BaselinePlacement.Solve(predictions, constraints, caps, (i, key) =>
        {
            ReadOnlySpan<double> a = predictions.QualityRow(i);
            ReadOnlySpan<double> c = predictions.CostRow(i);

            // models reaching α first, by cost (keys below 0); then the rest by quality, best first (keys above 0)
            double maxCost = 0;
            for (int j = 0; j < m; j++)
            {
                maxCost = Math.Max(maxCost, c[j]);
            }

            for (int j = 0; j < m; j++)
            {
                key[j] = a[j] >= alpha ? c[j] - maxCost - 1 : 1 - a[j];
            }
        }, cancellationToken);
    }
}
