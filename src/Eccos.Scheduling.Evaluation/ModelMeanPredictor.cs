namespace Eccos.Scheduling.Evaluation;

/// <summary>
/// The query-blind predictions the model-level baselines (single model, cheapest, random, round-robin) schedule on:
/// each model's mean recorded score and mean output length over the training records, whatever the query. Cost is
/// the query's input tokens and that mean length at the model's list prices.
/// </summary>
/// <remarks>Immutable once fitted; thread-safe.</remarks>
internal sealed class ModelMeanPredictor : IPredictor
{
    private readonly Dictionary<string, (double Quality, double OutputTokens)> _means;

    private ModelMeanPredictor(Dictionary<string, (double Quality, double OutputTokens)> means) => _means = means;

    public static ModelMeanPredictor Fit(IEnumerable<OutcomeRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var sums = new Dictionary<string, (double Score, int Graded, double Tokens, int Count)>(StringComparer.Ordinal);
        foreach (OutcomeRecord r in records)
        {
            foreach (ModelOutcome o in r.Outputs)
            {
                sums.TryGetValue(o.Model, out var s);
                sums[o.Model] = o.Quality is { } score
                    ? (s.Score + score, s.Graded + 1, s.Tokens + o.OutputTokens, s.Count + 1)
                    : (s.Score, s.Graded, s.Tokens + o.OutputTokens, s.Count + 1);
            }
        }

        var means = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
        foreach ((string model, var s) in sums)
        {
            means[model] = (s.Graded == 0 ? 0.5 : s.Score / s.Graded, s.Count == 0 ? 0 : s.Tokens / s.Count);
        }

        return new ModelMeanPredictor(means);
    }

    public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(models);
        cancellationToken.ThrowIfCancellationRequested();
        var p = new PredictionMatrix(queries.Count, models);
        for (int j = 0; j < models.Count; j++)
        {
            (double quality, double tokens) = _means.TryGetValue(models[j].Name, out var mean) ? mean : (0.5, 0);
            for (int i = 0; i < queries.Count; i++)
            {
                p.Set(i, j, quality, 0, tokens);
            }
        }

        p.ComputeCosts(queries);
        return ValueTask.FromResult(p);
    }
}
