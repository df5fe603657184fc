using System.Globalization;

namespace Eccos.Scheduling.Cli;

/// <summary>The parsed arguments of <c>eccos evaluate</c>.</summary>
internal sealed class EvaluateArguments
{
    public const string Usage = """
        Usage: eccos evaluate --data DIR [options]

        Replays the outcome log in DIR (outcomes.jsonl, models.json) through
        ECCOS and the baselines.

        Options:
          --data DIR              dataset folder (required)
          --alpha LIST            quality targets: values and FROM:TO:STEP ranges,
                                  comma-separated (default 0.3:0.95:0.025)
          --batch-size N          test queries solved together (default 500)
          --capacity MODEL=SHARE  cap MODEL at floor(SHARE x batch) queries of each
                                  batch (repeatable; several pairs may follow)
          --predictor NAMES       comma-separated predictors, 'all' (default) or
                                  'none'
          --solver NAME           solver of the eccos policies (default lagrangian)
          --lambda-router NAMES   predictors feeding a RouterBench lambda-router
                                  (NAME-lambda; default knn when evaluated; 'none')
          --embedder NAME         embedder of the kNN predictors: hashing (default)
                                  or minilm
          --cache-dir DIR         embedding cache (default
                                  $XDG_CACHE_HOME/eccos/embeddings or
                                  ~/.cache/eccos/embeddings)
          --seed N                seed of splits and random baselines (default 0)
          --repeat N              run N times, with seeds SEED, SEED+1, ..., and
                                  report each policy's spread (default 1)
          --target-margin X       t(alpha) aims at alpha + X on the held-out
                                  replay (default 0.005)
          --target-folds N        held-out folds of the training split t(alpha) is
                                  learned on (default 5; 1 = validation slice)
          --in-order              replay the test split in file order (default:
                                  seeded random order)
          --json FILE             write the JSON report
          --markdown FILE         write the Markdown report
          --plot FILE             write the cost-quality plot (PNG)
          -h, --help              show this help
        """;

    public string DataDirectory { get; private set; } = string.Empty;

    public IReadOnlyList<double> Alphas { get; private set; } = EvaluationOptions.DefaultAlphas;

    public int BatchSize { get; private set; } = 500;

    public Dictionary<string, double> Capacities { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets the requested predictor names; <see langword="null"/> for all available.</summary>
    public IReadOnlyList<string>? Predictors { get; private set; }

    public string Solver { get; private set; } = "lagrangian";

    /// <summary>
    /// Gets the predictors whose predictions feed a λ-router (empty for none); <see langword="null"/> for the default,
    /// the kNN predictor when it is evaluated.
    /// </summary>
    public IReadOnlyList<string>? LambdaRouters { get; private set; }

    public string? Embedder { get; private set; }

    public string? CacheDirectory { get; private set; }

    public int Seed { get; private set; }

    public int Repeat { get; private set; } = 1;

    public double? TargetMargin { get; private set; }

    public int? TargetFolds { get; private set; }

    public bool InOrder { get; private set; }

    public string? JsonPath { get; private set; }

    public string? MarkdownPath { get; private set; }

    public string? PlotPath { get; private set; }

    public bool Help { get; private set; }

    /// <summary>Parses the arguments after <c>evaluate</c>.</summary>
    /// <exception cref="CliUsageException">The first problem, in one line.</exception>
    public static EvaluateArguments Parse(IReadOnlyList<string> args)
    {
        var parsed = new EvaluateArguments();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int k = 0; k < args.Count; k++)
        {
            string option = args[k];
            if (option is "-h" or "--help")
            {
                parsed.Help = true;
                return parsed;
            }

            if (!option.StartsWith("--", StringComparison.Ordinal))
            {
                throw new CliUsageException($"unexpected argument '{option}' (options start with --; see eccos evaluate --help).");
            }

            string? inline = null;
            int eq = option.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                inline = option[(eq + 1)..];
                option = option[..eq];
            }

            if (option != "--capacity" && !seen.Add(option))
            {
                throw new CliUsageException($"{option} is given more than once.");
            }

            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (k + 1 >= args.Count || args[k + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new CliUsageException($"{option} needs a value.");
                }

                return args[++k];
            }

            switch (option)
            {
                case "--data":
                    parsed.DataDirectory = Value();
                    break;
                case "--alpha":
                    parsed.Alphas = ParseAlphas(Value());
                    break;
                case "--batch-size":
                    parsed.BatchSize = ParseInt(option, Value(), 1);
                    break;
                case "--capacity":
                    parsed.AddCapacity(Value());
                    while (inline is null && k + 1 < args.Count && !args[k + 1].StartsWith("--", StringComparison.Ordinal))
                    {
                        parsed.AddCapacity(args[++k]);
                    }

                    break;
                case "--predictor":
                    parsed.Predictors = ParseNames(option, Value());
                    break;
                case "--solver":
                    parsed.Solver = NonEmpty(option, Value());
                    break;
                case "--lambda-router":
                    string[] routers = ParseNames(option, Value());
                    parsed.LambdaRouters = routers is ["none"] ? [] : routers;
                    break;
                case "--embedder":
                    parsed.Embedder = NonEmpty(option, Value());
                    break;
                case "--cache-dir":
                    parsed.CacheDirectory = NonEmpty(option, Value());
                    break;
                case "--seed":
                    parsed.Seed = ParseInt(option, Value(), int.MinValue);
                    break;
                case "--repeat":
                    parsed.Repeat = ParseInt(option, Value(), 1);
                    break;
                case "--target-margin":
                    parsed.TargetMargin = ParseMargin(Value());
                    break;
                case "--target-folds":
                    parsed.TargetFolds = ParseInt(option, Value(), 1);
                    break;
                case "--in-order":
                    if (inline is not null)
                    {
                        throw new CliUsageException("--in-order takes no value.");
                    }

                    parsed.InOrder = true;
                    break;
                case "--json":
                    parsed.JsonPath = NonEmpty(option, Value());
                    break;
                case "--markdown":
                    parsed.MarkdownPath = NonEmpty(option, Value());
                    break;
                case "--plot":
                    parsed.PlotPath = NonEmpty(option, Value());
                    break;
                default:
                    throw new CliUsageException($"unknown option '{option}' (see eccos evaluate --help).");
            }
        }

