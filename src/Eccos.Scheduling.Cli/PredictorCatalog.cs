using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Cli;

/// <summary>The predictors and embedders <c>eccos evaluate</c> knows by name.</summary>
internal sealed class PredictorCatalog
{
    /// <summary>The embedder used when <c>--embedder</c> is not given.</summary>
    public const string DefaultEmbedder = "hashing";

    private readonly List<(string Name, Func<string, EvaluationPredictor> Create)> _predictors = [];
    private readonly Dictionary<string, string> _embedders = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Func<PredictorFitContext, IEmbeddingGenerator<string, Embedding<float>>>> _embedderFactories = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Names => [.. _predictors.Select(p => p.Name)];

    public IReadOnlyList<string> Embedders => [.. _embedders.Values];

    /// <summary>
    /// The predictors of the library, in report order: <c>knn</c> (kNN over query embeddings), <c>hybrid</c> (a
    /// validation-fitted blend of the others), <c>task-prior</c> (shrunk per-task rates). Components are fitted once
    /// per run and shared (the hybrid blends the very knn and task-prior that are evaluated on their own).
    /// </summary>
    public static PredictorCatalog CreateDefault()
    {
        var catalog = new PredictorCatalog();
        var components = new StandardPredictors(catalog._embedderFactories);
        return catalog
            .RegisterEmbedder(DefaultEmbedder, static c => HashingEmbeddingGenerator.Fit(c.Train.Select(r => r.Query)))
            .Register("knn", embedder => new EvaluationPredictor("knn", (c, ct) => components.KnnAsync(c, embedder, ct)))
            .Register("hybrid", embedder => new EvaluationPredictor("hybrid", (c, ct) => components.HybridAsync(c, embedder, ct)))
            .Register("task-prior", _ => new EvaluationPredictor("task-prior", (c, ct) => components.TaskPriorAsync(c)));
    }

    /// <summary>Registers a predictor; its factory gets the chosen embedder's name.</summary>
    public PredictorCatalog Register(string name, Func<string, EvaluationPredictor> create)
    {
        _predictors.RemoveAll(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        _predictors.Add((name, create));
        return this;
    }

    /// <summary>Declares an embedder that <c>--embedder</c> accepts, and how to create it for a run (<see langword="null"/>: a name only, for tests).</summary>
    public PredictorCatalog RegisterEmbedder(string name, Func<PredictorFitContext, IEmbeddingGenerator<string, Embedding<float>>>? create = null)
    {
        _embedders[name] = name;
        if (create is not null)
        {
            _embedderFactories[name] = create;
        }

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
