namespace Eccos.Scheduling.Evaluation;

/// <summary>
/// Scores of a predictor on recorded outcomes: discrimination (AUC), accuracy (Brier), calibration (ECE) of predicted
/// quality, and the mean absolute error of predicted output tokens.
/// </summary>
/// <param name="Auc">Pooled ROC AUC of predicted quality against recorded correctness (score ≥ 0.5) over every (query, model) pair.</param>
/// <param name="MeanPerModelAuc">The mean over models of each model's own AUC (models with one class only are left out).</param>
/// <param name="Brier">Mean squared error of predicted quality against the recorded score.</param>
/// <param name="Ece">Expected calibration error over equal-width bins of predicted quality.</param>
/// <param name="OutputTokensMae">Mean absolute error of predicted output tokens.</param>
/// <param name="Pairs">The number of (query, model) pairs scored.</param>
public sealed record PredictionMetrics(double Auc, double MeanPerModelAuc, double Brier, double Ece, double OutputTokensMae, int Pairs)
{
    /// <summary>The default number of bins of <see cref="ExpectedCalibrationError"/>.</summary>
    public const int DefaultBins = 10;

    /// <summary>
    /// Evaluates <paramref name="predictor"/> on <paramref name="records"/>: predicts every record for every model of
    /// <paramref name="models"/> in batches, and scores each (query, model) pair the record has a graded output for.
    /// </summary>
    /// <param name="predictor">The predictor.</param>
    /// <param name="records">Recorded outcomes (held out from the predictor's training).</param>
    /// <param name="models">The models to predict for.</param>
    /// <param name="batchSize">Queries per prediction call.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The metrics.</returns>
    public static async Task<PredictionMetrics> EvaluateAsync(
        IPredictor predictor,
        IReadOnlyList<OutcomeRecord> records,
        IReadOnlyList<ModelProfile> models,
        int batchSize = 500,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(models);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int j = 0; j < models.Count; j++)
        {
            index[models[j].Name] = j;
        }

        var predicted = new List<double>();
        var labels = new List<double>();
        var modelOf = new List<int>();
        var tokenError = new List<double>();
        var queries = new SchedulingQuery[Math.Min(batchSize, records.Count)];
        for (int start = 0; start < records.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, records.Count - start);
            if (queries.Length != n)
            {
                queries = new SchedulingQuery[n];
            }

            for (int i = 0; i < n; i++)
            {
                queries[i] = records[start + i].ToQuery();
            }

            PredictionMatrix p = await predictor.PredictAsync(queries, models, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
            {
                foreach (ModelOutcome o in records[start + i].Outputs)
                {
                    if (!index.TryGetValue(o.Model, out int j))
                    {
                        continue;
                    }

                    tokenError.Add(Math.Abs(p.OutputTokensRow(i)[j] - o.OutputTokens));
                    if (o.Quality is { } score)
                    {
                        predicted.Add(p.QualityRow(i)[j]);
                        labels.Add(score);
                        modelOf.Add(j);
                    }
                }
            }
        }

        double[] pr = [.. predicted];
        double[] lb = [.. labels];
        double perModel = 0;
        int modelsScored = 0;
        for (int j = 0; j < models.Count; j++)
        {
            var pj = new List<double>();
            var lj = new List<double>();
            for (int k = 0; k < pr.Length; k++)
            {
                if (modelOf[k] == j)
                {
                    pj.Add(pr[k]);
                    lj.Add(lb[k]);
                }
            }

            double auc = AreaUnderRocCurve([.. pj], [.. lj]);
            if (!double.IsNaN(auc))
            {
                perModel += auc;
                modelsScored++;
            }
        }

        return new PredictionMetrics(
            AreaUnderRocCurve(pr, lb),
            modelsScored == 0 ? double.NaN : perModel / modelsScored,
            BrierScore(pr, lb),
            ExpectedCalibrationError(pr, lb),
            tokenError.Count == 0 ? double.NaN : tokenError.Average(),
            pr.Length);
    }

    /// <summary>
    /// ROC AUC of <paramref name="predicted"/> against binary outcomes (a label ≥ 0.5 is positive), with ties
    /// counted half (the Mann–Whitney statistic); <see cref="double.NaN"/> when one class is absent.
    /// </summary>
    /// <param name="predicted">Predicted probabilities.</param>
    /// <param name="labels">Recorded scores in [0, 1].</param>
    /// <returns>The AUC in [0, 1], or NaN.</returns>
    public static double AreaUnderRocCurve(ReadOnlySpan<double> predicted, ReadOnlySpan<double> labels)
    {
        CheckLengths(predicted, labels);
        int n = predicted.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        double[] keys = predicted.ToArray();
        Array.Sort(keys, order);
        double positives = 0;
        double rankSum = 0;
        for (int start = 0; start < n;)
        {
            int end = start + 1;
            while (end < n && keys[end] == keys[start])
            {
                end++;
            }

            double averageRank = (start + end + 1) / 2.0; // ranks are 1-based: (start+1 + end) / 2
            for (int k = start; k < end; k++)
            {
                if (labels[order[k]] >= 0.5)
                {
                    positives++;
                    rankSum += averageRank;
                }
            }

            start = end;
        }

        double negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        return (rankSum - (positives * (positives + 1) / 2)) / (positives * negatives);
    }

    /// <summary>Mean squared difference between predicted probabilities and recorded scores.</summary>
    /// <param name="predicted">Predicted probabilities.</param>
    /// <param name="labels">Recorded scores in [0, 1].</param>
    /// <returns>The Brier score, or NaN for no pairs.</returns>
    public static double BrierScore(ReadOnlySpan<double> predicted, ReadOnlySpan<double> labels)
    {
        CheckLengths(predicted, labels);
        if (predicted.IsEmpty)
        {
            return double.NaN;
        }

        double sum = 0;
        for (int i = 0; i < predicted.Length; i++)
        {
            double d = predicted[i] - labels[i];
            sum += d * d;
        }

        return sum / predicted.Length;
    }

    /// <summary>
    /// Expected calibration error: pairs binned by predicted probability into <paramref name="bins"/> equal-width
    /// bins; the pair-weighted mean of |mean prediction − mean score| over bins.
    /// </summary>
    /// <param name="predicted">Predicted probabilities in [0, 1].</param>
    /// <param name="labels">Recorded scores in [0, 1].</param>
    /// <param name="bins">The number of bins.</param>
    /// <returns>The ECE, or NaN for no pairs.</returns>
    public static double ExpectedCalibrationError(ReadOnlySpan<double> predicted, ReadOnlySpan<double> labels, int bins = DefaultBins)
    {
        CheckLengths(predicted, labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        if (predicted.IsEmpty)
        {
            return double.NaN;
        }

        var sumP = new double[bins];
        var sumY = new double[bins];
        var count = new int[bins];
        for (int i = 0; i < predicted.Length; i++)
        {
            int b = Math.Clamp((int)(predicted[i] * bins), 0, bins - 1);
            sumP[b] += predicted[i];
            sumY[b] += labels[i];
            count[b]++;
        }

        double ece = 0;
        for (int b = 0; b < bins; b++)
        {
            if (count[b] > 0)
            {
                ece += Math.Abs(sumP[b] - sumY[b]) / predicted.Length;
            }
        }

        return ece;
    }

    private static void CheckLengths(ReadOnlySpan<double> predicted, ReadOnlySpan<double> labels)
    {
        if (predicted.Length != labels.Length)
        {
            throw new ArgumentException($"{predicted.Length} predictions but {labels.Length} labels; they must pair up.", nameof(labels));
        }
    }
}
