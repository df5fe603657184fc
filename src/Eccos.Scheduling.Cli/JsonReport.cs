using System.Text.Json;

namespace Eccos.Scheduling.Cli;

/// <summary>
/// Writes an <see cref="EvaluationReport"/> as JSON: <c>dataset</c>, <c>test_queries</c>, <c>runs</c>,
/// <c>frontiers</c> and <c>predictors</c> (see docs/evaluation.md), plus run metadata. Non-finite numbers are written
/// as <c>null</c>.
/// </summary>
internal static class JsonReport
{
    public static void Write(Stream stream, EvaluationReport report, string solver, double elapsedSeconds, SeedRepeats? repeats = null)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("dataset", report.Dataset);
        w.WriteNumber("test_queries", report.TestQueries);
        w.WriteNumber("train_queries", report.TrainQueries);
        w.WriteNumber("validation_queries", report.ValidationQueries);
        w.WriteNumber("batch_size", report.BatchSize);
        w.WriteString("solver", solver);
        Number(w, "max_single_model_cost", report.MaxSingleModelCost);
        Number(w, "elapsed_seconds", elapsedSeconds);

        w.WriteStartArray("runs");
        foreach (PolicyRun run in report.Runs)
        {
            w.WriteStartObject();
            w.WriteString("policy", run.Policy);
            Number(w, "alpha", run.Alpha);
            Number(w, "success", run.Quality);
            Number(w, "predicted_success", run.PredictedQuality);
            Number(w, "cost", run.Cost);
            w.WriteNumber("capacity_violations", run.CapacityViolations);
            w.WriteNumber("deferred", run.Deferred);
            Number(w, "overhead_ms_per_query", run.OverheadMsPerQuery);
            Number(w, "lambda", run.Lambda);
            Number(w, "target", run.Target);
            w.WriteBoolean("reachable", run.Reachable);
            w.WriteNumber("unreachable_batches", run.UnreachableBatches);
            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartArray("frontiers");
        foreach (PolicyFrontier frontier in report.Frontiers)
        {
            w.WriteStartObject();
            w.WriteString("policy", frontier.Policy);
            Number(w, "aiq", frontier.Aiq);
            Points(w, "points", frontier.Frontier.Points);
            Points(w, "hull", frontier.Frontier.Hull);
            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartArray("predictors");
        foreach (PredictorEvaluation p in report.Predictors)
        {
            w.WriteStartObject();
            w.WriteString("name", p.Name);
            Number(w, "auc", p.Metrics.Auc);
            Number(w, "brier", p.Metrics.Brier);
            Number(w, "ece", p.Metrics.Ece);
            Number(w, "output_tokens_mae", p.Metrics.OutputTokensMae);
            Number(w, "mean_per_model_auc", p.Metrics.MeanPerModelAuc);
            w.WriteNumber("pairs", p.Metrics.Pairs);
            Number(w, "fit_seconds", p.FitSeconds);
            Number(w, "prediction_ms_per_query", p.PredictionMsPerQuery);
            if (p.Embedder is null)
            {
                w.WriteNull("embedder");
            }
            else
            {
                w.WriteString("embedder", p.Embedder);
            }

            Number(w, "embedding_ms_per_query", p.EmbeddingMsPerQuery);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (repeats is { Seeds.Count: > 1 })
        {
            WriteRepeats(w, repeats);
        }

        w.WriteEndObject();
    }

    private static void WriteRepeats(Utf8JsonWriter w, SeedRepeats repeats)
    {
        w.WriteStartObject("repeats");
        w.WriteStartArray("seeds");
        foreach (int seed in repeats.Seeds)
        {
            w.WriteNumberValue(seed);
        }

        w.WriteEndArray();
        w.WriteStartArray("frontiers");
        foreach (SeedRepeats.PolicySpread f in repeats.Frontiers)
        {
            w.WriteStartObject();
            w.WriteString("policy", f.Policy);
            Numbers(w, "aiq", f.Aiq.Values);
            Number(w, "aiq_mean", f.Aiq.Mean);
            Number(w, "aiq_sd", f.Aiq.StandardDeviation);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("runs");
        foreach (SeedRepeats.RunSpread run in repeats.Runs)
        {
            w.WriteStartObject();
            w.WriteString("policy", run.Policy);
            Number(w, "alpha", run.Alpha);
            Number(w, "lambda", run.Lambda);
            Numbers(w, "success", run.Success.Values);
            Numbers(w, "cost", run.Cost.Values);
            Number(w, "success_mean", run.Success.Mean);
            Number(w, "cost_mean", run.Cost.Mean);
            w.WriteNumber("reachable_seeds", run.ReachableCount);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Numbers(Utf8JsonWriter w, string name, double[] values)
    {
        w.WriteStartArray(name);
        foreach (double v in values)
        {
            if (double.IsFinite(v))
            {
                w.WriteNumberValue(v);
            }
            else
            {
                w.WriteNullValue();
            }
        }

        w.WriteEndArray();
    }

    private static void Points(Utf8JsonWriter w, string name, IReadOnlyList<CostQualityPoint> points)
    {
        w.WriteStartArray(name);
        foreach (CostQualityPoint p in points)
        {
            w.WriteStartArray();
            w.WriteNumberValue(p.Cost);
            w.WriteNumberValue(p.Quality);
            w.WriteEndArray();
        }

        w.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
