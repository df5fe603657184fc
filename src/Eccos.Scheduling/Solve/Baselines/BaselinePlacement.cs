namespace Eccos.Scheduling;

/// <summary>
/// The common core of the baseline solvers: every query, in index order, goes to the first model of its own
/// preference order that is eligible and still has room; a query no such model remains for is deferred.
/// </summary>
/// <remarks>
/// A preference order is given as a key per model (lower is preferred, ties to the lower index), so taking "the first
/// model of the order with room" is one O(M) scan per query rather than a sort.
/// </remarks>
internal static class BaselinePlacement
{
    /// <summary>Fills <c>keys</c> (length M) with query <c>i</c>'s preference keys: lower is preferred.</summary>
    public delegate void PreferenceKeys(int query, Span<double> keys);

    /// <summary>Places every query by its preference order and reports the result honestly (no bound).</summary>
    public static AssignmentResult Solve(
        PredictionMatrix predictions, AssignmentConstraints constraints, int[] caps, PreferenceKeys preference, CancellationToken cancellationToken)
    {
        int n = predictions.QueryCount;
        int m = predictions.ModelCount;
        bool budget = constraints.CostBudget.HasValue;
        if (n == 0)
        {
            return SolveSupport.Empty(predictions, constraints);
        }

        var assignment = new int[n];
        var room = (int[])caps.Clone();
        Span<double> keys = m <= 256 ? stackalloc double[m] : new double[m];
        ReadOnlySpan<bool> eligible = predictions.Eligible;
        for (int i = 0; i < n; i++)
        {
            if ((i & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            preference(i, keys);
            int chosen = AssignmentResult.DeferredModel;
            for (int j = 0; j < m; j++)
            {
                if (eligible[(i * m) + j] && room[j] > 0 && (chosen < 0 || keys[j] < keys[chosen]))
                {
                    chosen = j;
                }
            }

            if (chosen >= 0)
            {
                room[chosen]--;
            }

            assignment[i] = chosen;
        }

        (double cost, double quality, int deferred) = SolveSupport.Measure(predictions, assignment);
        AssignmentStatus status = deferred > 0 ? AssignmentStatus.CapacityShortfall
            : SolveSupport.MeetsSide(constraints, cost, quality, n) ? AssignmentStatus.Feasible
            : budget ? AssignmentStatus.BudgetUnreachable : AssignmentStatus.QualityTargetUnreachable;
        return new AssignmentResult(assignment, cost, quality, double.NaN, 1, status, 0, new double[m]) { IsBudgetMode = budget };
    }
}
