namespace Eccos.Scheduling;

/// <summary>What a replay of recorded outcomes realized at one internal target.</summary>
/// <param name="Target">The quality target handed to the solver.</param>
/// <param name="RealizedQuality">Mean recorded score of the chosen models over all replayed queries (a deferred query counts as 0).</param>
/// <param name="PredictedQuality">Mean predicted quality of the chosen models over all replayed queries.</param>
/// <param name="Cost">Total recorded cost of the chosen models' answers.</param>
/// <param name="Queries">The number of replayed queries.</param>
/// <param name="Deferred">Queries the solver deferred (capacity shortfall).</param>
/// <param name="UnreachableBatches">Batches where the solver reported the target unreachable.</param>
internal readonly record struct ReplayResult(
    double Target, double RealizedQuality, double PredictedQuality, double Cost, int Queries, int Deferred, int UnreachableBatches);

/// <summary>
/// Replays a predictor and a solver over recorded outcomes: predicts each batch once, then solves it for any target
/// and scores each choice with the recorded outcome of the chosen model. Models without a graded answer to a query are
/// made ineligible for it; queries no model has a graded answer to are left out.
/// </summary>
/// <remarks>Predictions are computed once by <see cref="PrepareAsync"/>; <see cref="Run"/> is thread-safe.</remarks>
internal sealed class OutcomeReplay
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

    public static async Task<OutcomeReplay> PrepareAsync(
        IPredictor predictor,
        IReadOnlyList<OutcomeRecord> records,
        IReadOnlyList<ModelProfile> models,
        int batchSize,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(models);
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
                if (o.Score is { } s && o.Error is null && index.TryGetValue(o.Model, out int j))
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
    public static OutcomeReplay Combine(IReadOnlyList<OutcomeReplay> parts) =>
        new(
            [.. parts.SelectMany(p => p._batches)],
            [.. parts.SelectMany(p => p._scores)],
            [.. parts.SelectMany(p => p._costs)],
            parts.Sum(p => p.QueryCount));

    /// <summary>Solves every batch for <paramref name="target"/> and scores the choices with the recorded outcomes.</summary>
    public ReplayResult Run(IAssignmentSolver solver, double target, IReadOnlyList<int>? capacities, int maxDegreeOfParallelism, CancellationToken cancellationToken)
    {
        var constraints = new AssignmentConstraints { QualityTarget = target, Capacities = capacities };
        var realized = new double[_batches.Length];
        var predicted = new double[_batches.Length];
        var cost = new double[_batches.Length];
        var deferred = new int[_batches.Length];
        var unreachable = new int[_batches.Length];
        Parallel.For(0, _batches.Length, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = maxDegreeOfParallelism }, b =>
        {
            PredictionMatrix p = _batches[b];
            AssignmentResult result = solver.Solve(p, constraints, cancellationToken);
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
        });

        double n = Math.Max(1, QueryCount);
        return new ReplayResult(target, realized.Sum() / n, predicted.Sum() / n, cost.Sum(), QueryCount, deferred.Sum(), unreachable.Sum());
    }
}
