namespace Eccos.Scheduling;

/// <summary>
/// The built-in solver: Lagrangian relaxation of the quality target (or the budget) and the capacities, with exact
/// coordinate steps and exact line searches (breakpoint searches) on the multipliers, an exact LP phase (transportation
/// solves along the quality price) when capacities bind and the gap stays open, a greedy repair to feasibility and an
/// exact polish of the closest calls. Returns the best feasible assignment found, the best dual bound and the final
/// prices; the quality target (budget) holds exactly in the arithmetic the result reports, unless
/// <see cref="LagrangianSolverOptions.FeasibilityTolerance"/> says otherwise.
/// </summary>
/// <remarks>
/// <para>
/// Cost mode solves <c>min Σ c_ij·x_ij</c> s.t. <c>(1/N)·Σ a_ij·x_ij ≥ α</c> and <c>Σ_i x_ij ≤ L_j</c>; every query
/// takes the eligible model minimizing <c>c_ij − λ·a_ij/N + μ_j</c>, and the dual value is a lower bound on the least
/// cost (<see cref="AssignmentResult.Bound"/>). Budget mode (<see cref="AssignmentConstraints.CostBudget"/>)
/// maximizes mean quality s.t. <c>Σ c_ij·x_ij ≤ B</c> the same way, with an upper bound on the best mean quality.
/// With no capacity that can bind, the exact breakpoint search on λ alone finds the dual optimum.
/// </para>
/// <para>
/// <see cref="AssignmentResult.QualityPrice"/> is λ in cost units per unit of mean quality and
/// <see cref="AssignmentResult.CapacityPrices"/> are μ_j in cost units per query, both at the best bound, so a query
/// outside the batch can be priced by the same rule. In budget mode, with β the budget's multiplier, λ = N/β and
/// μ_j are the quality multipliers divided by β; a budget that does not bind (β = 0) gives λ = +∞ (only quality
/// matters) and μ_j = +∞ for a full model. When the target is unreachable λ = +∞ (quality only); when the budget is
/// unreachable λ = 0 (cost only).
/// </para>
/// <para>
/// Statuses: <see cref="AssignmentStatus.Optimal"/> when the gap is within <see cref="LagrangianSolverOptions.Tolerance"/>,
/// else <see cref="AssignmentStatus.Feasible"/>; <see cref="AssignmentStatus.QualityTargetUnreachable"/> or
/// <see cref="AssignmentStatus.BudgetUnreachable"/> with the exact highest-quality (cheapest) assignment within the
/// capacities; <see cref="AssignmentStatus.CapacityShortfall"/> when the capacities and eligibility cannot take every
/// query: a maximum set is placed (the quality target then applies to the placed queries' mean) and the rest is
/// deferred. <see cref="AssignmentResult.Bound"/> is <see cref="double.NaN"/> unless the status is Optimal or Feasible.
/// </para>
/// <para>
/// Thread safety: the instance holds only its validated options; every solve allocates its own buffers, so
/// concurrent calls are safe and give identical results for identical input (the method is deterministic).
/// Cancellation is checked between iterations.
/// </para>
/// </remarks>
public sealed class LagrangianAssignmentSolver : IAssignmentSolver
{
    private readonly LagrangianSolverOptions _options;

    /// <summary>Initializes a new solver.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults. Validated and copied.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public LagrangianAssignmentSolver(LagrangianSolverOptions? options = null)
    {
        _options = (options ?? new LagrangianSolverOptions()).Validated(nameof(options));
    }

    /// <inheritdoc />
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        int[] caps = SolveSupport.ValidateAndResolve(predictions, constraints);
        cancellationToken.ThrowIfCancellationRequested();
        int n = predictions.QueryCount;
        if (n == 0)
        {
            return SolveSupport.Empty(predictions, constraints);
        }

