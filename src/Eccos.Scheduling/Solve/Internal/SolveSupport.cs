namespace Eccos.Scheduling;

/// <summary>What every solver does around its method: validation, the shortfall split and the result.</summary>
internal static class SolveSupport
{
    /// <summary>Validates the input and resolves the capacities.</summary>
    /// <param name="predictions">The predictions argument.</param>
    /// <param name="constraints">The constraints argument.</param>
    /// <returns>The capacity of every model.</returns>
    public static int[] ValidateAndResolve(PredictionMatrix predictions, AssignmentConstraints constraints)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(constraints);
        constraints.Validate(predictions, nameof(constraints));
        var caps = new int[predictions.ModelCount];
        constraints.ResolveCapacities(predictions, caps, nameof(constraints));
        return caps;
    }

    /// <summary>The result for a batch without queries: nothing to assign, proven optimal.</summary>
    public static AssignmentResult Empty(PredictionMatrix predictions, AssignmentConstraints constraints) =>
        new([], 0, 0, 0, 0, AssignmentStatus.Optimal, 0, new double[predictions.ModelCount])
        {
            IsBudgetMode = constraints.CostBudget.HasValue,
        };

    /// <summary>Sums the cost, the quality and the deferred queries of an assignment.</summary>
    public static (double Cost, double MeanQuality, int Deferred) Measure(PredictionMatrix predictions, int[] assignment)
    {
        int m = predictions.ModelCount;
        ReadOnlySpan<double> cost = predictions.Cost;
        ReadOnlySpan<double> quality = predictions.Quality;
        double c = 0;
        double q = 0;
        int deferred = 0;
        for (int i = 0; i < assignment.Length; i++)
        {
            int j = assignment[i];
            if (j == AssignmentResult.DeferredModel)
            {
                deferred++;
                continue;
            }

            c += cost[(i * m) + j];
            q += quality[(i * m) + j];
        }

        return (c, assignment.Length == 0 ? 0 : q / assignment.Length, deferred);
    }

    /// <summary>Whether an assignment without deferrals meets the quality target or the budget.</summary>
    public static bool MeetsSide(AssignmentConstraints constraints, double cost, double meanQuality, int n) =>
        constraints.CostBudget is { } budget
            ? cost <= budget + (1e-9 * Math.Max(1, budget))
            : meanQuality * n >= (constraints.QualityTarget * n) - (1e-9 * Math.Max(1, n));

    /// <summary>
    /// Whether an assignment of every query meets the quality target (the budget) exactly, in the arithmetic of
    /// <see cref="Measure"/>, the one results report.
    /// </summary>
    public static bool MeetsExactly(PredictionMatrix predictions, AssignmentConstraints constraints, int[] assignment)
    {
        (double cost, double quality, _) = Measure(predictions, assignment);
        return constraints.CostBudget is { } budget ? cost <= budget : quality >= constraints.QualityTarget;
    }

    /// <summary>
    /// The queries to keep when the capacities cannot take all of them (else <see langword="null"/>): a maximum
    /// placement, deferring within each eligibility group the queries whose best priced cost is highest.
    /// </summary>
    public static int[]? ChooseKept(PredictionMatrix predictions, AssignmentConstraints constraints, int[] caps)
    {
        var placement = Placement.Compute(predictions, caps);
        if (placement.Placeable >= predictions.QueryCount)
        {
            return null;
        }

        using var full = SolverProblem.Create(predictions, constraints, caps);
        double t = 0;
        if (full.HasSide)
        {
            var search = new LineSearch(full);
            t = search.MaximizeOverT(new double[full.M], search.EstimateT(), spread: 1.3);
            if (!double.IsFinite(t))
            {
                t = 0;
            }
        }

        var priority = new double[full.N];
        var best = new double[full.N];
        var second = new double[full.N];
        var arg = new double[full.N];
        DualKernels.BestTwo(full, t, new double[full.M], best, second, arg);
        best.CopyTo(priority, 0);
        return placement.ChooseKept(priority);
    }
}
