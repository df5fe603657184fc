using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>Routes with a <see cref="KnnPredictor"/> built from recorded outcomes.</summary>
public static class KnnEccosBuilderExtensions
{
    /// <summary>
    /// Uses a <see cref="KnnPredictor"/> over <paramref name="history"/>: it predicts from the most similar past queries,
    /// learns from every call (it is an outcome sink), and its history's most recent queries give the first prices.
    /// </summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="history">Recorded outcomes (an outcome log, a benchmark's records, earlier traffic), read when the router is built.</param>
    /// <param name="embeddingGenerator">
    /// Embeds query texts; the router does not dispose it. Default: a <see cref="HashingEmbeddingGenerator"/> fitted on
    /// the history (offline, no model files), which the router owns.
    /// </param>
    /// <param name="options">
    /// The kNN options; <see langword="null"/> for the defaults with <see cref="KnnPredictorOptions.Search"/> =
    /// <see cref="KnnSearch.Clustered"/> (online routing predicts one request at a time, and the clustered search keeps
    /// the router's overhead within tens of microseconds on a 10k history).
    /// </param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// The history is embedded when the router is built, without blocking: with the hashing embedder at once (a
    /// malformed history then fails the build), with a remote embedding generator in the background while requests
    /// wait for it.
    /// </remarks>
    public static EccosBuilder UseKnnPredictor(
        this EccosBuilder builder,
        IEnumerable<OutcomeRecord> history,
        IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null,
        KnnPredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        return UseKnnPredictor(builder, _ => history, embeddingGenerator is null ? null : _ => embeddingGenerator, options);
    }

    /// <summary>
    /// Uses a <see cref="KnnPredictor"/> whose history (and, optionally, embedding generator) come from the build's
    /// service provider; see <see cref="UseKnnPredictor(EccosBuilder, IEnumerable{OutcomeRecord}, IEmbeddingGenerator{string, Embedding{float}}?, KnnPredictorOptions?)"/>.
    /// </summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="history">Returns the recorded outcomes (for example <c>sp => OutcomeLog.Read(path)</c>).</param>
    /// <param name="embeddingGenerator">Returns the embedding generator (the container then owns it); default a hashing embedder the router owns.</param>
    /// <param name="options">The kNN options; <see langword="null"/> for the defaults with clustered search.</param>
    /// <returns>The builder.</returns>
    public static EccosBuilder UseKnnPredictor(
        this EccosBuilder builder,
        Func<IServiceProvider, IEnumerable<OutcomeRecord>> history,
        Func<IServiceProvider, IEmbeddingGenerator<string, Embedding<float>>>? embeddingGenerator = null,
        KnnPredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(history);
        KnnPredictorOptions chosen = options ?? new KnnPredictorOptions { Search = KnnSearch.Clustered };
        return builder.UsePredictorSetup((services, pool, cancellationToken) => CreateAsync(services, pool, history, embeddingGenerator, chosen, builder.Name, cancellationToken), learnFromTraffic: true);
    }

    /// <summary>
    /// A history that names none of the pool's models teaches nothing about them (every prediction would be the
    /// prior): refused, naming both sides, rather than routing blind.
    /// </summary>
    private static void CheckHistoryNamesThePool(IReadOnlyList<OutcomeRecord> history, IReadOnlyList<ModelProfile> pool, string router)
    {
        if (history.Count == 0)
        {
            return; // an empty history is a cold start, not a mistake
        }

        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (OutcomeRecord record in history)
        {
            foreach (ModelOutcome o in record?.Outputs ?? [])
            {
                if (o?.Model is { } model)
                {
                    named.Add(model);
                }
            }
        }

        if (!pool.Any(m => named.Contains(m.Name)))
        {
            throw new ArgumentException(
                $"Eccos router '{router}': the kNN history ({history.Count} records) names none of the pool's models ({string.Join(", ", pool.Select(m => m.Name))}); " +
                $"it names {string.Join(", ", named.Order(StringComparer.Ordinal).Take(10))}{(named.Count > 10 ? ", ..." : string.Empty)}.",
                nameof(history));
        }
    }

    private static async Task<PredictorSetup> CreateAsync(
        IServiceProvider services,
        IReadOnlyList<ModelProfile> pool,
        Func<IServiceProvider, IEnumerable<OutcomeRecord>> history,
        Func<IServiceProvider, IEmbeddingGenerator<string, Embedding<float>>>? embeddingGenerator,
        KnnPredictorOptions options,
        string router,
        CancellationToken cancellationToken)
    {
        IEnumerable<OutcomeRecord> source = history(services) ?? throw new InvalidOperationException($"Eccos router '{router}': the kNN history factory returned null.");
        IReadOnlyList<OutcomeRecord> records = source as IReadOnlyList<OutcomeRecord> ?? [.. source];
        CheckHistoryNamesThePool(records, pool, router);
        HashingEmbeddingGenerator? owned = null;
        IEmbeddingGenerator<string, Embedding<float>> generator;
        if (embeddingGenerator is null)
        {
            generator = owned = HashingEmbeddingGenerator.Fit(records.Select(r => r.Text));
        }
        else
        {
            generator = embeddingGenerator(services) ?? throw new InvalidOperationException($"Eccos router '{router}': the embedding generator factory returned null.");
        }

        try
        {
            KnnPredictor predictor = await KnnPredictor.CreateAsync(records, generator, options, cancellationToken).ConfigureAwait(false);
            return new PredictorSetup(predictor, [.. records.Select(r => r.ToQuery())], owned);
        }
        catch
        {
            owned?.Dispose();
            throw;
        }
    }
}
