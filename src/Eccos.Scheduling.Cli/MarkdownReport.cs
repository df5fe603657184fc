using System.Globalization;

namespace Eccos.Scheduling.Cli;

/// <summary>Writes an <see cref="EvaluationReport"/> as a Markdown document.</summary>
internal static class MarkdownReport
{
    public static void Write(TextWriter w, EvaluationReport report, string solver, string commandLine, double elapsedSeconds, string? plotFileName, SeedRepeats? repeats = null)
    {
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# eccos evaluate: {report.Dataset}"));
        w.WriteLine();
        w.WriteLine($"Command: `{commandLine}`");
        w.WriteLine();
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{report.TestQueries} test queries in batches of {report.BatchSize}; predictors fitted on {report.TrainQueries} records, validation slice {report.ValidationQueries}. ECCOS solver: `{solver}`. Wall time {elapsedSeconds:F1} s."));
        w.WriteLine();
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"AIQ: area under the upper non-decreasing convex hull of a policy's (cost, success) points, started at (0, 0) and held flat to the right, over [0, C] divided by C, with C = {ReportTables.Money(report.MaxSingleModelCost)} (the most expensive single model on the test split)."));
        w.WriteLine();
        if (plotFileName is not null)
        {
            w.WriteLine($"![success vs cost]({plotFileName})");
            w.WriteLine();
        }

        w.WriteLine("```text");
        w.Write(TextFrontierPlot.Render(report));
        w.WriteLine("```");
        w.WriteLine();

        w.WriteLine("## Frontiers");
        w.WriteLine();
        Table(w, ReportTables.FrontierHeader, ReportTables.Frontiers(report));
        if (report.Predictors.Count > 0)
        {
            w.WriteLine("## Predictors (test split)");
            w.WriteLine();
            Table(w, ReportTables.PredictorHeader, ReportTables.Predictors(report));
        }

        w.WriteLine("## Runs");
        w.WriteLine();
        w.WriteLine("Success is the mean recorded score of the chosen models over all test queries (deferred queries score 0); cost is the total recorded cost (tokens × list prices where the log records none); overhead is prediction (without embedding) plus solving.");
        w.WriteLine();
        Table(w, ReportTables.RunHeader, ReportTables.Runs(report, all: true));
        if (repeats is { Seeds.Count: > 1 })
        {
            w.WriteLine("## Across seeds");
            w.WriteLine();
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"The whole evaluation repeated with seeds {string.Join(", ", repeats.Seeds)} (each its own validation slice, target-curve folds, replay order and random baseline; the test split is the same). The tables above are seed {repeats.Seeds[0]}'s. sd is the sample standard deviation over the seeds."));
            w.WriteLine();
            Table(w, ReportTables.RepeatFrontierHeader, ReportTables.RepeatFrontiers(repeats));
            Table(w, ReportTables.RepeatRunHeader, ReportTables.RepeatRuns(repeats, all: true));
        }
    }

    private static void Table(TextWriter w, string[] header, IEnumerable<string[]> rows)
    {
        w.WriteLine("| " + string.Join(" | ", header) + " |");
        w.WriteLine("|" + string.Concat(header.Select((_, k) => k == 0 ? "---|" : "---:|")));
        foreach (string[] row in rows)
        {
            w.WriteLine("| " + string.Join(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
        }

        w.WriteLine();
    }
}
