using System.Globalization;

namespace Eccos.Scheduling;

/// <summary>
/// One batch of recorded queries prepared for replay: the queries, and per (query, model) whether the log has a graded
/// outcome for it, its recorded score and its recorded cost (or tokens × list prices). Row-major, <c>query·M + model</c>.
/// </summary>
internal sealed class ReplayBatch
{
    public ReplayBatch(int start, SchedulingQuery[] queries, int modelCount)
    {
        Start = start;
        Queries = queries;
        int size = queries.Length * modelCount;
        Available = new bool[size];
        Score = new double[size];
        Cost = new double[size];
        OutputTokens = new double[size];
    }

    /// <summary>Gets the index of the batch's first record in the replayed record list.</summary>
    public int Start { get; }

    public SchedulingQuery[] Queries { get; }

    public int Count => Queries.Length;

    /// <summary>Gets whether the model has a graded outcome for the query (otherwise it is not eligible for it).</summary>
    public bool[] Available { get; }

    public double[] Score { get; }

    public double[] Cost { get; }

    public double[] OutputTokens { get; }
}

/// <summary>What a set of assignments realized on recorded outcomes, summed over the batches seen so far.</summary>
internal struct ReplayTally
{
    public int Queries;
    public double Score;
    public double PredictedQuality;
    public double Cost;
    public int Deferred;
    public int CapacityViolations;
    public int IneligibleAssignments;

    public readonly double MeanScore => Queries == 0 ? double.NaN : Score / Queries;

    public readonly double MeanPredictedQuality => Queries == 0 ? double.NaN : PredictedQuality / Queries;
}

/// <summary>
/// Replays recorded outcomes through a predictor and a solver: the one piece of code that both the evaluation and any
/// replay-based calibration use, so that what is calibrated is exactly what is evaluated.
/// </summary>
/// <remarks>Stateless and thread-safe; the batches it builds are read-only once built.</remarks>
internal static class OutcomeReplay
{
    /// <summary>
    /// Cuts <paramref name="records"/> (in order) into batches of <paramref name="batchSize"/> and records, per model
    /// of <paramref name="models"/>, availability, score and cost. An output without a score is treated as absent:
    /// its quality cannot be measured.
    /// </summary>
    public static ReplayBatch[] CreateBatches(IReadOnlyList<OutcomeRecord> records, IReadOnlyList<ModelProfile> models, int batchSize, string paramName)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(models);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int m = models.Count;
        var index = new Dictionary<string, int>(m, StringComparer.Ordinal);
        for (int j = 0; j < m; j++)
        {
            index[models[j].Name] = j;
        }

        var batches = new ReplayBatch[(records.Count + batchSize - 1) / batchSize];
        for (int b = 0; b < batches.Length; b++)
        {
            int start = b * batchSize;
            int n = Math.Min(batchSize, records.Count - start);
            var queries = new SchedulingQuery[n];
            for (int i = 0; i < n; i++)
            {
                queries[i] = records[start + i].ToQuery();
            }

            var batch = new ReplayBatch(start, queries, m);
            for (int i = 0; i < n; i++)
            {
                OutcomeRecord r = records[start + i];
                bool any = false;
                foreach (ModelOutcome o in r.Outputs)
                {
                    if (o.Score is not { } score || !index.TryGetValue(o.Model, out int j))
                    {
                        continue;
                    }

                    int k = (i * m) + j;
                    batch.Available[k] = true;
                    batch.Score[k] = score;
                    batch.OutputTokens[k] = o.OutputTokens;
                    batch.Cost[k] = o.Cost ?? models[j].CostOf(r.InputTokens, o.OutputTokens);
                    any = true;
                }

                if (!any)
                {
                    throw new ArgumentException($"Record '{r.Id}': no model of the catalog has a graded outcome for it, so no policy can be scored on it.", paramName);
                }
            }

            batches[b] = batch;
        }

