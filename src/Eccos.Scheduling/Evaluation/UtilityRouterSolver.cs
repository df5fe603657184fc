namespace Eccos.Scheduling;

/// <summary>
/// RouterBench's predictive router: each query independently takes <c>argmax_j λ·a_ij − c_ij</c> over its eligible
/// models. With λ = +∞ it takes the highest quality and, among ties, the cheapest model: on recorded outcomes that is
/// the oracle. Capacities are honoured by spilling, in query order, to the best model that still has room; a query
/// with no such model is deferred. The quality target is ignored.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
internal sealed class UtilityRouterSolver : IAssignmentSolver
{
    public UtilityRouterSolver(double lambda)
    {
        if (double.IsNaN(lambda) || lambda <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "λ must be positive (or +∞ for quality first).");
        }

        Lambda = lambda;
    }

    public double Lambda { get; }

    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(constraints);
        constraints.Validate(predictions);
        cancellationToken.ThrowIfCancellationRequested();
        int n = predictions.QueryCount;
        int m = predictions.ModelCount;
        var room = new int[m];
        constraints.ResolveCapacities(predictions, room);
        ReadOnlySpan<double> quality = predictions.Quality;
        ReadOnlySpan<double> cost = predictions.Cost;
        ReadOnlySpan<bool> eligible = predictions.Eligible;
        bool qualityFirst = double.IsPositiveInfinity(Lambda);
        var assignments = new int[n];
        double totalCost = 0;
        double totalQuality = 0;
        bool deferred = false;
        for (int i = 0; i < n; i++)
        {
            int row = i * m;
            int best = AssignmentResult.DeferredModel;
            double bestPrimary = double.NegativeInfinity;
            double bestCost = double.PositiveInfinity;
            for (int j = 0; j < m; j++)
            {
                int k = row + j;
                if (!eligible[k] || room[j] <= 0)
                {
                    continue;
                }

                double primary = qualityFirst ? quality[k] : (Lambda * quality[k]) - cost[k];
                if (primary > bestPrimary || (primary == bestPrimary && cost[k] < bestCost))
                {
                    best = j;
                    bestPrimary = primary;
                    bestCost = cost[k];
                }
            }

            assignments[i] = best;
            if (best == AssignmentResult.DeferredModel)
            {
                deferred = true;
                continue;
            }

            if (room[best] != AssignmentConstraints.Unlimited)
            {
                room[best]--;
            }

            totalCost += cost[row + best];
            totalQuality += quality[row + best];
        }

        return new AssignmentResult(
            assignments,
            totalCost,
            n == 0 ? 0 : totalQuality / n,
            double.NaN,
            1,
            deferred ? AssignmentStatus.CapacityShortfall : AssignmentStatus.Feasible);
    }
}
