using System.Buffers;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>
/// Predicts quality and output length from the most similar past queries: for each query, the K stored queries of
/// highest cosine similarity of their embeddings, and for each model, the similarity-weighted mean of what those
/// neighbours recorded for it, shrunk toward the model's hierarchical prior when the neighbours hold little evidence.
/// </summary>
/// <remarks>
/// <para>
/// Embeddings come from any <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> (for example
/// <see cref="HashingEmbeddingGenerator"/>, or all-MiniLM-L6-v2 from Eccos.Scheduling.Embeddings.MiniLM); a
/// <see cref="PredictAsync"/> batch is embedded in one call. Search is exact by default, or approximate with
/// <see cref="KnnSearch.Clustered"/> (an inverted-file index, re-clustered in the background as it grows). For each
/// (query, model), with w = similarity^p for neighbours above <see cref="KnnPredictorOptions.MinSimilarity"/>,
/// quality = (Σ w·quality + β·prior) / (Σ w + β) over the neighbours with a graded output of that model (an ungraded
/// output counts for its length only); output tokens shrink the same way; cost follows from tokens and prices. The
/// prior shrinks the model's rate in the query's task toward its overall rate and that toward the pool's (see
/// <see cref="KnnPredictorOptions.PriorPseudoCount"/>), shifted by the query's difficulty pooled over all models of
/// the neighbours (<see cref="KnnPredictorOptions.PoolDifficulty"/>). The design and its measurements: docs/knn.md.
/// </para>
/// <para>
/// Thread safety: every member may be called concurrently. Adding embeds outside any lock, then appends under a writer
/// lock and publishes a new immutable snapshot; predictions and <see cref="Save"/> read the latest snapshot without
/// locking, never block on writers and never see a half-written record. Cancellation is honoured while embedding and
/// between blocks of the search. The predictor does not own the embedding generator and is not disposable.
/// </para>
/// </remarks>
public sealed partial class KnnPredictor : ISavablePredictor, IOutcomeSink
{
    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly KnnPredictorOptions _options;
    private readonly KnnIndex _index;
    private readonly string? _embeddingModelId;
    private KnnPriors? _priors;

    private KnnPredictor(IEmbeddingGenerator<string, Embedding<float>> generator, KnnPredictorOptions options, KnnIndex index)
    {
        _generator = generator;
        _options = options;
        _index = index;
        _embeddingModelId = generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId;
    }

    /// <summary>Gets the number of stored queries.</summary>
    public int Count => _index.Snapshot.Count;

    /// <summary>Gets the number of dimensions of the stored embeddings (0 while nothing is stored).</summary>
    public int Dimensions => _index.Snapshot.Dimensions;

