using System.Buffers;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>
/// Predicts quality and output length from the most similar past queries: for each query, the K stored queries of
/// highest cosine similarity of their embeddings, and for each model, the similarity-weighted mean of what those
/// neighbours recorded for it, shrunk toward the model's prior (its success rate within the query's task when the
/// query has a known task tag, else overall) when the neighbours hold little evidence.
/// </summary>
/// <remarks>
/// <para>
/// Embeddings come from any <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> (for example
/// <see cref="HashingEmbeddingGenerator"/>, or all-MiniLM-L6-v2 from the Eccos.Scheduling.Embeddings.MiniLM
/// package); a <see cref="PredictAsync"/> batch is embedded in one call (a <see cref="HashingEmbeddingGenerator"/> is
/// called directly, without allocating). Search is exact by default: one pass over the stored, L2-normalized vectors
/// with SIMD dot products and a bounded heap per query. With <see cref="KnnPredictorOptions.Search"/> =
/// <see cref="KnnSearch.Clustered"/> it is approximate: an inverted-file index (seeded spherical k-means into
/// <see cref="KnnPredictorOptions.Lists"/> lists, each a contiguous block of rows) searched in the
/// <see cref="KnnPredictorOptions.Probes"/> lists nearest to the query, and re-clustered in the background whenever
/// it has doubled. For each (query, model), with w = similarity^p for neighbours above
/// <see cref="KnnPredictorOptions.MinSimilarity"/>, quality = (Σ w·score + β·prior) / (Σ w + β) over the neighbours
/// with a graded output of that model (an output with a null score counts for its length only); output tokens shrink
/// the same way; cost = <see cref="ModelProfile.CostOf"/>(input tokens, predicted output tokens). The prior is
/// hierarchical: the mean over models, then the model's overall rate, then its rate within the task (see
/// <see cref="KnnPredictorOptions.PriorPseudoCount"/>), shifted by the query's difficulty pooled over all models of
/// the neighbours (<see cref="KnnPredictorOptions.PoolDifficulty"/>). A model never seen in the history gets the
/// mean over models.
/// </para>
/// <para>
/// Thread safety: every member may be called concurrently. <see cref="AddAsync"/> and <see cref="RecordAsync"/>
/// embed outside any lock, then append under a writer lock and publish a new immutable snapshot; predictions read
/// the latest snapshot without locking and never block on writers (nor see a half-written record). A re-clustering
/// trains on a snapshot on the thread pool without holding the lock, then takes it once to add the rows that arrived
/// meanwhile and publish. Cancellation is honoured while embedding and between blocks of the search. The predictor does not own the
/// embedding generator and is not disposable: dispose the generator yourself when done.
/// </para>
/// </remarks>
public sealed class KnnPredictor : IPredictor, IOutcomeSink
{
    private const uint FileMagic = 0x4E4E4B45; // "EKNN"
    private const int FileVersion = 2; // 2 added the clustered layout after the vectors; version 1 files still load
    private const int MaxDimensions = 1 << 16;

    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly KnnPredictorOptions _options;
    private readonly KnnIndex _index;
    private readonly string? _embeddingModelId;
    private PriorTable? _priors;

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

