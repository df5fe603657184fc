using System.Text.Json;
using Eccos.Scheduling.Evaluation.Tests;
using Spectre.Console;

namespace Eccos.Scheduling.Cli.Tests;

public class EvaluateCommandTests
{
    private static readonly double[] ExpectedAlphas = [0.6, 0.8];
    private static readonly int[] RepeatSeeds = [5, 6, 7];
    private static readonly double[] ParsedAlphas = [0.3, 0.35, 0.4, 0.7];
    private static readonly byte[] PngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G'];
    private string _root = string.Empty;
    private string _data = string.Empty;
    private string _out = string.Empty;

    [OneTimeSetUp]
    public void CreateDataset()
    {
        _root = Path.Combine(Path.GetTempPath(), "eccos-cli-tests-" + Guid.NewGuid().ToString("N"));
        _data = Path.Combine(_root, "synthetic");
        SyntheticOutcomes.WriteTo(SyntheticOutcomes.Create(), _data);
    }

    [OneTimeTearDown]
    public void DeleteDataset() => Directory.Delete(_root, recursive: true);

    [SetUp]
    public void CreateOutputFolder()
    {
        _out = Path.Combine(_root, "out-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_out);
    }

    internal static EccosCli Cli(Action<PredictorCatalog>? configure = null)
    {
        var predictors = new PredictorCatalog().RegisterEmbedder("hashing").Register("task-mean", _ => EvaluationTestSetup.TaskMean());
        configure?.Invoke(predictors);
        AssignmentSolverRegistry solvers = new AssignmentSolverRegistry().Register("lagrangian", _ => new GreedyTargetSolver());
        return new EccosCli(predictors, solvers);
    }

    internal static async Task<(int Exit, string Out, string Error)> RunAsync(EccosCli cli, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 200;
        int exit = await cli.RunAsync(args, console, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Test]
    public async Task Evaluate_WritesJsonOfTheDocumentedShape_AndTheMarkdownAndPlot()
    {
        string json = Path.Combine(_out, "r.json"), md = Path.Combine(_out, "r.md"), png = Path.Combine(_out, "r.png");
        var (exit, output, error) = await RunAsync(Cli(), "evaluate", "--data", _data, "--alpha", "0.6,0.8", "--batch-size", "100",
            "--json", json, "--markdown", md, "--plot", png);
        Assert.That(exit, Is.Zero, error);

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(json));
        JsonElement root = doc.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("dataset").GetString(), Is.EqualTo("synthetic"));
            Assert.That(root.GetProperty("test_queries").GetInt32(), Is.EqualTo(200));
            Assert.That(root.GetProperty("runs").GetArrayLength(), Is.GreaterThan(4));
            foreach (JsonElement run in root.GetProperty("runs").EnumerateArray())
            {
                string policy = run.GetProperty("policy").GetString()!;
                JsonElement alpha = run.GetProperty("alpha");
                bool targeted = policy.StartsWith("eccos:", StringComparison.Ordinal) || policy.StartsWith("threshold:", StringComparison.Ordinal);
                Assert.That(alpha.ValueKind, Is.EqualTo(targeted ? JsonValueKind.Number : JsonValueKind.Null), policy);
                foreach (string number in (string[])["success", "predicted_success", "cost", "overhead_ms_per_query"])
                {
                    Assert.That(run.GetProperty(number).ValueKind, Is.EqualTo(JsonValueKind.Number), $"{policy}.{number}");
                }

                Assert.That(run.GetProperty("capacity_violations").GetInt32(), Is.Zero, policy);
                Assert.That(run.GetProperty("deferred").ValueKind, Is.EqualTo(JsonValueKind.Number), policy);
            }

            JsonElement[] alphas = [.. root.GetProperty("runs").EnumerateArray().Where(r => r.GetProperty("policy").GetString() == "eccos:task-mean").Select(r => r.GetProperty("alpha"))];
            Assert.That(alphas.Select(a => a.GetDouble()), Is.EqualTo(ExpectedAlphas));

            JsonElement frontier = root.GetProperty("frontiers").EnumerateArray().Single(f => f.GetProperty("policy").GetString() == "eccos:task-mean");
            Assert.That(frontier.GetProperty("aiq").GetDouble(), Is.InRange(0.0, 1.0));
            foreach (JsonElement point in frontier.GetProperty("points").EnumerateArray())
            {
                Assert.That(point.GetArrayLength(), Is.EqualTo(2));
                Assert.That(point[0].ValueKind, Is.EqualTo(JsonValueKind.Number));
            }

            JsonElement predictor = root.GetProperty("predictors").EnumerateArray().Single();
            Assert.That(predictor.GetProperty("name").GetString(), Is.EqualTo("task-mean"));
            foreach (string number in (string[])["auc", "brier", "ece", "output_tokens_mae"])
            {
                Assert.That(predictor.GetProperty(number).ValueKind, Is.EqualTo(JsonValueKind.Number), number);
            }

            Assert.That(File.ReadAllText(md), Does.Contain("| eccos:task-mean |").And.Contain("![success vs cost](r.png)"));
            Assert.That(File.ReadAllBytes(png).Take(4), Is.EqualTo(PngMagic));
            Assert.That(Directory.GetFiles(_out), Has.Length.EqualTo(3), "no temporary file is left behind");
            Assert.That(output, Does.Contain("eccos:task-mean").And.Contain("AIQ").And.Contain("oracle"));
        });
    }

    [TestCase("task-mean", 29)]
    [TestCase("none", 0)]
    public async Task Lambda_router_runs_on_the_chosen_predictors(string routers, int expectedRuns)
    {
        string json = Path.Combine(_out, "r.json");
        var (exit, _, error) = await RunAsync(Cli(), "evaluate", "--data", _data, "--alpha", "0.6", "--batch-size", "100", "--lambda-router", routers, "--json", json);
        Assert.That(exit, Is.Zero, error);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(json));
        JsonElement[] lambdaRuns = [.. doc.RootElement.GetProperty("runs").EnumerateArray().Where(r => r.GetProperty("policy").GetString()!.EndsWith("-lambda", StringComparison.Ordinal))];
        Assert.Multiple(() =>
        {
            Assert.That(lambdaRuns, Has.Length.EqualTo(expectedRuns));
            Assert.That(lambdaRuns.Select(r => r.GetProperty("policy").GetString()), Has.All.EqualTo("task-mean-lambda"));
            Assert.That(lambdaRuns.Select(r => r.GetProperty("lambda").ValueKind), Has.All.EqualTo(JsonValueKind.Number));
        });
    }

    [Test]
    public async Task Repeat_reports_every_seed_and_keeps_the_first_seed_as_the_main_report()
    {
        string repeated = Path.Combine(_out, "repeated.json"), single = Path.Combine(_out, "single.json"), md = Path.Combine(_out, "r.md");
        string[] common = ["evaluate", "--data", _data, "--alpha", "0.6,0.8", "--batch-size", "100", "--seed", "5"];
        var (exit, output, error) = await RunAsync(Cli(), [.. common, "--repeat", "3", "--json", repeated, "--markdown", md]);
        Assert.That(exit, Is.Zero, error);
        (exit, _, error) = await RunAsync(Cli(), [.. common, "--json", single]);
        Assert.That(exit, Is.Zero, error);

        using JsonDocument r = JsonDocument.Parse(File.ReadAllBytes(repeated));
        using JsonDocument s = JsonDocument.Parse(File.ReadAllBytes(single));
        JsonElement repeats = r.RootElement.GetProperty("repeats");
        static string Runs(JsonDocument d) => string.Join("\n", d.RootElement.GetProperty("runs").EnumerateArray()
            .Select(x => $"{x.GetProperty("policy")} {x.GetProperty("alpha")} {x.GetProperty("success")} {x.GetProperty("cost")}"));
        Assert.Multiple(() =>
        {
            Assert.That(repeats.GetProperty("seeds").EnumerateArray().Select(x => x.GetInt32()), Is.EqualTo(RepeatSeeds));
            Assert.That(Runs(r), Is.EqualTo(Runs(s)), "the main report is the first seed's");
            Assert.That(s.RootElement.TryGetProperty("repeats", out _), Is.False, "one seed has no repeats section");
            JsonElement eccos = repeats.GetProperty("frontiers").EnumerateArray().Single(f => f.GetProperty("policy").GetString() == "eccos:task-mean");
            double[] aiq = [.. eccos.GetProperty("aiq").EnumerateArray().Select(x => x.GetDouble())];
            Assert.That(aiq, Has.Length.EqualTo(3));
            Assert.That(aiq[0], Is.EqualTo(r.RootElement.GetProperty("frontiers").EnumerateArray().Single(f => f.GetProperty("policy").GetString() == "eccos:task-mean").GetProperty("aiq").GetDouble()));
            Assert.That(eccos.GetProperty("aiq_mean").GetDouble(), Is.EqualTo(aiq.Average()).Within(1e-12));
            Assert.That(repeats.GetProperty("runs").GetArrayLength(), Is.EqualTo(r.RootElement.GetProperty("runs").GetArrayLength()));
            Assert.That(repeats.GetProperty("runs").EnumerateArray().Select(x => x.GetProperty("success").GetArrayLength()), Has.All.EqualTo(3));
            Assert.That(File.ReadAllText(md), Does.Contain("## Across seeds").And.Contain("| eccos:task-mean |"));
            Assert.That(output, Does.Contain("Across seeds 5, 6, 7"));
        });
    }

    [Test]
    public async Task Markdown_and_console_carry_a_text_chart_of_the_frontiers_and_single_models()
    {
        string md = Path.Combine(_out, "r.md");
        var (exit, output, error) = await RunAsync(Cli(), "evaluate", "--data", _data, "--alpha", "0.5:0.9:0.05", "--batch-size", "100",
            "--lambda-router", "task-mean", "--markdown", md);
        Assert.That(exit, Is.Zero, error);
        string markdown = File.ReadAllText(md);
        int start = markdown.IndexOf("```text\n", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "a text chart in the Markdown report");
        string[] chart = markdown[(start + 8)..markdown.IndexOf("\n```", start + 8, StringComparison.Ordinal)].Split('\n');
        string[] rows = [.. chart.Where(l => l.Length > 7 && l[7] == '|')];
        Assert.Multiple(() =>
        {
            Assert.That(chart[0], Is.EqualTo("success"));
            Assert.That(rows, Has.Length.EqualTo(20));
            Assert.That(rows.Select(r => r.Length), Has.All.InRange(8, 8 + 64), "rows are the plot's width at most, trailing blanks trimmed");
            Assert.That(rows, Has.None.EndsWith(" "));
            Assert.That(string.Concat(rows), Does.Contain("E").And.Contain("L"), "the ECCOS and λ-router frontiers are drawn");
            Assert.That(chart, Has.Some.StartsWith("  E  eccos:task-mean (AIQ "));
            Assert.That(chart, Has.Some.StartsWith("  L  task-mean-lambda (AIQ "));
            Assert.That(chart, Has.Some.StartsWith("  1  cheap ($"));
            Assert.That(chart, Has.Some.StartsWith("  3  strong ($"));
            Assert.That(chart.Max(l => l.Length), Is.LessThanOrEqualTo(80), "fits a terminal");
            Assert.That(output, Does.Contain("  E  eccos:task-mean (AIQ "), "the console shows it too");
        });
    }

    private static IEnumerable<TestCaseData> BadArguments()
    {
        yield return Case("unknown command", "frobnicate");
        yield return Case("no data", "evaluate");
        yield return Case("repeated option", "evaluate", "--data", "{data}", "--data", "{data}");
        yield return Case("unknown option", "evaluate", "--data", "{data}", "--bogus");
        yield return Case("batch size 0", "evaluate", "--data", "{data}", "--batch-size", "0");
        yield return Case("batch size not a number", "evaluate", "--data", "{data}", "--batch-size", "ten");
        yield return Case("missing value", "evaluate", "--data", "{data}", "--batch-size");
        yield return Case("alpha above 1", "evaluate", "--data", "{data}", "--alpha", "1.5");
        yield return Case("alpha range reversed", "evaluate", "--data", "{data}", "--alpha", "0.9:0.3:0.1");
        yield return Case("capacity without share", "evaluate", "--data", "{data}", "--capacity", "cheap");
        yield return Case("capacity share above 1", "evaluate", "--data", "{data}", "--capacity", "cheap=2");
        yield return Case("capacity of unknown model", "evaluate", "--data", "{data}", "--capacity", "nope=0.1");
        yield return Case("target margin out of range", "evaluate", "--data", "{data}", "--target-margin", "0.7");
        yield return Case("repeat 0", "evaluate", "--data", "{data}", "--repeat", "0");
        yield return Case("target folds 0", "evaluate", "--data", "{data}", "--target-folds", "0");
        yield return Case("in-order with a value", "evaluate", "--data", "{data}", "--in-order=yes");
        yield return Case("unknown predictor", "evaluate", "--data", "{data}", "--predictor", "nope");
        yield return Case("unknown solver", "evaluate", "--data", "{data}", "--solver", "nope");
        yield return Case("lambda-router of a predictor not evaluated", "evaluate", "--data", "{data}", "--lambda-router", "knn");
        yield return Case("unknown embedder", "evaluate", "--data", "{data}", "--embedder", "nope");
        yield return Case("missing data folder", "evaluate", "--data", "{root}/does-not-exist");
        yield return Case("malformed outcome log", "evaluate", "--data", "{bad}");
        yield return Case("output folder missing", "evaluate", "--data", "{data}", "--json", "{out}/no-such-folder/r.json");
        yield return Case("same output twice", "evaluate", "--data", "{data}", "--json", "{out}/r.json", "--markdown", "{out}/r.json");
    }

    private static TestCaseData Case(string name, params string[] args) => new TestCaseData((object)args).SetName(name);

    [TestCaseSource(nameof(BadArguments))]
    public async Task BadArgumentsAndBadData_ExitWith2AndOneLine_AndWriteNothing(string[] template)
    {
        string bad = Path.Combine(_root, "bad");
        if (!Directory.Exists(bad))
        {
            Directory.CreateDirectory(bad);
            File.Copy(Path.Combine(_data, OutcomeDataset.ModelsFileName), Path.Combine(bad, OutcomeDataset.ModelsFileName));
            File.WriteAllLines(Path.Combine(bad, OutcomeDataset.OutcomesFileName), [.. File.ReadLines(Path.Combine(_data, OutcomeDataset.OutcomesFileName)).Take(3), "{\"id\": 7"]);
        }

        string[] args = [.. template.Select(a => a.Replace("{data}", _data, StringComparison.Ordinal).Replace("{root}", _root, StringComparison.Ordinal)
            .Replace("{bad}", bad, StringComparison.Ordinal).Replace("{out}", _out, StringComparison.Ordinal))];
        if (!args.Contains("--json"))
        {
            args = [.. args, "--json", Path.Combine(_out, "r.json"), "--plot", Path.Combine(_out, "r.png")];
        }

        var (exit, _, error) = await RunAsync(Cli(), args);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(EccosCli.UsageError));
            Assert.That(error, Does.StartWith("eccos: error: "));
            Assert.That(error.TrimEnd('\n', '\r'), Does.Not.Contain('\n'), "one line");
            Assert.That(Directory.GetFileSystemEntries(_out), Is.Empty, "nothing written");
        });
    }

    [Test]
    public async Task Help_PrintsUsageAndSucceeds()
    {
        var (exit, output, _) = await RunAsync(Cli(), "evaluate", "--help");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(output, Does.Contain("--capacity MODEL=SHARE"));
        });
    }

    [Test]
    public async Task Cancelled_ExitsWith130_AndWritesNothing()
    {
        using var cts = new CancellationTokenSource();
        EccosCli cli = Cli(c => c.Register("cancel", _ => new EvaluationPredictor("cancel", (context, _) =>
        {
            cts.Cancel();
            return ValueTask.FromResult<IPredictor>(new TaskMeanPredictor(context.Train));
        })));
        var error = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(new StringWriter()) });
        int exit = await cli.RunAsync(["evaluate", "--data", _data, "--predictor", "cancel", "--json", Path.Combine(_out, "r.json")], console, error, cts.Token);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(EccosCli.Cancelled));
            Assert.That(Directory.GetFileSystemEntries(_out), Is.Empty);
        });
    }

    [Test]
    public void Alphas_AcceptValuesAndRanges()
    {
        Assert.Multiple(() =>
        {
            Assert.That(EvaluateArguments.ParseAlphas("0.3:0.4:0.05,0.7"), Is.EqualTo(ParsedAlphas));
            Assert.That(EvaluateArguments.ParseAlphas("0.3:0.95:0.025"), Has.Count.EqualTo(27));
            Assert.That(EvaluateArguments.Parse(["--data", "d", "--capacity", "a=0.1", "b=0.2", "--capacity=c=0.3"]).Capacities, Has.Count.EqualTo(3));
        });
    }
}
