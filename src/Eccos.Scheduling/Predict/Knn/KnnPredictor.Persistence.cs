using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <content>Persistence: the index, its options and (when it is one) the hashing embedder, in the saved-model format.</content>
public sealed partial class KnnPredictor
{
    /// <summary>The kind of a saved kNN predictor.</summary>
    internal const string SavedKind = "eccos.knn";

    private const int SavedVersion = 1;
    private const int MaxDimensions = 1 << 16;

    /// <summary>
    /// Loads a predictor written by <see cref="Save"/>, with the options it was saved with unless others are given.
    /// </summary>
    /// <param name="stream">The stream, positioned at the saved predictor; left open.</param>
    /// <param name="embeddingGenerator">
    /// The embedding generator the index was built with (checked against the model id and dimensions it reports);
    /// <see langword="null"/> to use the <see cref="HashingEmbeddingGenerator"/> saved with the index.
    /// </param>
    /// <param name="options">The options; <see langword="null"/> for the saved ones.</param>
    /// <returns>The predictor.</returns>
    /// <exception cref="InvalidDataException">The stream holds no saved kNN predictor, an unsupported version, or a truncated or corrupt one.</exception>
    /// <exception cref="ArgumentException">
    /// The generator reports another embedding model or other dimensions than the index was built with, or none was
    /// given for an index that was not built on the hashing embedder.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static KnnPredictor Load(Stream stream, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null, KnnPredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        KnnPredictorOptions? given = options?.Validated(); // the caller's mistake, before anything is read
        return ModelFile.Read(stream, SavedKind, SavedVersion, (reader, _) => Read(reader, embeddingGenerator, given));
    }

    /// <summary>
    /// Writes the whole index — embeddings, outcomes, model and task names, the clustering of a clustered index — with
    /// its options, and the embedder when it is a <see cref="HashingEmbeddingGenerator"/> (any other generator must be
    /// given again to <see cref="Load"/>). Consistent under concurrent adds: it writes the snapshot current when it starts.
    /// </summary>
    /// <param name="stream">A writable stream; left open.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        KnnSnapshot s = _index.Snapshot;
        ModelFile.Write(stream, SavedKind, SavedVersion, writer =>
        {
            WriteOptions(writer, _options);
            writer.Write(_generator is HashingEmbeddingGenerator);
            if (_generator is HashingEmbeddingGenerator hashing)
            {
                writer.Flush();
                hashing.Save(writer.BaseStream);
            }

            writer.Write(_embeddingModelId is not null);
            if (_embeddingModelId is not null)
            {
                writer.Write(_embeddingModelId);
            }

            writer.Write(s.Dimensions);
            writer.Write(s.Count);
            ModelFile.WriteNames(writer, s.Models);
            ModelFile.WriteNames(writer, s.Tasks);
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
                    Span<int> bits = MemoryMarshal.Cast<float, int>(buffer.AsSpan());
                    BinaryPrimitives.ReverseEndianness(bits, bits);
                }

                writer.BaseStream.Write(MemoryMarshal.AsBytes(buffer.AsSpan()));
            }

            WriteLayout(writer, s.Clusters);
        });
    }

    private static KnnPredictor Read(BinaryReader reader, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator, KnnPredictorOptions? options)
    {
        KnnPredictorOptions saved = ReadOptions(reader);
        HashingEmbeddingGenerator? savedEmbedder = reader.ReadBoolean() ? HashingEmbeddingGenerator.Load(reader.BaseStream) : null;
        string? storedModelId = reader.ReadBoolean() ? reader.ReadString() : null;
        IEmbeddingGenerator<string, Embedding<float>> generator = embeddingGenerator ?? savedEmbedder
            ?? throw new ArgumentException(
                $"The index was built with embeddings of '{storedModelId ?? "an unnamed model"}', which are not saved with it: pass that embedding generator.",
                nameof(embeddingGenerator));
        KnnPredictorOptions validated = (options ?? saved).Validated();
        var predictor = new KnnPredictor(generator, validated, new KnnIndex(clustering: ClusteringOf(validated)));
        int dimensions = reader.ReadInt32();
        int count = reader.ReadInt32();
        if (dimensions < 0 || dimensions > MaxDimensions || count < 0 || (count > 0 && dimensions == 0))
        {
            throw new InvalidDataException($"The saved kNN index is corrupt ({count} rows of {dimensions} dimensions).");
        }

        EmbeddingGeneratorMetadata? metadata = generator.GetService<EmbeddingGeneratorMetadata>();
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

        string[] models = ModelFile.ReadNames(reader, "model");
        string[] tasks = ModelFile.ReadNames(reader, "task");

        // Grown as read, not allocated from the stored count: a corrupt count must end in "truncated", not in a huge allocation.
        var items = new List<KnnItem>(Math.Min(count, 1 << 16));
        for (int i = 0; i < count; i++)
        {
            int task = reader.ReadInt32();
            int outcomes = reader.ReadInt32();
            if (task < -1 || task >= tasks.Length || outcomes < 0 || outcomes > models.Length)
            {
                throw new InvalidDataException($"The saved kNN index is corrupt at row {i} (task {task}, {outcomes} outcomes).");
            }

            var list = new KnnOutcome[outcomes];
            for (int o = 0; o < outcomes; o++)
            {
                int model = reader.ReadInt32();
                float quality = reader.ReadSingle();
                float tokens = reader.ReadSingle();
                if (model < 0 || model >= models.Length || !(float.IsNaN(quality) || (quality >= 0 && quality <= 1)) || !(tokens >= 0))
                {
                    throw new InvalidDataException($"The saved kNN index is corrupt at row {i}, outcome {o}.");
                }

                list[o] = new KnnOutcome(model, quality, tokens);
            }

            items.Add(new KnnItem(task, list));
        }

        long floats = (long)count * dimensions;
        if (floats > Array.MaxLength)
        {
            throw new InvalidDataException($"The saved kNN index is corrupt ({count} rows of {dimensions} dimensions).");
        }

        float[] vectors = new float[floats];
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(vectors.AsSpan()));
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> bits = MemoryMarshal.Cast<float, int>(vectors.AsSpan());
            BinaryPrimitives.ReverseEndianness(bits, bits);
        }

        for (int i = 0; i < vectors.Length; i++)
        {
            if (!float.IsFinite(vectors[i]))
            {
                throw new InvalidDataException($"The saved kNN index is corrupt (a non-finite value in row {i / dimensions}).");
            }
        }

        StoredLayout? layout = ReadLayout(reader, count, dimensions);
        predictor._index.Restore(dimensions, models, tasks, vectors, [.. items], layout);
        predictor._index.ClusterIfDue(); // an exact file, or a layout of other settings, under Search = Clustered
        return predictor;
    }

    private static void WriteOptions(BinaryWriter writer, KnnPredictorOptions o)
    {
        writer.Write(o.K);
        writer.Write(o.Shrinkage);
        writer.Write(o.PriorPseudoCount);
        writer.Write(o.UseTaskPriors);
        writer.Write(o.SimilarityExponent);
        writer.Write(o.MinSimilarity);
        writer.Write(o.PoolDifficulty);
        writer.Write(o.DifficultyShrinkage);
        writer.Write(o.EmbeddingBatchSize);
        writer.Write((int)o.Search);
        writer.Write(o.Lists);
        writer.Write(o.Probes);
    }

    private static KnnPredictorOptions ReadOptions(BinaryReader reader)
    {
        var o = new KnnPredictorOptions
        {
            K = reader.ReadInt32(),
            Shrinkage = reader.ReadDouble(),
            PriorPseudoCount = reader.ReadDouble(),
            UseTaskPriors = reader.ReadBoolean(),
            SimilarityExponent = reader.ReadDouble(),
            MinSimilarity = reader.ReadDouble(),
            PoolDifficulty = reader.ReadBoolean(),
            DifficultyShrinkage = reader.ReadDouble(),
            EmbeddingBatchSize = reader.ReadInt32(),
            Search = (KnnSearch)reader.ReadInt32(),
            Lists = reader.ReadInt32(),
            Probes = reader.ReadInt32(),
        };
        try
        {
            return o.Validated();
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"The saved kNN options are invalid: {ex.Message}", ex);
        }
    }

    /// <summary>Writes the clustering: the list count (0 for an exact index), then the rows it was trained on, the centroids and each list's row numbers.</summary>
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
            throw new InvalidDataException($"The saved kNN index is corrupt ({lists} lists trained on {trained} of {count} rows).");
        }

        float[] centroids = new float[lists * dimensions];
        for (int i = 0; i < centroids.Length; i++)
        {
            centroids[i] = reader.ReadSingle();
            if (!float.IsFinite(centroids[i]))
            {
                throw new InvalidDataException($"The saved kNN index is corrupt (a non-finite value in centroid {i / dimensions}).");
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
                throw new InvalidDataException($"The saved kNN index is corrupt (list {l} claims {size} rows).");
            }

            rows[l] = new int[size];
            for (int r = 0; r < size; r++)
            {
                int row = reader.ReadInt32();
                if (row < 0 || row >= count || seen[row])
                {
                    throw new InvalidDataException($"The saved kNN index is corrupt (list {l} holds row {row}, out of range or twice).");
                }

                seen[row] = true;
                rows[l][r] = row;
            }

            total += size;
        }

        if (total != count)
        {
            throw new InvalidDataException($"The saved kNN index is corrupt (its lists hold {total} of {count} rows).");
        }

        return new StoredLayout(centroids, rows, trained);
    }
}
