namespace Eccos.Scheduling;

/// <summary>Options of <see cref="LagrangianAssignmentSolver"/>. Every default is the value documented on its property.</summary>
/// <remarks>A plain options object: set it up once, then hand it to the solver, which validates and copies it.</remarks>
public sealed class LagrangianSolverOptions
{
    /// <summary>Gets or sets the most dual evaluations per solve (exact coordinate sweeps and subgradient steps). Default 200.</summary>
    public int MaxIterations { get; set; } = 200;

    /// <summary>
    /// Gets or sets the relative gap between the best assignment and the best dual bound at which the solver stops and
    /// reports <see cref="AssignmentStatus.Optimal"/>. Default 0.001 (0.1 %).
    /// </summary>
    public double Tolerance { get; set; } = 0.001;

    /// <summary>Gets or sets ρ₀, the first scale of the Polyak subgradient step <c>ρ·(UB − D)/‖s‖²</c>, in (0, 2]. Default 1.</summary>
    public double InitialStepScale { get; set; } = 1.0;

    /// <summary>Gets or sets how many subgradient steps without a better bound halve ρ. Default 5.</summary>
    public int StepHalvingPatience { get; set; } = 5;

    /// <summary>Gets or sets the ρ below which the subgradient phase stops (it no longer moves the bound). Default 1e-4.</summary>
    public double MinStepScale { get; set; } = 1e-4;

    /// <summary>Gets or sets how often (in subgradient steps) the Lagrangian assignment is repaired into a candidate. Default 5.</summary>
    public int RepairInterval { get; set; } = 5;

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
        Check(InitialStepScale > 0 && InitialStepScale <= 2, InitialStepScale, nameof(InitialStepScale), "must be in (0, 2]", paramName);
        Check(StepHalvingPatience >= 1, StepHalvingPatience, nameof(StepHalvingPatience), "must be at least 1", paramName);
        Check(MinStepScale > 0 && MinStepScale <= InitialStepScale, MinStepScale, nameof(MinStepScale), "must be in (0, InitialStepScale]", paramName);
        Check(RepairInterval >= 1, RepairInterval, nameof(RepairInterval), "must be at least 1", paramName);
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