    /// <summary>Builds a predictor from recorded outcomes.</summary>
    /// <param name="history">The records to learn from; may be empty (then every prediction is a prior).</param>
    /// <param name="embeddingGenerator">Embeds query texts; keep it alive as long as the predictor.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels building.</param>
    /// <returns>The predictor.</returns>
    /// <exception cref="ArgumentException">A record is malformed (the message names it), or an option is out of range.</exception>
    /// <exception cref="InvalidOperationException">The embedding generator returned the wrong number of vectors or vectors of varying dimensions.</exception>
    public static async Task<KnnPredictor> CreateAsync(
        IEnumerable<OutcomeRecord> history,
        IEmbeddingGenerator<string, Embedding<float>> embeddingGenerator,
        KnnPredictorOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(embeddingGenerator);
        return await CreateAsync(history, embeddingGenerator, options, KnnIndex.DefaultChunkRows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds a predictor whose index grows in chunks of <paramref name="chunkRows"/> rows (tests use small chunks).</summary>
    internal static async Task<KnnPredictor> CreateAsync(
        IEnumerable<OutcomeRecord> history,
        IEmbeddingGenerator<string, Embedding<float>> embeddingGenerator,
        KnnPredictorOptions? options,
        int chunkRows,
        CancellationToken cancellationToken)
    {
        KnnPredictorOptions validated = (options ?? new KnnPredictorOptions()).Validated();
        var predictor = new KnnPredictor(embeddingGenerator, validated, new KnnIndex(chunkRows: chunkRows, clustering: ClusteringOf(validated)));
        await predictor.AddCoreAsync(history, nameof(history), bulk: true, cancellationToken).ConfigureAwait(false);
        predictor._index.ClusterIfDue();
        return predictor;
    }

    /// <summary>Adds recorded outcomes to the index (one embedding call per <see cref="KnnPredictorOptions.EmbeddingBatchSize"/> records).</summary>
    /// <param name="records">The records. Records without outputs carry no evidence and are skipped.</param>
    /// <param name="cancellationToken">Cancels adding; batches already added stay.</param>
    /// <returns>A task that completes when the records are searchable.</returns>
    /// <exception cref="ArgumentException">A record is malformed (the message names it).</exception>
    public Task AddAsync(IEnumerable<OutcomeRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        return AddCoreAsync(records, nameof(records), bulk: false, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Adds the record to the index: predictions made after this completes take it into account.</remarks>
    public async ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        await AddCoreAsync([record], nameof(record), bulk: false, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<PredictionMatrix> PredictAsync(
        IReadOnlyList<SchedulingQuery> queries,
        IReadOnlyList<ModelProfile> models,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(models);
        var result = new PredictionMatrix(queries.Count, models);
        for (int i = 0; i < queries.Count; i++)
        {
            _ = queries[i] ?? throw new ArgumentException($"Query at index {i} is null.", nameof(queries));
        }

        KnnSnapshot snapshot = _index.Snapshot;
        int k = Math.Min(_options.K, snapshot.Count);
        if (k == 0 || queries.Count == 0)
        {
            Predict(snapshot, [], queries, result, cancellationToken);
            return result;
        }

        if (_generator is HashingEmbeddingGenerator hashing && hashing.Dimensions == snapshot.Dimensions)
        {
            // The shipped in-process embedder, called directly: no texts array, no embedding objects, no copy.
            // Bit-identical to the general path below (GenerateAsync runs the same Embed).
            cancellationToken.ThrowIfCancellationRequested();
            int d = snapshot.Dimensions;
            float[] buffer = ArrayPool<float>.Shared.Rent(queries.Count * d);
            try
            {
                Span<float> embedded = buffer.AsSpan(0, queries.Count * d);
                for (int i = 0; i < queries.Count; i++)
                {
                    hashing.Embed(queries[i].Text, embedded.Slice(i * d, d));
                }

                NormalizeRows(embedded, d);
                Predict(snapshot, embedded, queries, result, cancellationToken);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }

            return result;
        }

        var texts = new string[queries.Count];
        for (int i = 0; i < texts.Length; i++)
        {
            texts[i] = queries[i].Text;
        }

        (float[] vectors, int dimensions) = await EmbedAsync(texts, snapshot.Dimensions, cancellationToken).ConfigureAwait(false);
        NormalizeRows(vectors, dimensions);
        Predict(snapshot, vectors, queries, result, cancellationToken);
        return result;
    }

    /// <summary>Gets the index, for tests and benchmarks.</summary>
    internal KnnIndex Index => _index;

    private static KnnClusterSettings? ClusteringOf(KnnPredictorOptions options) =>
        options.Search == KnnSearch.Clustered ? new KnnClusterSettings(options.Lists, options.Probes) : null;

    private static void NormalizeRows(Span<float> vectors, int dimensions)
    {
        for (int start = 0; start < vectors.Length; start += dimensions)
        {
            Span<float> row = vectors.Slice(start, dimensions);
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(row);
            if (norm > 0 && float.IsFinite(norm))
            {
                System.Numerics.Tensors.TensorPrimitives.Divide(row, norm, row);
            }
            else
            {
                row.Clear();
            }
        }
    }

    private async Task AddCoreAsync(IEnumerable<OutcomeRecord> records, string paramName, bool bulk, CancellationToken cancellationToken)
    {
        var batch = new List<OutcomeRecord>(_options.EmbeddingBatchSize);
        int index = 0;
        foreach (OutcomeRecord record in records)
        {
            Validate(record, index++, paramName);
            if (record.Outputs.Count == 0)
            {
                continue;
            }

            batch.Add(record);
            if (batch.Count == _options.EmbeddingBatchSize)
            {
                await AddBatchAsync(batch, bulk, cancellationToken).ConfigureAwait(false);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            await AddBatchAsync(batch, bulk, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task AddBatchAsync(List<OutcomeRecord> batch, bool bulk, CancellationToken cancellationToken)
    {
        var texts = new string[batch.Count];
        var items = new (string? Task, IReadOnlyList<ModelOutcome> Outputs)[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            texts[i] = batch[i].Text;
            items[i] = (batch[i].Task, batch[i].Outputs);
        }

        (float[] vectors, int dimensions) = await EmbedAsync(texts, _index.Snapshot.Dimensions, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        _index.Add(vectors, dimensions, items, clusterInBackground: !bulk);
    }

    /// <summary>Embeds texts in one call into a row-major matrix, checking count and dimensions.</summary>
    private async Task<(float[] Vectors, int Dimensions)> EmbedAsync(string[] texts, int expectedDimensions, CancellationToken cancellationToken)
    {
        GeneratedEmbeddings<Embedding<float>> embeddings = await _generator.GenerateAsync(texts, null, cancellationToken).ConfigureAwait(false);
        if (embeddings.Count != texts.Length)
        {
            throw new InvalidOperationException($"The embedding generator returned {embeddings.Count} embeddings for {texts.Length} texts.");
        }

        int dimensions = expectedDimensions > 0 ? expectedDimensions : embeddings.Count > 0 ? embeddings[0].Vector.Length : 0;
        if (dimensions == 0)
        {
            throw new InvalidOperationException("The embedding generator returned an empty vector.");
        }

        float[] vectors = new float[checked(texts.Length * dimensions)];
        for (int i = 0; i < embeddings.Count; i++)
        {
            ReadOnlySpan<float> v = embeddings[i].Vector.Span;
            if (v.Length != dimensions)
            {
                throw new InvalidOperationException(
                    $"The embedding generator returned a vector of {v.Length} dimensions for text {i}; {dimensions} were expected (as the index holds).");
            }

            v.CopyTo(vectors.AsSpan(i * dimensions, dimensions));
        }

        return (vectors, dimensions);
    }

    private static void Validate(OutcomeRecord record, int index, string paramName)
    {
        if (record is null)
        {
            throw new ArgumentException($"Record {index} is null.", paramName);
        }

        if (record.Text is null)
        {
            throw new ArgumentException($"Record {index} (id '{record.Id}') has no query text.", paramName);
        }

        if (record.Outputs is null)
        {
            throw new ArgumentException($"Record {index} (id '{record.Id}') has no outputs list.", paramName);
        }

        foreach (ModelOutcome o in record.Outputs)
        {
            if (o is null || string.IsNullOrEmpty(o.Model))
            {
                throw new ArgumentException($"Record {index} (id '{record.Id}') has an output without a model name.", paramName);
            }

            if (o.Quality is { } s && !(s >= 0 && s <= 1))
            {
                throw new ArgumentException($"Record {index} (id '{record.Id}'), model '{o.Model}': score {s} is not in [0, 1].", paramName);
            }

            if (o.OutputTokens < 0)
            {
                throw new ArgumentException($"Record {index} (id '{record.Id}'), model '{o.Model}': output tokens {o.OutputTokens} are negative.", paramName);
            }
        }
    }

}