        return batches;
    }

    /// <summary>Predicts one batch and masks out the models the log lacks for a query.</summary>
    /// <exception cref="InvalidOperationException">The predictor returned a matrix of another shape or model order.</exception>
    public static async ValueTask<PredictionMatrix> PredictAsync(IPredictor predictor, ReplayBatch batch, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken)
    {
        PredictionMatrix p = await predictor.PredictAsync(batch.Queries, models, cancellationToken).ConfigureAwait(false);
        if (p.QueryCount != batch.Count || p.ModelCount != models.Count)
        {
            throw new InvalidOperationException(
                $"{predictor.GetType().Name} returned {p.QueryCount}×{p.ModelCount} predictions for {batch.Count} queries × {models.Count} models.");
        }

        for (int j = 0; j < models.Count; j++)
        {
            if (!string.Equals(p.Models[j].Name, models[j].Name, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"{predictor.GetType().Name} returned model '{p.Models[j].Name}' in column {j} where '{models[j].Name}' was asked for.");
            }
        }

        Span<bool> eligible = p.Eligible;
        for (int k = 0; k < eligible.Length; k++)
        {
            eligible[k] &= batch.Available[k];
        }

        return p;
    }

    /// <summary>A matrix of the recorded outcomes themselves: quality = recorded score, cost = recorded cost.</summary>
    public static PredictionMatrix Recorded(ReplayBatch batch, IReadOnlyList<ModelProfile> models)
    {
        var p = new PredictionMatrix(batch.Count, models);
        batch.Score.CopyTo(p.Quality);
        batch.Cost.CopyTo(p.Cost);
        batch.OutputTokens.CopyTo(p.OutputTokens);
        batch.Available.CopyTo(p.Eligible);
        return p;
    }

    /// <summary>Per-model capacities of a batch of <paramref name="batchCount"/> queries: floor(share·n), unlimited without a share.</summary>
    public static int[] Capacities(IReadOnlyList<ModelProfile> models, IReadOnlyDictionary<string, double> shares, int batchCount)
    {
        var caps = new int[models.Count];
        for (int j = 0; j < caps.Length; j++)
        {
            caps[j] = shares.TryGetValue(models[j].Name, out double share)
                ? (int)Math.Floor((share * batchCount) + 1e-9)
                : AssignmentConstraints.Unlimited;
        }

        return caps;
    }

    /// <summary>Adds what <paramref name="assignments"/> realized on <paramref name="batch"/> to <paramref name="tally"/>.</summary>
    /// <param name="tally">The running totals.</param>
    /// <param name="batch">The batch.</param>
    /// <param name="predictions">The predictions the assignment was made on (for predicted quality).</param>
    /// <param name="assignments">Model index per query, -1 for deferred.</param>
    /// <param name="capacities">The batch's capacities.</param>
    /// <param name="load">Scratch of length M.</param>
    public static void Tally(ref ReplayTally tally, ReplayBatch batch, PredictionMatrix predictions, IReadOnlyList<int> assignments, ReadOnlySpan<int> capacities, Span<int> load)
    {
        int m = capacities.Length;
        if (assignments.Count != batch.Count)
        {
            throw new InvalidOperationException(
                string.Create(CultureInfo.InvariantCulture, $"The solver returned {assignments.Count} assignments for a batch of {batch.Count} queries."));
        }

        load.Clear();
        ReadOnlySpan<double> predicted = predictions.Quality;
        for (int i = 0; i < batch.Count; i++)
        {
            int j = assignments[i];
            if (j == AssignmentResult.DeferredModel)
            {
                tally.Deferred++;
                continue;
            }

            if ((uint)j >= (uint)m)
            {
                throw new InvalidOperationException(
                    string.Create(CultureInfo.InvariantCulture, $"The solver assigned query {i} to model index {j}; there are {m} models."));
            }

            load[j]++;
            int k = (i * m) + j;
            tally.PredictedQuality += predicted[k];
            if (!batch.Available[k])
            {
                tally.IneligibleAssignments++;
                continue;
            }

            tally.Score += batch.Score[k];
            tally.Cost += batch.Cost[k];
        }

        for (int j = 0; j < m; j++)
        {
            tally.CapacityViolations += Math.Max(0, load[j] - capacities[j]);
        }

        tally.Queries += batch.Count;
    }
}
