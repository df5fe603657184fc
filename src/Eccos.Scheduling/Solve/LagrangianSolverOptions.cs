namespace Eccos.Scheduling;

/// <summary>Options of <see cref="LagrangianAssignmentSolver"/>. Every default is the value documented on its property.</summary>
/// <remarks>A plain options object: set it up once, then hand it to the solver, which validates and copies it.</remarks>
public sealed class LagrangianSolverOptions
{
    /// <summary>Gets or sets the most dual evaluations per solve (exact coordinate sweeps, line searches and transportation solves). Default 200.</summary>
    public int MaxIterations { get; set; } = 200;

    /// <summary>
    /// Gets or sets the relative gap between the best assignment and the best dual bound at which the solver stops and
    /// reports <see cref="AssignmentStatus.Optimal"/>. Default 0.001 (0.1 %).
    /// </summary>
    public double Tolerance { get; set; } = 0.001;

    /// <summary>
    /// Gets or sets how far the result may miss the quality target or the budget, relative to it: the reported
    /// <see cref="AssignmentResult.MeanQuality"/> is at least <c>α·(1 − FeasibilityTolerance)</c> (budget mode: the
    /// <see cref="AssignmentResult.TotalCost"/> at most <c>B·(1 + FeasibilityTolerance)</c>) for every result reported
    /// <see cref="AssignmentStatus.Optimal"/> or <see cref="AssignmentStatus.Feasible"/>, in the arithmetic those
    /// properties are reported in. Default 0: the target (budget) holds exactly; a target the solver cannot meet in
    /// that arithmetic is reported <see cref="AssignmentStatus.QualityTargetUnreachable"/>
    /// (<see cref="AssignmentStatus.BudgetUnreachable"/>). A small positive value (such as 1e-9) accepts results that
    /// miss by rounding of long sums only.
    /// </summary>
    public double FeasibilityTolerance { get; set; }

    /// <summary>
    /// Gets or sets how many queries — those closest to a tie between two models at the final multipliers — the final
    /// exact branch-and-bound polish may reassign. 0 turns the polish off. Default 12.
    /// </summary>
    public int PolishQueries { get; set; } = 12;

    /// <summary>Gets or sets how many models, cheapest at the final prices first, the polish tries per query. Default 4.</summary>
    public int PolishOptions { get; set; } = 4;

    /// <summary>Gets or sets the most branch-and-bound nodes the polish may visit. Default 20,000.</summary>
    public int PolishNodeLimit { get; set; } = 20_000;

    internal LagrangianSolverOptions Validated(string paramName)
    {
        Check(MaxIterations >= 1, MaxIterations, nameof(MaxIterations), "must be at least 1", paramName);
        Check(double.IsFinite(Tolerance) && Tolerance >= 0, Tolerance, nameof(Tolerance), "must be a finite, non-negative number", paramName);
        Check(double.IsFinite(FeasibilityTolerance) && FeasibilityTolerance >= 0 && FeasibilityTolerance < 1, FeasibilityTolerance, nameof(FeasibilityTolerance), "must be in [0, 1)", paramName);
        Check(PolishQueries >= 0, PolishQueries, nameof(PolishQueries), "must not be negative", paramName);
        Check(PolishOptions >= 1, PolishOptions, nameof(PolishOptions), "must be at least 1", paramName);
        Check(PolishNodeLimit >= 0, PolishNodeLimit, nameof(PolishNodeLimit), "must not be negative", paramName);
        return (LagrangianSolverOptions)MemberwiseClone();
    }

    private static void Check(bool ok, object value, string property, string rule, string paramName)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"LagrangianSolverOptions.{property} {rule}.");
        }
    }
}
