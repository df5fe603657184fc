namespace Eccos.Scheduling;

/// <summary>What a replay of recorded outcomes realized at one internal target.</summary>
/// <param name="Target">The quality target handed to the solver.</param>
/// <param name="RealizedQuality">Mean recorded score of the chosen models over all replayed queries (a deferred query counts as 0).</param>
/// <param name="PredictedQuality">Mean predicted quality of the chosen models over all replayed queries.</param>
/// <param name="Cost">Total recorded cost of the chosen models' answers.</param>
/// <param name="Queries">The number of replayed queries.</param>
/// <param name="Deferred">Queries the solver deferred (capacity shortfall).</param>
/// <param name="UnreachableBatches">Batches where the solver reported the target unreachable.</param>
/// <param name="CapacityViolations">Queries placed beyond a model's capacity, summed over batches and models.</param>
/// <param name="SolveTime">The solver's time, summed over batches.</param>
public readonly record struct ReplayResult(
    double Target,
    double RealizedQuality,
    double PredictedQuality,
    double Cost,
    int Queries,
    int Deferred,
    int UnreachableBatches,
    int CapacityViolations = 0,
    TimeSpan SolveTime = default);

/// <summary>
/// Replays a predictor and a solver over recorded outcomes: predicts each batch once, then solves it for any target
/// and scores each choice with the recorded outcome of the chosen model. Models without a graded answer to a query are
/// made ineligible for it; queries no model has a graded answer to are left out.
/// </summary>
/// <remarks>
/// The one replay of the library: <see cref="QualityTargetCurve"/> learns t(α) with it and the evaluation package
/// replays policies with it, so what a target curve is fitted on is exactly what is evaluated. Predictions are computed
/// once by <see cref="PrepareAsync"/>; <see cref="Run"/> is thread-safe (the solver must be, as its contract requires).
/// </remarks>
public sealed class OutcomeReplay
{
    private readonly PredictionMatrix[] _batches;
    private readonly double[][] _scores;
    private readonly double[][] _costs;

    private OutcomeReplay(PredictionMatrix[] batches, double[][] scores, double[][] costs, int queries)
    {
        _batches = batches;
        _scores = scores;
        _costs = costs;
        QueryCount = queries;
    }

    /// <summary>Gets the number of replayed queries.</summary>
    public int QueryCount { get; }

    /// <summary>Predicts every batch of <paramref name="records"/> once, ready to be solved for any target.</summary>
    /// <param name="predictor">The predictor; it must not have been fitted on <paramref name="records"/>.</param>
    /// <param name="records">Recorded outcomes, replayed in this order, in batches of <paramref name="batchSize"/>.</param>
    /// <param name="models">The models, in the column order of the predictions.</param>
    /// <param name="batchSize">Queries per batch (the last may be smaller); at least 1.</param>
    /// <param name="cancellationToken">Cancels the predictions.</param>
    /// <returns>The replay.</returns>
    /// <exception cref="ArgumentException">A record is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is below 1.</exception>
    public static async Task<OutcomeReplay> PrepareAsync(
        IPredictor predictor,
        IReadOnlyList<OutcomeRecord> records,
        IReadOnlyList<ModelProfile> models,
        int batchSize,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(models);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int m = models.Count;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int j = 0; j < m; j++)
        {
            index[models[j].Name] = j;
        }

        // Keep the queries some model has a graded answer to; remember each one's recorded scores and costs.
        var kept = new List<OutcomeRecord>(records.Count);
        var scoreRows = new List<double[]>(records.Count);
        var costRows = new List<double[]>(records.Count);
        for (int r = 0; r < records.Count; r++)
        {
            OutcomeRecord record = records[r] ?? throw new ArgumentException($"Record {r} is null.", nameof(records));
            double[] score = new double[m];
            double[] cost = new double[m];
            Array.Fill(score, double.NaN);
            bool any = false;
            foreach (ModelOutcome o in record.Outputs)
            {
                if (o.Quality is { } s && o.Error is null && index.TryGetValue(o.Model, out int j))
                {
                    score[j] = s;
                    cost[j] = o.Cost ?? models[j].CostOf(record.InputTokens, o.OutputTokens);
                    any = true;
                }
            }

            if (any)
            {
                kept.Add(record);
                scoreRows.Add(score);
                costRows.Add(cost);
            }
        }

        int batches = (kept.Count + batchSize - 1) / batchSize;
        var matrices = new PredictionMatrix[batches];
        var scores = new double[batches][];
        var costs = new double[batches][];
        for (int b = 0; b < batches; b++)
        {
            int start = b * batchSize;
            int n = Math.Min(batchSize, kept.Count - start);
            var queries = new SchedulingQuery[n];
            scores[b] = new double[n * m];
            costs[b] = new double[n * m];
            for (int i = 0; i < n; i++)
            {
                queries[i] = kept[start + i].ToQuery();
                scoreRows[start + i].CopyTo(scores[b], i * m);
                costRows[start + i].CopyTo(costs[b], i * m);
            }

            PredictionMatrix p = await predictor.PredictAsync(queries, models, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
            {
                Span<bool> eligible = p.EligibleRow(i);
                bool any = false;
                for (int j = 0; j < m; j++)
                {
                    eligible[j] &= !double.IsNaN(scores[b][(i * m) + j]);
                    any |= eligible[j];
                }

                if (!any)
                {
                    // The predictor ruled out every model that was graded: replay over the graded ones anyway.
                    for (int j = 0; j < m; j++)
                    {
                        eligible[j] = !double.IsNaN(scores[b][(i * m) + j]);
                    }
                }
            }

            matrices[b] = p;
        }

        return new OutcomeReplay(matrices, scores, costs, kept.Count);
    }