        bool budget = constraints.CostBudget.HasValue;
        AssignmentConstraints target = Relaxed(constraints, _options.FeasibilityTolerance);
        int[]? kept = SolveSupport.ChooseKept(predictions, target, caps);
        var assignment = new int[n];
        Array.Fill(assignment, AssignmentResult.DeferredModel);
        double lambda = 0;
        var mu = new double[predictions.ModelCount];
        int iterations = 0;
        AssignmentStatus status;
        double bound = double.NaN;
        if (kept is { Length: 0 })
        {
            status = AssignmentStatus.CapacityShortfall;
        }
        else
        {
            using var problem = SolverProblem.Create(predictions, target, caps, kept);
            var engine = new LagrangianEngine(problem, _options, cancellationToken);
            engine.Run();
            if (kept is null && problem.HasSide)
            {
                // the target (budget) must hold in the arithmetic the result reports, not only in the solve's sums
                engine.EnsureSide(a => SolveSupport.MeetsExactly(predictions, target, a));
            }

            iterations = engine.Iterations;
            for (int r = 0; r < problem.N; r++)
            {
                assignment[problem.QueryIndex[r]] = engine.Assignment[r];
            }

            (lambda, mu) = Prices(problem, engine);
            status = kept is not null ? AssignmentStatus.CapacityShortfall
                : engine.Unreachable ? (budget ? AssignmentStatus.BudgetUnreachable : AssignmentStatus.QualityTargetUnreachable)
                : AssignmentStatus.Feasible;
            if (status == AssignmentStatus.Feasible)
            {
                bound = budget ? -engine.Bound * problem.FScale / n : engine.Bound * problem.FScale;
            }
        }

        (double cost, double quality, _) = SolveSupport.Measure(predictions, assignment);
        if (status == AssignmentStatus.Feasible)
        {
            double gap = budget
                ? Math.Max(0, bound - quality) / Math.Max(Math.Abs(bound), 1e-12)
                : Math.Max(0, cost - bound) / Math.Max(Math.Abs(cost), 1e-12);
            if (gap <= _options.Tolerance)
            {
                status = AssignmentStatus.Optimal;
            }
        }

        return new AssignmentResult(assignment, cost, quality, bound, iterations, status, lambda, mu) { IsBudgetMode = budget };
    }

    /// <summary>The constraints with the quality target lowered (the budget raised) by the relative feasibility tolerance.</summary>
    private static AssignmentConstraints Relaxed(AssignmentConstraints c, double tolerance) => tolerance == 0
        ? c
        : new AssignmentConstraints
        {
            QualityTarget = c.QualityTarget * (1 - tolerance),
            Capacities = c.Capacities,
            CostBudget = c.CostBudget * (1 + tolerance),
        };

    private static (double Lambda, double[] Mu) Prices(SolverProblem p, LagrangianEngine engine)
    {
        var mu = new double[p.M];
        double t = engine.T;
        if (engine.Unreachable)
        {
            // least Σg within the capacities: cost mode maximizes quality (λ = +∞), budget mode minimizes cost (λ = 0)
            for (int j = 0; j < p.M; j++)
            {
                double m = engine.Mu[j] * p.GScale;
                mu[j] = p.BudgetMode ? m : m > 0 ? double.PositiveInfinity : 0;
            }

            return (p.BudgetMode ? 0 : double.PositiveInfinity, mu);
        }

        double tReal = t * p.FScale / p.GScale;
        if (!p.BudgetMode)
        {
            for (int j = 0; j < p.M; j++)
            {
                mu[j] = engine.Mu[j] * p.FScale;
            }

            return (tReal * p.N, mu);
        }

        // budget mode: −a + β·c + μ'' ⇔ c − a/β + μ''/β
        for (int j = 0; j < p.M; j++)
        {
            double m = engine.Mu[j] * p.FScale;
            mu[j] = tReal > 0 ? m / tReal : m > 0 ? double.PositiveInfinity : 0;
        }

        return (tReal > 0 ? p.N / tReal : double.PositiveInfinity, mu);
    }
}
