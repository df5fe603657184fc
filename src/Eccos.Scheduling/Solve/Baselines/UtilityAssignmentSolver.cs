namespace Eccos.Scheduling;

/// <summary>
/// RouterBench's predictive router: each query independently takes <c>argmax_j λ·a_ij − c_ij</c> over its eligible
/// models. With λ = +∞ it takes the highest quality and, among ties, the cheapest model: on recorded outcomes that is
/// the oracle. Placed like the library's baselines: in query order, a query whose choice is full goes to its next
/// choice with room, and is deferred when none is left. The quality target is not optimized for (the status says
/// whether it was met).
/// </summary>
/// <remarks>
/// For evaluation, as the λ-router baseline: λ is in currency per unit of quality per query, so the crossovers between
/// models lie where λ·Δa equals Δc. <see cref="AssignmentResult.Bound"/> is <see cref="double.NaN"/>. Immutable;
/// thread-safe and deterministic.
/// </remarks>
public sealed class UtilityAssignmentSolver : IAssignmentSolver
{
    /// <summary>Initializes the router for one λ.</summary>
    /// <param name="lambda">The value of one unit of quality in cost units: positive, or <see cref="double.PositiveInfinity"/> for quality first.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lambda"/> is not positive.</exception>
    public UtilityAssignmentSolver(double lambda)
    {
        if (double.IsNaN(lambda) || lambda <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "λ must be positive (or +∞ for quality first).");
        }

        Lambda = lambda;
    }

    /// <summary>Gets λ, the value of one unit of quality in cost units.</summary>
    public double Lambda { get; }

    /// <inheritdoc />
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        int[] caps = SolveSupport.ValidateAndResolve(predictions, constraints);
        int m = predictions.ModelCount;
        bool qualityFirst = double.IsPositiveInfinity(Lambda);
        return BaselinePlacement.Solve(predictions, constraints, caps, (i, key) =>
        {
            ReadOnlySpan<double> a = predictions.QualityRow(i);
            ReadOnlySpan<double> c = predictions.CostRow(i);
            for (int j = 0; j < m; j++)
            {
                if (qualityFirst)
                {
                    // lexicographic (quality descending, then cost ascending) through exact ranks
                    int better = 0, cheaper = 0;
                    for (int k = 0; k < m; k++)
                    {
                        better += a[k] > a[j] ? 1 : 0;
                        cheaper += c[k] < c[j] ? 1 : 0;
                    }

                    key[j] = (better * (m + 1)) + cheaper;
                }
                else
                {
                    key[j] = c[j] - (Lambda * a[j]);
                }
            }
        }, cancellationToken);
    }
}
