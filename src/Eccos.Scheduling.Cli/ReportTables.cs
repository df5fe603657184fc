using System.Globalization;

namespace Eccos.Scheduling.Cli;

/// <summary>The report's tables as text cells, shared by the console and the Markdown report.</summary>
internal static class ReportTables
{
    /// <summary>α values shown on the console when the sweep is longer than <see cref="MaxConsoleAlphas"/>.</summary>
    private static readonly double[] ConsoleAlphas = [0.5, 0.6, 0.7, 0.8, 0.9];

    private const int MaxConsoleAlphas = 8;

    public static readonly string[] FrontierHeader = ["Policy", "AIQ", "Points", "Cheapest point", "Best point"];

    public static readonly string[] RunHeader = ["Policy", "α", "λ", "t(α)", "Reachable", "Success", "Predicted", "Cost", "Violations", "Deferred", "Overhead ms/q"];

    public static readonly string[] PredictorHeader = ["Predictor", "AUC", "Per-model AUC", "Brier", "ECE", "Tokens MAE", "Fit s", "Predict ms/q", "Embedder", "Embed ms/q"];

    public static readonly string[] RepeatFrontierHeader = ["Policy", "AIQ mean", "sd", "min", "max", "per seed"];

    public static readonly string[] RepeatRunHeader = ["Policy", "α", "Reachable", "Success mean", "Success min–max", "Cost mean", "Cost min–max"];

    /// <summary>One row per policy: its AIQ over the seeds, highest mean first.</summary>
    public static IEnumerable<string[]> RepeatFrontiers(SeedRepeats repeats) =>
        repeats.Frontiers.Select(f => new[]
        {
            f.Policy, F(f.Aiq.Mean, 4), F(f.Aiq.StandardDeviation, 4), F(f.Aiq.Min, 4), F(f.Aiq.Max, 4), string.Join(" ", f.Aiq.Values.Select(v => F(v, 4))),
        });

    /// <summary>
    /// One row per run with a target α (ECCOS and threshold policies). With <paramref name="all"/> false (the
    /// console), only <c>eccos:*</c> policies, and long α sweeps at 0.5, 0.6, …, 0.9 only.
    /// </summary>
    public static IEnumerable<string[]> RepeatRuns(SeedRepeats repeats, bool all)
    {
        int alphaCount = repeats.Runs.Where(r => r.Alpha is not null).Select(r => r.Alpha).Distinct().Count();
        foreach (SeedRepeats.RunSpread run in repeats.Runs)
        {
            if (run.Alpha is not { } alpha
                || (!all && (!run.Policy.StartsWith("eccos:", StringComparison.Ordinal)
                    || (alphaCount > MaxConsoleAlphas && !ConsoleAlphas.Any(c => Math.Abs(c - alpha) < 1e-9)))))
            {
                continue;
            }

            yield return
            [
                run.Policy,
                F(alpha, 3),
                $"{I(run.ReachableCount)}/{I(repeats.Seeds.Count)}",
                F(run.Success.Mean, 3),
                $"{F(run.Success.Min, 3)}–{F(run.Success.Max, 3)}",
                Money(run.Cost.Mean),
                $"{Money(run.Cost.Min)}–{Money(run.Cost.Max)}",
            ];
        }
    }

    /// <summary>One row per frontier, best AIQ first.</summary>
    public static IEnumerable<string[]> Frontiers(EvaluationReport report) =>
        report.Frontiers
            .OrderByDescending(f => f.Aiq)
            .Select(f =>
            {
                CostQualityPoint cheapest = f.Frontier.Points[0];
                CostQualityPoint best = f.Frontier.Points.MaxBy(p => p.Quality);
                return new[]
                {
                    f.Policy,
                    F(f.Aiq, 4),
                    I(f.Frontier.Points.Count),
                    $"{Money(cheapest.Cost)} → {F(cheapest.Quality, 3)}",
                    $"{Money(best.Cost)} → {F(best.Quality, 3)}",
                };
            });

    /// <summary>
    /// One row per run. With <paramref name="all"/> false (the console), λ sweeps are left out and long α sweeps are
    /// shown at 0.5, 0.6, …, 0.9 only.
    /// </summary>
    public static IEnumerable<string[]> Runs(EvaluationReport report, bool all)
    {
        int alphaCount = report.Runs.Where(r => r.Alpha is not null).Select(r => r.Alpha).Distinct().Count();
        foreach (PolicyRun run in report.Runs)
        {
            if (!all)
            {
                if (run.Lambda is not null)
                {
                    continue;
                }

                if (run.Alpha is { } a && alphaCount > MaxConsoleAlphas && !ConsoleAlphas.Any(c => Math.Abs(c - a) < 1e-9))
                {
                    continue;
                }
            }

            yield return
            [
                run.Policy,
                run.Alpha is { } alpha ? F(alpha, 3) : "–",
                run.Lambda is { } lambda ? lambda.ToString("G3", CultureInfo.InvariantCulture) : "–",
                run.Target is { } target ? F(target, 3) : "–",
                run.Reachable ? "yes" : "no",
                F(run.Quality, 3),
                F(run.PredictedQuality, 3),
                Money(run.Cost),
                I(run.CapacityViolations),
                I(run.Deferred),
                F(run.OverheadMsPerQuery, 4),
            ];
        }
    }

    public static IEnumerable<string[]> Predictors(EvaluationReport report) =>
        report.Predictors.Select(p => new[]
        {
            p.Name,
            F(p.Metrics.Auc, 3),
            F(p.Metrics.MeanPerModelAuc, 3),
            F(p.Metrics.Brier, 3),
            F(p.Metrics.Ece, 3),
            F(p.Metrics.OutputTokensMae, 1),
            F(p.FitSeconds, 1),
            F(p.PredictionMsPerQuery, 4),
            p.Embedder ?? "–",
            p.Embedder is null ? "–" : F(p.EmbeddingMsPerQuery, 4),
        });

    public static string F(double value, int decimals) =>
        double.IsFinite(value) ? value.ToString("F" + I(decimals), CultureInfo.InvariantCulture) : "n/a";

    public static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Money(double value) => "$" + F(value, 3);
}
