namespace Eccos.Scheduling.Cli;

/// <summary>The predictors and embedders <c>eccos evaluate</c> knows by name.</summary>
internal sealed class PredictorCatalog
{
    /// <summary>The embedder used when <c>--embedder</c> is not given.</summary>
    public const string DefaultEmbedder = "hashing";

    private readonly List<(string Name, Func<string, EvaluationPredictor> Create)> _predictors = [];
    private readonly Dictionary<string, string> _embedders = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> Names => [.. _predictors.Select(p => p.Name)];

    public IReadOnlyList<string> Embedders => [.. _embedders.Values];

    /// <summary>The predictors of the library, in report order.</summary>
    public static PredictorCatalog CreateDefault() => new();

    /// <summary>Registers a predictor; its factory gets the chosen embedder's name.</summary>
    public PredictorCatalog Register(string name, Func<string, EvaluationPredictor> create)
    {
        _predictors.RemoveAll(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        _predictors.Add((name, create));
        return this;
    }

    /// <summary>Declares an embedder name that <c>--embedder</c> accepts.</summary>
    public PredictorCatalog RegisterEmbedder(string name)
    {
        _embedders[name] = name;
        return this;
    }

    /// <summary>Creates the requested predictors (all when <paramref name="names"/> is null; none for <c>none</c>).</summary>
    /// <exception cref="CliUsageException">An unknown predictor or embedder.</exception>
    public IReadOnlyList<EvaluationPredictor> Resolve(IReadOnlyList<string>? names, string? embedder)
    {
        string chosenEmbedder = DefaultEmbedder;
        if (embedder is not null)
        {
            if (!_embedders.TryGetValue(embedder, out string? known))
            {
                throw new CliUsageException(
                    $"--embedder: unknown embedder '{embedder}'; available: {(_embedders.Count == 0 ? "none" : string.Join(", ", Embedders))}.");
            }

            chosenEmbedder = known;
        }

        if (names is ["none"])
        {
            return [];
        }

        IEnumerable<string> wanted = names is null or ["all"] ? Names : names;
        var result = new List<EvaluationPredictor>();
        foreach (string name in wanted)
        {
            int k = _predictors.FindIndex(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
            if (k < 0)
            {
                throw new CliUsageException(
                    $"--predictor: unknown predictor '{name}'; available: {(_predictors.Count == 0 ? "none" : string.Join(", ", Names))}.");
            }

            result.Add(_predictors[k].Create(chosenEmbedder));
        }

        return result;
    }
}
