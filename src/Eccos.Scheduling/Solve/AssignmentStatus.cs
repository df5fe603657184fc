namespace Eccos.Scheduling;

/// <summary>How an <see cref="IAssignmentSolver"/> ended.</summary>
public enum AssignmentStatus
{
    /// <summary>Every constraint holds and the assignment is proven optimal (gap to the bound within tolerance).</summary>
    Optimal,

    /// <summary>Every constraint holds; <see cref="AssignmentResult.Gap"/> says how far from optimal it may be.</summary>
    Feasible,

    /// <summary>
    /// The quality target cannot be reached within the capacities; the result is the highest-quality assignment
    /// that fits them.
    /// </summary>
    QualityTargetUnreachable,

    /// <summary>Budget mode: even the cheapest assignment within the capacities exceeds the budget; the result is that cheapest assignment.</summary>
    BudgetUnreachable,

    /// <summary>
    /// The capacities (with eligibility) cannot take every query: what fits is placed at best and the rest is
    /// listed in <see cref="AssignmentResult.Deferred"/>, never dropped.
    /// </summary>
    CapacityShortfall,
}
