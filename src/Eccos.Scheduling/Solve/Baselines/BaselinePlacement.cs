namespace Eccos.Scheduling;

/// <summary>
/// The common core of the baseline solvers: every query, in index order, goes to the first model of its own
/// preference order that is eligible and still has room; a query no such model remains for is deferred.
/// </summary>
internal static class BaselinePlacement
{
    /// <summary>Fills <c>order</c> (length M) with query <c>i</c>'s models, most preferred first.</summary>
    public delegate void PreferenceOrder(int query, Span<int> order);

    /// <summary>Places every query by its preference order and reports the result honestly (no bound).</summary>
    public static AssignmentResult Solve(
        PredictionMatrix predictions, AssignmentConstraints constraints, int[] caps, PreferenceOrder preference, CancellationToken cancellationToken)
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
        Span<int> order = m <= 256 ? stackalloc int[m] : new int[m];
        ReadOnlySpan<bool> eligible = predictions.Eligible;
        for (int i = 0; i < n; i++)
        {
            if ((i & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            preference(i, order);
            int chosen = AssignmentResult.DeferredModel;
            foreach (int j in order)
            {
                if (eligible[(i * m) + j] && room[j] > 0)
                {
                    chosen = j;
                    break;
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

    /// <summary>Sorts <paramref name="order"/> (filled with 0..M−1) ascending by <paramref name="key"/>, ties by index.</summary>
    public static void SortBy(Span<int> order, ReadOnlySpan<double> key)
    {
        for (int j = 0; j < order.Length; j++)
        {
            order[j] = j;
        }

        // insertion sort: M is small and the sort must be stable
        for (int a = 1; a < order.Length; a++)
        {
            int x = order[a];
            int b = a - 1;
            while (b >= 0 && key[order[b]] > key[x])
            {
                order[b + 1] = order[b];
                b--;
            }

            order[b + 1] = x;
        }
    }
}