    /// <summary>
    /// Loads a predictor written by <see cref="Save"/>. The embedding generator is supplied again and must be the one
    /// the index was built with (same model id and dimensions, when it reports them).
    /// </summary>
    /// <param name="stream">The stream, positioned at the index; left open.</param>
    /// <param name="embeddingGenerator">The embedding generator the index was built with.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults. Options are not stored with the index.</param>
    /// <returns>The predictor.</returns>
    /// <exception cref="InvalidDataException">The stream does not hold an index, has an unsupported version, is truncated or corrupt.</exception>
    /// <exception cref="ArgumentException">The generator reports another embedding model or other dimensions than the index was built with.</exception>
    public static KnnPredictor Load(Stream stream, IEmbeddingGenerator<string, Embedding<float>> embeddingGenerator, KnnPredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(embeddingGenerator);
        KnnPredictorOptions validated = (options ?? new KnnPredictorOptions()).Validated();
        var predictor = new KnnPredictor(embeddingGenerator, validated, new KnnIndex(clustering: ClusteringOf(validated)));
        using var hashing = new ChecksumStream(stream);
        using var reader = new BinaryReader(hashing, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadUInt32() != FileMagic)
            {
                throw new InvalidDataException("The stream does not hold a KnnPredictor index (bad magic number).");
            }

            int version = reader.ReadInt32();
            if (version is < 1 or > FileVersion)
            {
                throw new InvalidDataException($"KnnPredictor index format version {version} is not supported (this library reads versions 1 to {FileVersion}).");
            }

            string? storedModelId = reader.ReadBoolean() ? reader.ReadString() : null;
            int dimensions = reader.ReadInt32();
            int count = reader.ReadInt32();
            if (dimensions < 0 || dimensions > MaxDimensions || count < 0 || (count > 0 && dimensions == 0))
            {
                throw new InvalidDataException($"The KnnPredictor index is corrupt ({count} rows of {dimensions} dimensions).");
            }

            EmbeddingGeneratorMetadata? metadata = embeddingGenerator.GetService<EmbeddingGeneratorMetadata>();
            if (storedModelId is not null && metadata?.DefaultModelId is { } modelId && !string.Equals(modelId, storedModelId, StringComparison.Ordinal))
            {
                throw new ArgumentException(
                    $"The index was built with embeddings of '{storedModelId}', but the generator supplied embeds with '{modelId}'.",
                    nameof(embeddingGenerator));
            }

            if (dimensions > 0 && metadata?.DefaultModelDimensions is { } dims && dims != dimensions)
            {
                throw new ArgumentException(
                    $"The index holds embeddings of {dimensions} dimensions, but the generator supplied produces {dims}.",
                    nameof(embeddingGenerator));
            }

            string[] models = ReadNames(reader, "model");
            string[] tasks = ReadNames(reader, "task");
            // Grown as read, not allocated from the stored count: a corrupt count must end in "truncated", not in a huge allocation.
            var items = new List<KnnItem>(Math.Min(count, 1 << 16));
            for (int i = 0; i < count; i++)
            {
                int task = reader.ReadInt32();
                int outcomes = reader.ReadInt32();
                if (task < -1 || task >= tasks.Length || outcomes < 0 || outcomes > models.Length)
                {
                    throw new InvalidDataException($"The KnnPredictor index is corrupt at row {i} (task {task}, {outcomes} outcomes).");
                }

                var list = new KnnOutcome[outcomes];
                for (int o = 0; o < outcomes; o++)
                {
                    int model = reader.ReadInt32();
                    float score = reader.ReadSingle();
                    float tokens = reader.ReadSingle();
                    if (model < 0 || model >= models.Length || !(float.IsNaN(score) || (score >= 0 && score <= 1)) || !(tokens >= 0))
                    {
                        throw new InvalidDataException($"The KnnPredictor index is corrupt at row {i}, outcome {o}.");
                    }

                    list[o] = new KnnOutcome(model, score, tokens);
                }

                items.Add(new KnnItem(task, list));
            }

            long floats = (long)count * dimensions;
            if (floats > Array.MaxLength || (stream.CanSeek && stream.Length - stream.Position < (floats * sizeof(float)) + 32))
            {
                throw new EndOfStreamException(); // fewer bytes than the header promises: truncated or corrupt
            }

            float[] vectors = new float[floats];
            hashing.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vectors.AsSpan()));
            if (!BitConverter.IsLittleEndian)
            {
                Span<int> bits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(vectors.AsSpan());
                System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(bits, bits);
            }

            for (int i = 0; i < vectors.Length; i++)
            {
                if (!float.IsFinite(vectors[i]))
                {
                    throw new InvalidDataException($"The KnnPredictor index is corrupt (a non-finite value in row {i / dimensions}).");
                }
            }

            StoredLayout? layout = version >= 2 ? ReadLayout(reader, count, dimensions) : null;
            byte[] expected = hashing.CurrentHash();
            byte[] stored = reader.ReadBytes(expected.Length);
            if (stored.Length != expected.Length)
            {
                throw new EndOfStreamException();
            }

            if (!expected.AsSpan().SequenceEqual(stored))
            {
                throw new InvalidDataException("The KnnPredictor index is corrupt (checksum mismatch).");
            }

            predictor._index.Restore(dimensions, models, tasks, vectors, [.. items], layout);
            predictor._index.ClusterIfDue(); // a version 1 or exact file, or a layout of other settings, under Search = Clustered
            return predictor;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The KnnPredictor index is truncated.", ex);
        }
    }

    /// <summary>
    /// Writes the whole index (embeddings, outcomes, model and task names, and the clustering of a
    /// <see cref="KnnSearch.Clustered"/> index; not the options nor the generator) to <paramref name="stream"/> in a
    /// versioned binary format with a SHA-256 checksum. Consistent under concurrent adds: it writes the snapshot current
    /// when it starts.
    /// </summary>
    /// <param name="stream">A writable stream; left open.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        KnnSnapshot s = _index.Snapshot;
        using var hashing = new ChecksumStream(stream);
        using (var writer = new BinaryWriter(hashing, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(FileMagic);
            writer.Write(FileVersion);
            writer.Write(_embeddingModelId is not null);
            if (_embeddingModelId is not null)
            {
                writer.Write(_embeddingModelId);
            }

            writer.Write(s.Dimensions);
            writer.Write(s.Count);
            WriteNames(writer, s.Models);
            WriteNames(writer, s.Tasks);
            for (int i = 0; i < s.Count; i++)
            {
                KnnItem item = s.Item(i);
                writer.Write(item.Task);
                writer.Write(item.Outcomes.Length);
                foreach (KnnOutcome o in item.Outcomes)
                {
                    writer.Write(o.Model);
                    writer.Write(o.Score);
                    writer.Write(o.Tokens);
                }
            }

            writer.Flush();
            float[] buffer = new float[s.Dimensions];
            for (int i = 0; i < s.Count; i++)
            {
                s.Row(i).CopyTo(buffer);
                if (!BitConverter.IsLittleEndian)
                {
                    Span<int> bits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(buffer.AsSpan());
                    System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(bits, bits);
                }

                hashing.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan()));
            }

            WriteLayout(writer, s.Clusters);
        }

        stream.Write(hashing.CurrentHash());
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

    /// <summary>Fills <paramref name="result"/> from embedded queries: the search and the aggregation, without the embedding.</summary>
    /// <param name="snapshot">The index view to search.</param>
    /// <param name="queryVectors">L2-normalized query vectors, row-major (may be empty when K or the index is 0).</param>
    /// <param name="queries">The queries (task, input tokens).</param>
    /// <param name="result">The matrix to fill; its models are the columns.</param>
    /// <param name="cancellationToken">Checked between blocks of the search.</param>
    internal void Predict(KnnSnapshot snapshot, ReadOnlySpan<float> queryVectors, IReadOnlyList<SchedulingQuery> queries, PredictionMatrix result, CancellationToken cancellationToken)
    {
        int n = queries.Count;
        int m = result.ModelCount;
        int k = queryVectors.IsEmpty ? 0 : Math.Min(_options.K, snapshot.Count);
        IReadOnlyList<ModelProfile> models = result.Models;
        PriorTable priors = PriorsOf(snapshot);

        // Stored model index → result column (-1: not asked for), and result column → stored model (-1: never seen).
        Span<int> columnOf = snapshot.Models.Length <= 256 ? stackalloc int[snapshot.Models.Length] : new int[snapshot.Models.Length];
        columnOf.Fill(-1);
        Span<int> storedOf = m <= 256 ? stackalloc int[m] : new int[m];
        for (int c = 0; c < m; c++)
        {
            storedOf[c] = snapshot.ModelIndex.TryGetValue(models[c].Name, out int stored) ? stored : -1;
            if (storedOf[c] >= 0)
            {
                columnOf[storedOf[c]] = c;
            }
        }

        float[]? similarities = null;
        int[]? rows = null;
        if (k > 0)
        {
            similarities = ArrayPool<float>.Shared.Rent(n * k);
            rows = ArrayPool<int>.Shared.Rent(n * k);
            snapshot.Search(queryVectors, k, similarities.AsSpan(0, n * k), rows.AsSpan(0, n * k), cancellationToken);
            for (int i = 0; i < n; i++)
            {
                // Aggregate the neighbours in row order, not in the search's heap order: the same neighbours then give
                // bit-identical predictions whatever found them (exact or clustered search, any batch).
                rows.AsSpan(i * k, k).Sort(similarities.AsSpan(i * k, k));
            }
        }

        try
        {
            double beta = _options.Shrinkage;
            bool pool = _options.PoolDifficulty;
            double poolShrinkage = _options.DifficultyShrinkage;
            double exponent = _options.SimilarityExponent;
            float minSimilarity = (float)_options.MinSimilarity;
            Span<double> acc = m <= 64 ? stackalloc double[4 * m] : new double[4 * m];
            Span<double> graded = acc[..m];
            Span<double> scoreSum = acc.Slice(m, m);
            Span<double> counted = acc.Slice(2 * m, m);
            Span<double> tokenSum = acc.Slice(3 * m, m);
            for (int i = 0; i < n; i++)
            {
                SchedulingQuery query = queries[i];
                int slot = _options.UseTaskPriors && query.Task is { } task && snapshot.TaskIndex.TryGetValue(task, out int t) ? t + 1 : 0;
                acc.Clear();
                double pooledSum = 0, pooledWeight = 0;
                if (k > 0)
                {
                    Touch(snapshot, rows.AsSpan(i * k, k));
                }

                for (int nb = 0; nb < k; nb++)
                {
                    float s = similarities![(i * k) + nb];
                    if (s <= minSimilarity)
                    {
                        continue;
                    }

                    double w = exponent == 1 ? s : Math.Pow(s, exponent);
                    KnnItem item = snapshot.Item(rows![(i * k) + nb]);
                    int itemSlot = _options.UseTaskPriors && item.Task >= 0 ? item.Task + 1 : 0;
                    foreach (KnnOutcome o in item.Outcomes)
                    {
                        if (pool && !float.IsNaN(o.Score))
                        {
                            pooledSum += w * (o.Score - priors.QualityOf(itemSlot, o.Model));
                            pooledWeight += w;
                        }

                        int c = columnOf[o.Model];
                        if (c < 0)
                        {
                            continue;
                        }

                        if (!float.IsNaN(o.Score))
                        {
                            graded[c] += w;
                            scoreSum[c] += w * o.Score;
                        }

                        counted[c] += w;
                        tokenSum[c] += w * o.Tokens;
                    }
                }

                for (int c = 0; c < m; c++)
                {
                    (double priorQuality, double priorTokens) = priors.Of(slot, storedOf[c]);
                    if (pooledWeight + poolShrinkage > 0)
                    {
                        priorQuality = Math.Clamp(priorQuality + (pooledSum / (pooledWeight + poolShrinkage)), 0, 1);
                    }

                    double quality = graded[c] + beta > 0 ? (scoreSum[c] + (beta * priorQuality)) / (graded[c] + beta) : priorQuality;
                    double tokens = counted[c] + beta > 0 ? (tokenSum[c] + (beta * priorTokens)) / (counted[c] + beta) : priorTokens;
                    quality = Math.Clamp(quality, 0, 1);
                    tokens = Math.Max(tokens, 0);
                    result.Set(i, c, quality, models[c].CostOf(query.InputTokens, tokens), tokens);
                }
            }
        }
        finally
        {
            if (similarities is not null)
            {
                ArrayPool<float>.Shared.Return(similarities);
                ArrayPool<int>.Shared.Return(rows!);
            }
        }
    }

    /// <summary>
    /// Loads every neighbour's outcomes into the cache before they are aggregated: each neighbour is a chain of
    /// dependent loads (its item, then its outcome array) that usually misses the cache. Walked in the aggregation loop,
    /// the misses come one after another; this short loop lets the processor overlap them (with varied queries over a
    /// 10k history, aggregation went from ~9 to ~3 µs).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int Touch(KnnSnapshot snapshot, ReadOnlySpan<int> rows)
    {
        int sink = 0;
        foreach (int row in rows)
        {
            KnnOutcome[] outcomes = snapshot.Item(row).Outcomes;
            if (outcomes.Length > 0)
            {
                sink += outcomes[^1].Model; // the array's last cache line; its header (the length) is the first
            }
        }

        return sink;
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

    /// <summary>Writes the clustering (version 2): the list count (0 for an exact index), then the rows it was trained on, the centroids and each list's row numbers.</summary>
    private static void WriteLayout(BinaryWriter writer, KnnClusterLayout? clusters)
    {
        writer.Write(clusters?.ListCount ?? 0);
        if (clusters is null)
        {
            return;
        }

        writer.Write(clusters.TrainedCount);
        foreach (float f in clusters.Centroids)
        {
            writer.Write(f);
        }

        for (int l = 0; l < clusters.ListCount; l++)
        {
            writer.Write(clusters.Counts[l]);
            for (int r = 0; r < clusters.Counts[l]; r++)
            {
                writer.Write(clusters.Rows[l][r]);
            }
        }
    }

    /// <summary>Reads what <see cref="WriteLayout"/> wrote, checking that the lists hold every row exactly once.</summary>
    private static StoredLayout? ReadLayout(BinaryReader reader, int count, int dimensions)
    {
        int lists = reader.ReadInt32();
        if (lists == 0)
        {
            return null;
        }

        int trained = reader.ReadInt32();
        if (lists < 0 || lists > count || trained < 1 || trained > count)
        {
            throw new InvalidDataException($"The KnnPredictor index is corrupt ({lists} lists trained on {trained} of {count} rows).");
        }

        float[] centroids = new float[lists * dimensions];
        for (int i = 0; i < centroids.Length; i++)
        {
            centroids[i] = reader.ReadSingle();
            if (!float.IsFinite(centroids[i]))
            {
                throw new InvalidDataException($"The KnnPredictor index is corrupt (a non-finite value in centroid {i / dimensions}).");
            }
        }

        var seen = new bool[count];
        int total = 0;
        var rows = new int[lists][];
        for (int l = 0; l < lists; l++)
        {
            int size = reader.ReadInt32();
            if (size < 0 || size > count - total)
            {
                throw new InvalidDataException($"The KnnPredictor index is corrupt (list {l} claims {size} rows).");
            }

            rows[l] = new int[size];
            for (int r = 0; r < size; r++)
            {
                int row = reader.ReadInt32();
                if (row < 0 || row >= count || seen[row])
                {
                    throw new InvalidDataException($"The KnnPredictor index is corrupt (list {l} holds row {row}, out of range or twice).");
                }

                seen[row] = true;
                rows[l][r] = row;
            }

            total += size;
        }

        if (total != count)
        {
            throw new InvalidDataException($"The KnnPredictor index is corrupt (its lists hold {total} of {count} rows).");
        }

        return new StoredLayout(centroids, rows, trained);
    }

    private static void WriteNames(BinaryWriter writer, string[] names)
    {
        writer.Write(names.Length);
        foreach (string name in names)
        {
            writer.Write(name);
        }
    }

    private static string[] ReadNames(BinaryReader reader, string what)
    {
        int count = reader.ReadInt32();
        if (count < 0 || count > 1_000_000)
        {
            throw new InvalidDataException($"The KnnPredictor index is corrupt ({count} {what} names).");
        }

        var names = new string[count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            names[i] = reader.ReadString();
            if (!seen.Add(names[i]))
            {
                throw new InvalidDataException($"The KnnPredictor index is corrupt ({what} '{names[i]}' appears twice).");
            }
        }

        return names;
    }

    /// <summary>Returns the priors of <paramref name="snapshot"/>, computed once per snapshot and shared by concurrent predictions.</summary>
    private PriorTable PriorsOf(KnnSnapshot snapshot)
    {
        PriorTable? cached = Volatile.Read(ref _priors);
        if (cached is not null && ReferenceEquals(cached.Snapshot, snapshot))
        {
            return cached;
        }

        var table = new PriorTable(snapshot, _options.PriorPseudoCount);
        Volatile.Write(ref _priors, table);
        return table;
    }

    /// <summary>
    /// The hierarchical priors of one snapshot, per slot (0 overall, 1 + task) and stored model, in flat arrays: the
    /// mean over models, each model's overall rate shrunk toward it, and each model's rate in a task shrunk toward its
    /// overall rate. Immutable once built.
    /// </summary>
    private sealed class PriorTable
    {
        private readonly int _models;
        private readonly double[] _quality;
        private readonly double[] _tokens;
        private readonly double[] _meanQuality;
        private readonly double[] _meanTokens;

        public PriorTable(KnnSnapshot snapshot, double pseudoCount)
        {
            Snapshot = snapshot;
            KnnStatistics stats = snapshot.Statistics;
            int models = _models = stats.ModelCount;
            int slots = stats.TaskCount + 1;
            _quality = new double[slots * models];
            _tokens = new double[slots * models];
            _meanQuality = new double[slots];
            _meanTokens = new double[slots];

            // Slot 0: the mean over models of their raw rates anchors rare models and is the prior of unseen ones.
            // With no graded history at all, the neutral 0.5 and no output.
            (double meanQ, double meanT) = MeanOfRates(stats, 0, null, null);
            _meanQuality[0] = double.IsNaN(meanQ) ? 0.5 : meanQ;
            _meanTokens[0] = double.IsNaN(meanT) ? 0 : meanT;
            for (int j = 0; j < models; j++)
            {
                ReadOnlySpan<double> s = stats.Of(0, j);
                _quality[j] = Shrink(s[0], s[1], _meanQuality[0], pseudoCount);
                _tokens[j] = Shrink(s[2], s[3], _meanTokens[0], pseudoCount);
            }

            for (int slot = 1; slot < slots; slot++)
            {
                Span<double> quality = _quality.AsSpan(slot * models, models);
                Span<double> tokens = _tokens.AsSpan(slot * models, models);
                for (int j = 0; j < models; j++)
                {
                    ReadOnlySpan<double> s = stats.Of(slot, j);
                    quality[j] = Shrink(s[0], s[1], _quality[j], pseudoCount);
                    tokens[j] = Shrink(s[2], s[3], _tokens[j], pseudoCount);
                }

                (double taskQ, double taskT) = MeanOfRates(stats, slot, quality, tokens);
                _meanQuality[slot] = double.IsNaN(taskQ) ? _meanQuality[0] : taskQ;
                _meanTokens[slot] = double.IsNaN(taskT) ? _meanTokens[0] : taskT;
            }
        }

        public KnnSnapshot Snapshot { get; }

        /// <summary>Gets the prior quality of a stored model (which must exist) in a slot.</summary>
        public double QualityOf(int slot, int model) => _quality[(slot * _models) + model];

        /// <summary>Gets the prior quality and output tokens of a stored model, or of an unseen one (-1), in a slot.</summary>
        public (double Quality, double Tokens) Of(int slot, int model) =>
            model < 0 ? (_meanQuality[slot], _meanTokens[slot]) : (_quality[(slot * _models) + model], _tokens[(slot * _models) + model]);

        /// <summary>Mean over the models with data in the slot of their rates (raw, or the given shrunk ones); NaN when none has data.</summary>
        private static (double Quality, double Tokens) MeanOfRates(KnnStatistics stats, int slot, ReadOnlySpan<double> quality, ReadOnlySpan<double> tokens)
        {
            double q = 0, t = 0;
            int nq = 0, nt = 0;
            for (int j = 0; j < stats.ModelCount; j++)
            {
                ReadOnlySpan<double> s = stats.Of(slot, j);
                if (s[1] > 0)
                {
                    q += quality.IsEmpty ? s[0] / s[1] : quality[j];
                    nq++;
                }

                if (s[3] > 0)
                {
                    t += tokens.IsEmpty ? s[2] / s[3] : tokens[j];
                    nt++;
                }
            }

            return (nq > 0 ? q / nq : double.NaN, nt > 0 ? t / nt : double.NaN);
        }

        private static double Shrink(double sum, double count, double anchor, double pseudoCount) =>
            count + pseudoCount > 0 ? (sum + (pseudoCount * anchor)) / (count + pseudoCount) : anchor;
    }
}
