using System.Globalization;
using Spectre.Console;

namespace Eccos.Scheduling.Cli;

/// <summary>
/// The <c>eccos</c> command line: parses arguments, runs the library's <see cref="ScheduleEvaluator"/> with a progress
/// display, prints tables and writes the report files. Exit codes: 0 success, 2 bad arguments or bad data (one line on
/// standard error, no file written), 1 any other failure, 130 cancelled.
/// </summary>
internal sealed class EccosCli(PredictorCatalog predictors, AssignmentSolverRegistry solvers, TimeProvider? timeProvider = null)
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;
    public const int Cancelled = 130;

    /// <summary>The table width used when the output is not a terminal (a file or a pipe has no width of its own).</summary>
    private const int WideTables = 160;

    private const string MainUsage = """
        Usage: eccos <command> [options]

        Commands:
          evaluate   replay an outcome log through ECCOS and the baselines; report success, cost, AIQ and the frontier

        Run 'eccos evaluate --help' for its options.
        """;

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public static EccosCli CreateDefault() => new(PredictorCatalog.CreateDefault(), AssignmentSolverRegistry.CreateDefault());

    public async Task<int> RunAsync(IReadOnlyList<string> args, IAnsiConsole console, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            if (args.Count == 0)
            {
                throw new CliUsageException("no command given (try eccos --help).");
            }

            switch (args[0])
            {
                case "-h" or "--help" or "help":
                    console.WriteLine(MainUsage);
                    return Success;
                case "evaluate":
                    return await EvaluateAsync([.. args.Skip(1)], console, cancellationToken).ConfigureAwait(false);
                default:
                    throw new CliUsageException($"unknown command '{args[0]}' (try eccos --help).");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("eccos: cancelled; no report written.").ConfigureAwait(false);
            return Cancelled;
        }
        catch (Exception ex) when (ex is CliUsageException or ArgumentException or OutcomeLogFormatException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync("eccos: error: " + OneLine(ex)).ConfigureAwait(false);
            return UsageError;
        }
#pragma warning disable CA1031 // A command line reports any failure as one line and an exit code instead of a stack trace.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await error.WriteLineAsync($"eccos: failed: {ex.GetType().Name}: {OneLine(ex)}").ConfigureAwait(false);
            return Failure;
        }
    }

    internal static string OneLine(Exception ex)
    {
        string message = ex is ArgumentException { ParamName: { } name } && ex.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
            ? ex.Message[..^$" (Parameter '{name}')".Length]
            : ex.Message;
        return string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    private async Task<int> EvaluateAsync(string[] args, IAnsiConsole console, CancellationToken cancellationToken)
    {
        EvaluateArguments a = EvaluateArguments.Parse(args);
        if (a.Help)
        {
            console.WriteLine(EvaluateArguments.Usage);
            return Success;
        }

        var taken = new HashSet<string>(StringComparer.Ordinal);
        string? json = a.JsonPath is null ? null : OutputFiles.Check("--json", a.JsonPath, taken);
        string? markdown = a.MarkdownPath is null ? null : OutputFiles.Check("--markdown", a.MarkdownPath, taken);
        string? plot = a.PlotPath is null ? null : OutputFiles.Check("--plot", a.PlotPath, taken);
        IReadOnlyList<EvaluationPredictor> chosen = predictors.Resolve(a.Predictors, a.Embedder, a.CacheDirectory);
        if (!solvers.Contains(a.Solver))
        {
            throw new CliUsageException($"--solver: unknown solver '{a.Solver}'; registered: {string.Join(", ", solvers.Names)}.");
        }

        foreach (string router in a.LambdaRouters ?? [])
        {
            if (!chosen.Any(p => string.Equals(p.Name, router, StringComparison.Ordinal)))
            {
                throw new CliUsageException($"--lambda-router: '{router}' is not among the evaluated predictors ({string.Join(", ", chosen.Select(p => p.Name))}).");
            }
        }

        var options = new EvaluationOptions
        {
            Alphas = a.Alphas,
            BatchSize = a.BatchSize,
            CapacityShares = a.Capacities,
            Solver = solvers.Create(a.Solver, a.Seed),
            Seed = a.Seed,
            ShuffleTest = !a.InOrder,
        };
        if (a.LambdaRouters is { } routers)
        {
            options.LambdaRouterPredictors = routers;
        }

        if (a.TargetMargin is { } margin)
        {
            options.TargetCurveMargin = margin;
        }

        if (a.TargetFolds is { } folds)
        {
            options.TargetCurveFolds = folds;
        }

        long started = _time.GetTimestamp();
        OutcomeDataset dataset = await OutcomeDataset.LoadAsync(a.DataDirectory, cancellationToken).ConfigureAwait(false);
        foreach (string model in a.Capacities.Keys)
        {
            if (dataset.Catalog.IndexOf(model) < 0)
            {
                throw new CliUsageException($"--capacity: model '{model}' is not in {OutcomeDataset.ModelsFileName} of '{a.DataDirectory}'.");
            }
        }

        if (console.Profile.Out.IsTerminal is false && console.Profile.Width < WideTables)
        {
            console.Profile.Width = WideTables;
        }

        var evaluator = new ScheduleEvaluator(_time);
        int[] seeds = [.. Enumerable.Range(0, a.Repeat).Select(k => unchecked(a.Seed + k))];
        var reports = new EvaluationReport[seeds.Length];
        async Task RunAll(Func<int, IProgress<EvaluationProgress>> progress)
        {
            for (int k = 0; k < seeds.Length; k++)
            {
                options.Seed = seeds[k];
                options.Solver = solvers.Create(a.Solver, seeds[k]);
                reports[k] = await evaluator.EvaluateAsync(dataset, chosen, options, progress(seeds[k]), cancellationToken).ConfigureAwait(false);
            }
        }

        IProgress<EvaluationProgress> ForSeed(IProgress<EvaluationProgress> inner, int seed) =>
            seeds.Length == 1 ? inner : new SeedProgress(inner, seed);
        if (console.Profile.Capabilities.Interactive)
        {
            await console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(ctx =>
                {
                    var display = new ProgressDisplay(ctx);
                    return RunAll(seed => ForSeed(display, seed));
                })
                .ConfigureAwait(false);
        }
        else
        {
            var lines = new ProgressLines(console, _time);
            await RunAll(seed => ForSeed(lines, seed)).ConfigureAwait(false);
        }

        EvaluationReport report = reports[0];
        SeedRepeats? repeats = seeds.Length > 1 ? new SeedRepeats(seeds, reports) : null;
        double elapsed = _time.GetElapsedTime(started).TotalSeconds;

        Print(console, report, a.Solver, elapsed);
        if (repeats is not null)
        {
            console.Write(Table($"Across seeds {string.Join(", ", seeds)} (AIQ)", ReportTables.RepeatFrontierHeader, ReportTables.RepeatFrontiers(repeats)));
            console.Write(Table("Across seeds (ECCOS runs)", ReportTables.RepeatRunHeader, ReportTables.RepeatRuns(repeats, all: false)));
        }

        using var outputs = new OutputFiles();
        if (json is not null)
        {
            await using FileStream stream = File.Create(outputs.Reserve(json));
            JsonReport.Write(stream, report, a.Solver, elapsed, repeats);
        }

        if (plot is not null)
        {
            FrontierPlot.Save(outputs.Reserve(plot), report);
        }

        if (markdown is not null)
        {
            await using var writer = new StreamWriter(outputs.Reserve(markdown));
            string? plotName = plot is null ? null : Path.GetRelativePath(Path.GetDirectoryName(markdown)!, plot);
            MarkdownReport.Write(writer, report, a.Solver, CommandLine(args), elapsed, plotName, repeats);
        }

        cancellationToken.ThrowIfCancellationRequested();
        outputs.Commit();
        foreach (string? file in (ReadOnlySpan<string?>)[json, markdown, plot])
        {
            if (file is not null)
            {
                console.MarkupLineInterpolated($"[grey]wrote[/] {file}");
            }
        }

        return Success;
    }

    private static void Print(IAnsiConsole console, EvaluationReport report, string solver, double elapsed)
    {
        console.MarkupLineInterpolated(
            $"[bold]{report.Dataset}[/]: {report.TestQueries} test queries, batches of {report.BatchSize}, solver [bold]{solver}[/], C = {ReportTables.Money(report.MaxSingleModelCost)}, {elapsed.ToString("F1", CultureInfo.InvariantCulture)} s");
        console.Write(Table("Frontiers (AIQ over [0, C], hull from the origin)", ReportTables.FrontierHeader, ReportTables.Frontiers(report)));
        console.Write(new Text(TextFrontierPlot.Render(report)));
        if (report.Predictors.Count > 0)
        {
            console.Write(Table("Predictors (test split)", ReportTables.PredictorHeader, ReportTables.Predictors(report)));
        }

        console.Write(Table("Runs", ReportTables.RunHeader, ReportTables.Runs(report, all: false)));
    }

    private static Table Table(string title, string[] header, IEnumerable<string[]> rows)
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(title)), Border = TableBorder.Rounded };
        for (int k = 0; k < header.Length; k++)
        {
            table.AddColumn(new TableColumn(Markup.Escape(header[k])) { Alignment = k == 0 ? Justify.Left : Justify.Right });
        }

        foreach (string[] row in rows)
        {
            table.AddRow([.. row.Select(c => new Text(c))]);
        }

        return table;
    }

    private static string CommandLine(string[] args) =>
        "eccos evaluate " + string.Join(' ', args.Select(x => x.Any(char.IsWhiteSpace) ? $"\"{x}\"" : x));

    /// <summary>Names the seed in every step of a repeated evaluation.</summary>
    private sealed class SeedProgress(IProgress<EvaluationProgress> inner, int seed) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress value) =>
            inner.Report(value.Detail is null ? value : value with { Detail = string.Create(CultureInfo.InvariantCulture, $"seed {seed}, {value.Detail}") });
    }

    /// <summary>Without a terminal (a log file, CI): one line per step, with the elapsed time, instead of redrawn bars.</summary>
    private sealed class ProgressLines(IAnsiConsole console, TimeProvider time) : IProgress<EvaluationProgress>
    {
        private readonly long _start = time.GetTimestamp();

        public void Report(EvaluationProgress value)
        {
            if (value.Detail is null && value.Completed < value.Total)
            {
                return; // per-batch ticks without a name add nothing to a log
            }

            string what = value.Detail is null
                ? $"{Label(value.Stage)}: done"
                : $"{Label(value.Stage)}: {value.Detail} ({value.Completed + 1}/{value.Total})";
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{time.GetElapsedTime(_start).TotalSeconds,7:F1} s] {what}"));
        }
    }

    private static string Label(string stage) => ProgressDisplay.Label(stage);

    /// <summary>Shows each stage of the evaluation as a progress bar; called synchronously by the evaluator.</summary>
    private sealed class ProgressDisplay(ProgressContext context) : IProgress<EvaluationProgress>
    {
        private static readonly (string Stage, string Label)[] Stages =
        [
            ("fit", "Fitting predictors"),
            ("calibrate", "Calibrating targets"),
            ("predict", "Predicting the test split"),
            ("evaluate", "Replaying policies"),
            ("metrics", "Predictor metrics"),
        ];

        public static string Label(string stage) =>
            Array.Find(Stages, s => string.Equals(s.Stage, stage, StringComparison.Ordinal)).Label ?? stage;

        private readonly Dictionary<string, ProgressTask> _tasks = Stages.ToDictionary(
            s => s.Stage, s => context.AddTask(s.Label, autoStart: false), StringComparer.Ordinal);

        public void Report(EvaluationProgress value)
        {
            if (!_tasks.TryGetValue(value.Stage, out ProgressTask? task))
            {
                return;
            }

            if (!task.IsStarted)
            {
                task.StartTask();
            }

            string label = Label(value.Stage);
            task.Description = Markup.Escape(value.Detail is null ? label : $"{label}: {value.Detail}");
            task.MaxValue = Math.Max(1, value.Total);
            task.Value = value.Total == 0 ? 1 : value.Completed;
            if (value.Completed >= value.Total)
            {
                task.Description = Markup.Escape(label);
                task.StopTask();
            }
        }
    }
}