        if (string.IsNullOrWhiteSpace(parsed.DataDirectory))
        {
            throw new CliUsageException("--data DIR is required.");
        }

        return parsed;
    }

    /// <summary>Parses <c>0.6,0.7</c> and ranges <c>0.3:0.95:0.025</c> (mixed, comma-separated) into sorted, distinct targets.</summary>
    internal static IReadOnlyList<double> ParseAlphas(string text)
    {
        var values = new SortedSet<double>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            string[] range = part.Split(':');
            if (range.Length == 3)
            {
                double from = ParseAlpha(range[0], part);
                double to = ParseAlpha(range[1], part);
                if (!double.TryParse(range[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double step) || !(step > 0) || to < from)
                {
                    throw new CliUsageException($"--alpha: '{part}' is not a range FROM:TO:STEP with FROM ≤ TO and STEP > 0.");
                }

                values.UnionWith(EvaluationOptions.Sweep(from, to, step));
            }
            else if (range.Length == 1)
            {
                values.Add(ParseAlpha(part, part));
            }
            else
            {
                throw new CliUsageException($"--alpha: '{part}' is neither a number nor a range FROM:TO:STEP.");
            }
        }

        return [.. values];
    }

    private static double ParseAlpha(string text, string part)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double alpha) || !double.IsFinite(alpha) || alpha < 0 || alpha > 1)
        {
            throw new CliUsageException($"--alpha: '{part}' is not a quality target in [0, 1].");
        }

        return alpha;
    }

    private static double ParseMargin(string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double margin) || !(margin >= 0 && margin < 0.5))
        {
            throw new CliUsageException($"--target-margin: expected a number in [0, 0.5), got '{text}'.");
        }

        return margin;
    }

    private static int ParseInt(string option, string text, int min)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min)
        {
            throw new CliUsageException(min == 1
                ? $"{option}: expected a positive integer, got '{text}'."
                : $"{option}: expected an integer, got '{text}'.");
        }

        return value;
    }

    private static string NonEmpty(string option, string text) =>
        string.IsNullOrWhiteSpace(text) ? throw new CliUsageException($"{option} needs a non-empty value.") : text;

    private static string[] ParseNames(string option, string text)
    {
        string[] names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0)
        {
            throw new CliUsageException($"{option} needs at least one name.");
        }

        if (names.Distinct(StringComparer.OrdinalIgnoreCase).Count() != names.Length)
        {
            throw new CliUsageException($"{option}: a name is repeated in '{text}'.");
        }

        return names;
    }

    private void AddCapacity(string text)
    {
        int eq = text.LastIndexOf('=');
        if (eq <= 0 || eq == text.Length - 1)
        {
            throw new CliUsageException($"--capacity: '{text}' is not MODEL=SHARE.");
        }

        string model = text[..eq];
        if (!double.TryParse(text[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double share) || !double.IsFinite(share) || share < 0 || share > 1)
        {
            throw new CliUsageException($"--capacity: the share of '{model}' must be a number in [0, 1], got '{text[(eq + 1)..]}'.");
        }

        if (!Capacities.TryAdd(model, share))
        {
            throw new CliUsageException($"--capacity: model '{model}' is given more than once.");
        }
    }
}
