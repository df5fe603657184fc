namespace Eccos.Scheduling;

/// <summary>The outcome of one assignment problem.</summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed class AssignmentResult
{
    /// <summary>The value of <see cref="Assignments"/> for a deferred query.</summary>
    public const int DeferredModel = -1;

    /// <summary>Initializes a new <see cref="AssignmentResult"/>.</summary>
    /// <param name="assignments">Model index per query, <see cref="DeferredModel"/> for a deferred query. Owned by the result.</param>
    /// <param name="totalCost">Total predicted cost of the assigned queries.</param>
    /// <param name="meanQuality">Mean predicted quality over all N queries (a deferred query counts as 0).</param>
    /// <param name="bound">The proven bound on the optimum (see <see cref="Bound"/>).</param>
    /// <param name="iterations">Iterations the solver spent.</param>
    /// <param name="status">How the solver ended.</param>
    /// <param name="qualityPrice">λ, the final quality multiplier (0 when the solver has none).</param>
    /// <param name="capacityPrices">μ_j per model, the final capacity multipliers (zeros when the solver has none). Owned by the result.</param>
    public AssignmentResult(
        int[] assignments,
        double totalCost,
        double meanQuality,
        double bound,
        int iterations,
        AssignmentStatus status,
        double qualityPrice = 0,
        double[]? capacityPrices = null)
    {
        ArgumentNullException.ThrowIfNull(assignments);
        Assignments = assignments;
        TotalCost = totalCost;
        MeanQuality = meanQuality;
        Bound = bound;
        Iterations = iterations;
        Status = status;
        QualityPrice = qualityPrice;
        CapacityPrices = capacityPrices ?? [];
        int deferred = 0;
        foreach (int a in assignments)
        {
            if (a == DeferredModel)
            {
                deferred++;
            }
        }

        var list = new int[deferred];
        for (int i = 0, d = 0; i < assignments.Length; i++)
        {
            if (assignments[i] == DeferredModel)
            {
                list[d++] = i;
            }
        }

        Deferred = list;
    }

    /// <summary>Gets the model index chosen for each query, or <see cref="DeferredModel"/> for a deferred query.</summary>
    public IReadOnlyList<int> Assignments { get; }

    /// <summary>Gets the indices of the queries that could not be placed within the capacities.</summary>
    public IReadOnlyList<int> Deferred { get; }

    /// <summary>Gets the total predicted cost of the assignment.</summary>
    public double TotalCost { get; }

    /// <summary>Gets the mean predicted quality over all N queries (deferred queries count as 0).</summary>
    public double MeanQuality { get; }

    /// <summary>
    /// Gets the proven bound on the optimum: without a budget, a lower bound on the least total cost that meets the
    /// constraints; with a budget, an upper bound on the highest mean quality that fits it. <see cref="double.NaN"/>
    /// when the solver proves none.
    /// </summary>
    public double Bound { get; }

    /// <summary>
    /// Gets the relative gap between the assignment's objective and <see cref="Bound"/>:
    /// <c>(objective − bound) / max(|objective|, ε)</c> for cost, <c>(bound − objective) / max(|bound|, ε)</c> for
    /// quality; 0 when proven optimal, <see cref="double.NaN"/> without a bound.
    /// </summary>
    public double Gap => double.IsNaN(Bound)
        ? double.NaN
        : Status == AssignmentStatus.CapacityShortfall || Status == AssignmentStatus.QualityTargetUnreachable
            ? double.NaN
            : IsBudgetMode
                ? Math.Max(0, Bound - MeanQuality) / Math.Max(Math.Abs(Bound), 1e-12)
                : Math.Max(0, TotalCost - Bound) / Math.Max(Math.Abs(TotalCost), 1e-12);

    /// <summary>Gets the iterations the solver spent (dual steps, nodes or passes, depending on the solver).</summary>
    public int Iterations { get; }

    /// <summary>Gets how the solver ended.</summary>
    public AssignmentStatus Status { get; }

    /// <summary>Gets λ, the final price of quality: how much cost one unit of mean quality was worth at the optimum.</summary>
    public double QualityPrice { get; }

    /// <summary>Gets μ_j, the final price of each model's capacity (empty when the solver has none).</summary>
    public IReadOnlyList<double> CapacityPrices { get; }

    /// <summary>Gets a value indicating whether the result was solved in budget mode.</summary>
    public bool IsBudgetMode { get; init; }

    /// <summary>Gets a value indicating whether every constraint holds and no query was deferred.</summary>
    public bool IsFeasible => Status is AssignmentStatus.Optimal or AssignmentStatus.Feasible;
}
