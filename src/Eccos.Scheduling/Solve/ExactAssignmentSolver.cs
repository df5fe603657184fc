using System.Globalization;

namespace Eccos.Scheduling;

/// <summary>
/// The exact optimum of small assignment problems by branch and bound: the reference the other solvers are measured
/// against. Same problem, statuses and conventions as <see cref="LagrangianAssignmentSolver"/>.
/// </summary>
/// <remarks>
/// <para>
/// Depth-first search over the queries, most contested first, trying each query's models in order of priced cost;
/// a branch is cut when even the per-query minima (ignoring capacities) cannot meet the quality target or the
/// budget, or when the Lagrangian bound <c>Σ min_j (f_ij + t·g_ij) − t·limit</c> (at t = 0 and at the optimal t of
/// the relaxation without capacities) cannot beat the incumbent.
/// </para>
/// <para>
/// Lexicographic goals, as the statuses promise: place as many queries as the capacities allow (the rest deferred,
/// <see cref="AssignmentStatus.CapacityShortfall"/>); if the quality target (the budget) can be met on the placed
/// queries, the least cost (the highest quality) that meets it; otherwise the highest quality (least cost)
/// assignment, with <see cref="AssignmentStatus.QualityTargetUnreachable"/> (<see cref="AssignmentStatus.BudgetUnreachable"/>).
/// A feasible result is <see cref="AssignmentStatus.Optimal"/> with <see cref="AssignmentResult.Bound"/> equal to
/// its objective. Multipliers are not computed (λ = 0, μ = 0).
/// </para>
/// <para>
/// The search space is M^N; problems with M^N above <see cref="MaxSearchSpace"/> or more than
/// <see cref="MaxQueries"/> queries are refused with an <see cref="ArgumentException"/>. Thread-safe and deterministic; cancellation is checked every 4096 nodes.
/// </para>
/// </remarks>
public sealed class ExactAssignmentSolver : IAssignmentSolver
{
    /// <summary>The largest M^N (assignments to search) accepted: 10^9.</summary>
    public const double MaxSearchSpace = 1e9;

    /// <summary>The most queries accepted (the search recurses once per query): 1,000.</summary>
    public const int MaxQueries = 1000;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The problem is larger than <see cref="MaxSearchSpace"/> or <see cref="MaxQueries"/>.</exception>
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        int[] caps = SolveSupport.ValidateAndResolve(predictions, constraints);
        int n = predictions.QueryCount;
        int m = predictions.ModelCount;
        if (n * Math.Log(m) > Math.Log(MaxSearchSpace) || n > MaxQueries)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"ExactAssignmentSolver searches at most M^N = {MaxSearchSpace:G3} assignments of at most {MaxQueries} queries; this problem has N = {n} queries and M = {m} models (M^N = {Math.Pow(m, n):G3}). Use LagrangianAssignmentSolver."),
                nameof(predictions));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (n == 0)
        {
            return SolveSupport.Empty(predictions, constraints);
        }

        bool budget = constraints.CostBudget.HasValue;
        int placeable = Placement.Compute(predictions, caps).Placeable;
        using var p = SolverProblem.Create(predictions, constraints, caps, null, placeable);
        int maxDeferred = n - placeable;

        // branching order: most contested queries first (widest spread of f); options by priced cost at the t of
        // the relaxation without capacities
        double t = 0;
        if (p.HasSide)
        {
            var search = new LineSearch(p);
            t = search.MaximizeOverT(new double[m], search.EstimateT(), spread: 1.3);
        }

        double tt = double.IsFinite(t) ? t : 0;
        int[] order = Enumerable.Range(0, n).OrderByDescending(i => Spread(p, i)).ThenBy(i => i).ToArray();
        var options = new int[n][];
        for (int d = 0; d < n; d++)
        {
            int i = order[d];
            var list = Enumerable.Range(0, m).Where(j => p.IsEligible(i, j))
                .OrderBy(j => p.F[(j * n) + i] + (tt * p.G[(j * n) + i])).ThenBy(j => j).ToList();
            if (maxDeferred > 0)
            {
                list.Add(AssignmentResult.DeferredModel);
            }

            options[d] = [.. list];
        }

        long nodes = 0;
        int[]? choice = null;
        AssignmentStatus status = maxDeferred > 0 ? AssignmentStatus.CapacityShortfall : AssignmentStatus.Optimal;
        if (double.IsFinite(t) || !p.HasSide)
        {
            var bb = new BranchAndBound(p, order, options, p.Capacity, p.Limit, minimizeG: false, maxDeferred, long.MaxValue, [tt], null, cancellationToken);
            bb.Run();
            nodes += bb.Nodes;
            if (!double.IsPositiveInfinity(bb.BestValue))
            {
                choice = bb.Best;
            }
        }

        if (choice is null)
        {
            // the target (budget) cannot be met: the least Σg instead
            var bb = new BranchAndBound(p, order, options, p.Capacity, double.PositiveInfinity, minimizeG: true, maxDeferred, long.MaxValue, [], null, cancellationToken);
            bb.Run();
            nodes += bb.Nodes;
            choice = bb.Best;
            if (maxDeferred == 0)
            {
                status = budget ? AssignmentStatus.BudgetUnreachable : AssignmentStatus.QualityTargetUnreachable;
            }
        }

        var assignment = new int[n];
        for (int d = 0; d < n; d++)
        {
            assignment[order[d]] = choice[d];
        }

        (double cost, double quality, _) = SolveSupport.Measure(predictions, assignment);
        double bound = status == AssignmentStatus.Optimal ? (budget ? quality : cost) : double.NaN;
        return new AssignmentResult(assignment, cost, quality, bound, (int)Math.Min(nodes, int.MaxValue), status, 0, new double[m])
        {
            IsBudgetMode = budget,
        };
    }

    private static double Spread(SolverProblem p, int i)
    {
        double min = double.PositiveInfinity;
        double max = double.NegativeInfinity;
        for (int j = 0; j < p.M; j++)
        {
            if (p.IsEligible(i, j))
            {
                double v = p.F[(j * p.N) + i];
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }

        return max - min;
    }
}