    /// <summary>Joins replays (for example the folds of a cross-fit) into one.</summary>
    /// <param name="parts">Replays over the same models.</param>
    /// <returns>A replay of every batch of every part, in order.</returns>
    public static OutcomeReplay Combine(IReadOnlyList<OutcomeReplay> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        return new(
            [.. parts.SelectMany(p => p._batches)],
            [.. parts.SelectMany(p => p._scores)],
            [.. parts.SelectMany(p => p._costs)],
            parts.Sum(p => p.QueryCount));
    }

    /// <summary>
    /// Solves every batch for <paramref name="target"/> under the capacities <paramref name="capacitiesOfBatch"/> gives for
    /// a batch of n queries, scores the choices with the recorded outcomes, counts capacity violations and times the solver.
    /// </summary>
    /// <param name="solver">The solver.</param>
    /// <param name="target">The quality target handed to the solver for every batch.</param>
    /// <param name="capacitiesOfBatch">The capacities of a batch of n queries; <see langword="null"/> (or a null result) for each model's <see cref="ModelProfile.Capacity"/>.</param>
    /// <param name="maxDegreeOfParallelism">How many batches are solved at once; -1 for no limit, 1 to time solves one at a time.</param>
    /// <param name="timeProvider">The clock of the solve times; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="cancellationToken">Cancels the replay between and inside solves.</param>
    /// <returns>What the replay realized.</returns>
    /// <exception cref="InvalidOperationException">The solver returned a wrong number of assignments or picked an ineligible model.</exception>
    public ReplayResult Run(
        IAssignmentSolver solver,
        double target,
        Func<int, IReadOnlyList<int>?>? capacitiesOfBatch = null,
        int maxDegreeOfParallelism = -1,
        TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(solver);
        capacitiesOfBatch ??= static _ => null;
        timeProvider ??= TimeProvider.System;
        var realized = new double[_batches.Length];
        var predicted = new double[_batches.Length];
        var cost = new double[_batches.Length];
        var deferred = new int[_batches.Length];
        var unreachable = new int[_batches.Length];
        var violations = new int[_batches.Length];
        var solveTicks = new long[_batches.Length];
        try
        {
            Solve();
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            // A solver's ArgumentException or a bad assignment surfaces as itself, not wrapped by the parallel loop.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        double n = Math.Max(1, QueryCount);
        return new ReplayResult(
            target, realized.Sum() / n, predicted.Sum() / n, cost.Sum(), QueryCount, deferred.Sum(), unreachable.Sum(), violations.Sum(), TimeSpan.FromTicks(solveTicks.Sum()));

        void Solve() => Parallel.For(0, _batches.Length, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = maxDegreeOfParallelism }, b =>
        {
            PredictionMatrix p = _batches[b];
            IReadOnlyList<int>? capacities = capacitiesOfBatch(p.QueryCount);
            var constraints = new AssignmentConstraints { QualityTarget = target, Capacities = capacities };
            long start = timeProvider.GetTimestamp();
            AssignmentResult result = solver.Solve(p, constraints, cancellationToken);
            solveTicks[b] = timeProvider.GetElapsedTime(start).Ticks;
            if (result.Assignments.Count != p.QueryCount)
            {
                throw new InvalidOperationException($"The solver returned {result.Assignments.Count} assignments for {p.QueryCount} queries.");
            }

            int m = p.ModelCount;
            ReadOnlySpan<double> quality = p.Quality;
            for (int i = 0; i < p.QueryCount; i++)
            {
                int j = result.Assignments[i];
                if (j == AssignmentResult.DeferredModel)
                {
                    deferred[b]++;
                    continue;
                }

                int k = (i * m) + j;
                double s = _scores[b][k];
                if (double.IsNaN(s))
                {
                    throw new InvalidOperationException($"The solver assigned query {i} of batch {b} to ineligible model '{p.Models[j].Name}'.");
                }

                realized[b] += s;
                predicted[b] += quality[k];
                cost[b] += _costs[b][k];
            }

            unreachable[b] = result.Status == AssignmentStatus.QualityTargetUnreachable ? 1 : 0;
            violations[b] = CapacityViolations(p, result.Assignments, capacities);
        });
    }

    /// <summary>Returns the total recorded cost of each model over every replayed query it has a graded answer to.</summary>
    /// <returns>One total per model, in column order.</returns>
    public double[] RecordedModelCosts()
    {
        int m = _batches.Length == 0 ? 0 : _batches[0].ModelCount;
        var totals = new double[m];
        for (int b = 0; b < _batches.Length; b++)
        {
            for (int k = 0; k < _scores[b].Length; k++)
            {
                if (!double.IsNaN(_scores[b][k]))
                {
                    totals[k % m] += _costs[b][k];
                }
            }
        }

        return totals;
    }

    private static int CapacityViolations(PredictionMatrix p, IReadOnlyList<int> assignments, IReadOnlyList<int>? capacities)
    {
        int m = p.ModelCount;
        Span<int> load = m <= 256 ? stackalloc int[m] : new int[m];
        load.Clear();
        foreach (int j in assignments)
        {
            if (j >= 0)
            {
                load[j]++;
            }
        }

        int violations = 0;
        for (int j = 0; j < m; j++)
        {
            int cap = capacities is null ? p.Models[j].Capacity ?? AssignmentConstraints.Unlimited : capacities[j];
            violations += Math.Max(0, load[j] - cap);
        }

        return violations;
    }
}
