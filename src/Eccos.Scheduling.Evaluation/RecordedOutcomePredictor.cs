namespace Eccos.Scheduling.Evaluation;

/// <summary>
/// "Predicts" the recorded outcomes themselves — quality = recorded score, cost = recorded cost (or tokens × list
/// prices), eligible only where the log has a graded answer — by query id. What the oracle schedules on.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
internal sealed class RecordedOutcomePredictor : IPredictor
{
    private readonly Dictionary<string, OutcomeRecord> _records;

    public RecordedOutcomePredictor(IEnumerable<OutcomeRecord> records) =>
        _records = records.ToDictionary(r => r.Id, StringComparer.Ordinal);

    public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(models);
        var p = new PredictionMatrix(queries.Count, models);
        p.Eligible.Clear();
        for (int i = 0; i < queries.Count; i++)
        {
            if (queries[i].Id is not { } id || !_records.TryGetValue(id, out OutcomeRecord? record))
            {
                throw new ArgumentException($"Query {i}: no recorded outcome has id '{queries[i].Id}'.", nameof(queries));
            }

            foreach (ModelOutcome o in record.Outputs)
            {
                int j = p.IndexOfModel(o.Model);
                if (j >= 0 && o.Quality is { } score)
                {
                    p.Set(i, j, score, o.Cost ?? models[j].CostOf(record.InputTokens, o.OutputTokens), o.OutputTokens);
                    p.EligibleRow(i)[j] = true;
                }
            }
        }

        return ValueTask.FromResult(p);
    }
}
