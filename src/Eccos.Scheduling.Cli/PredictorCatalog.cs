using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Cli;

/// <summary>The predictors and embedders <c>eccos evaluate</c> knows by name.</summary>
internal sealed class PredictorCatalog
{
    /// <summary>The embedder used when <c>--embedder</c> is not given.</summary>
    public const string DefaultEmbedder = "hashing";

    private readonly List<(string Name, Func<EmbedderChoice, EvaluationPredictor> Create)> _predictors = [];
    private readonly Dictionary<string, string> _embedders = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Func<PredictorFitContext, EmbedderChoice, IEmbeddingGenerator<string, Embedding<float>>>> _embedderFactories = new(StringComparer.Ordinal);

    /// <summary>Gets the default embedding cache: <c>$XDG_CACHE_HOME/eccos/embeddings</c>, else <c>~/.cache/eccos/embeddings</c>.</summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
                : xdg;
            return Path.Combine(root, "eccos", "embeddings");
        }
    }

    public IReadOnlyList<string> Names => [.. _predictors.Select(p => p.Name)];

    public IReadOnlyList<string> Embedders => [.. _embedders.Values];

    /// <summary>
    /// The predictors of the library, in report order: <c>knn</c> (kNN over query embeddings), <c>ml</c> (the ML.NET
    /// trained predictor of Eccos.Scheduling.ML), <c>hybrid</c> (a validation-fitted blend of the other three),
    /// <c>task-prior</c> (shrunk per-task rates). Components are fitted once
    /// per run and shared (the hybrid blends the very knn and task-prior that are evaluated on their own). Embedders:
    /// <c>hashing</c> (fitted on the training texts; microseconds per text, not cached) and <c>minilm</c>
    /// (all-MiniLM-L6-v2, slow on a CPU, cached on disk).
    /// </summary>
    public static PredictorCatalog CreateDefault()
    {
        var catalog = new PredictorCatalog();
        var components = new StandardPredictors(catalog._embedderFactories);
        return catalog
            .RegisterEmbedder(DefaultEmbedder, static (c, _) => HashingEmbeddingGenerator.Fit(c.Train.Select(r => r.Text)))
            .RegisterEmbedder("minilm", static (_, e) => new DiskCachingEmbeddingGenerator(new MiniLMEmbeddingGenerator(), Path.Combine(e.CacheDirectory, "minilm")))
            .Register("knn", embedder => new EvaluationPredictor("knn", (c, ct) => components.KnnAsync(c, embedder, ct)))
            .Register("ml", _ => new EvaluationPredictor("ml", (c, ct) => components.MlAsync(c, ct)))
            .Register("hybrid", embedder => new EvaluationPredictor("hybrid", (c, ct) => components.HybridAsync(c, embedder, ct)))
            .Register("task-prior", _ => new EvaluationPredictor("task-prior", (c, ct) => components.TaskPriorAsync(c)));
    }

    /// <summary>Registers a predictor; its factory gets the chosen embedder.</summary>
    public PredictorCatalog Register(string name, Func<EmbedderChoice, EvaluationPredictor> create)
    {
        _predictors.RemoveAll(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        _predictors.Add((name, create));
        return this;
    }

    /// <summary>Declares an embedder that <c>--embedder</c> accepts, and how to create it for a run (<see langword="null"/>: a name only, for tests).</summary>
    public PredictorCatalog RegisterEmbedder(string name, Func<PredictorFitContext, EmbedderChoice, IEmbeddingGenerator<string, Embedding<float>>>? create = null)
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
    public IReadOnlyList<EvaluationPredictor> Resolve(IReadOnlyList<string>? names, string? embedder, string? cacheDirectory = null)
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

            result.Add(_predictors[k].Create(new EmbedderChoice(chosenEmbedder, cacheDirectory ?? DefaultCacheDirectory)));
        }

        return result;
    }
}

/// <summary>The embedder chosen for a run, and where it may cache embeddings.</summary>
/// <param name="Name">The embedder's name.</param>
/// <param name="CacheDirectory">The embedding cache folder.</param>
internal sealed record EmbedderChoice(string Name, string CacheDirectory);
