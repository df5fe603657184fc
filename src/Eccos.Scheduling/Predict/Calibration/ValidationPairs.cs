namespace Eccos.Scheduling;

/// <summary>
/// A predictor's predictions on recorded outcomes, flattened to one entry per (record, model) pair the record has an
/// answer for, in record order and then output order (so that two predictors over the same records line up).
/// </summary>
internal sealed class ValidationPairs
{
    private ValidationPairs(int[] record, int[] model, double[] quality, double[] score, double[] tokens, double[] actualTokens, int[] inputTokens)
    {
        Record = record;
        Model = model;
        PredictedQuality = quality;
        Score = score;
        PredictedTokens = tokens;
        ActualTokens = actualTokens;
        InputTokens = inputTokens;
    }

    /// <summary>Gets the index, in the records given to <see cref="CollectAsync"/>, of each pair's record (non-decreasing).</summary>
    public int[] Record { get; }

    /// <summary>Gets the model (column) index of each pair.</summary>
    public int[] Model { get; }

    /// <summary>Gets the predicted quality of each pair.</summary>
    public double[] PredictedQuality { get; }

    /// <summary>Gets the recorded score of each pair, NaN where the answer was not graded.</summary>
    public double[] Score { get; }

    /// <summary>Gets the predicted output tokens of each pair.</summary>
    public double[] PredictedTokens { get; }

    /// <summary>Gets the recorded output tokens of each pair.</summary>
    public double[] ActualTokens { get; }

    /// <summary>Gets the record's input tokens of each pair.</summary>
    public int[] InputTokens { get; }

    /// <summary>Gets the number of pairs.</summary>
    public int Count => Model.Length;

    public static async Task<ValidationPairs> CollectAsync(
        IPredictor predictor,
        IReadOnlyList<OutcomeRecord> records,
        IReadOnlyList<ModelProfile> models,
        int batchSize,
        CancellationToken cancellationToken)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int j = 0; j < models.Count; j++)
        {
            index[models[j].Name] = j;
        }

        var record = new List<int>();
        var model = new List<int>();
        var quality = new List<double>();
        var score = new List<double>();
        var tokens = new List<double>();
        var actual = new List<double>();
        var input = new List<int>();
        for (int start = 0; start < records.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, records.Count - start);
            var queries = new SchedulingQuery[n];
            for (int i = 0; i < n; i++)
            {
                OutcomeRecord r = records[start + i] ?? throw new ArgumentException($"Record {start + i} is null.", nameof(records));
                queries[i] = r.ToQuery();
            }

            PredictionMatrix p = await predictor.PredictAsync(queries, models, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
            {
                OutcomeRecord r = records[start + i];
                foreach (ModelOutcome o in r.Outputs)
                {
                    if (o.Error is not null || !index.TryGetValue(o.Model, out int j))
                    {
                        continue;
                    }

                    record.Add(start + i);
                    model.Add(j);
                    quality.Add(p.QualityRow(i)[j]);
                    score.Add(o.Quality ?? double.NaN);
                    tokens.Add(p.OutputTokensRow(i)[j]);
                    actual.Add(o.OutputTokens);
                    input.Add(r.InputTokens);
                }
            }
        }

        return new ValidationPairs([.. record], [.. model], [.. quality], [.. score], [.. tokens], [.. actual], [.. input]);
    }
}
