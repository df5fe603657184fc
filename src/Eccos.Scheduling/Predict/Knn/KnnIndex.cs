using System.Numerics.Tensors;

namespace Eccos.Scheduling;

/// <summary>What one stored query recorded for one model: its score (NaN when ungraded) and its output tokens.</summary>
internal readonly record struct KnnOutcome(int Model, float Score, float Tokens);

/// <summary>
/// The stored queries of a <see cref="KnnPredictor"/>: L2-normalized embeddings in row-major chunks, what each query
/// recorded, and per (task, model) sums for the priors. Writers are serialized by a lock and publish an immutable
/// <see cref="KnnSnapshot"/>; readers take the current snapshot without locking.
/// </summary>
/// <remarks>
/// Why a published snapshot rather than a reader-writer lock: reads (predictions) vastly outnumber writes and must
/// never wait for an embedding-sized write. Rows are appended into chunk arrays beyond the published count, so a
/// reader never sees a row change: the chunk arrays are shared between snapshots, and only rows below a snapshot's
/// count are read through it. The statistics and the model and task tables are copied on write (they are small).
/// </remarks>
internal sealed class KnnIndex
{
    internal const int DefaultChunkRows = 1024;

    private readonly Lock _writeLock = new();
    private readonly int _chunkRows;
    private KnnSnapshot _snapshot;

    public KnnIndex(int dimensions = 0, int chunkRows = DefaultChunkRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimensions);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        _chunkRows = chunkRows;
        _snapshot = KnnSnapshot.Empty(dimensions, chunkRows);
    }

    /// <summary>Gets the current snapshot: a consistent view for one prediction.</summary>
    public KnnSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>
    /// Appends queries: <paramref name="vectors"/> holds one embedding per item, row-major (normalized here);
    /// each item names its task and its outcomes by name. Publishes one new snapshot.
    /// </summary>
    public void Add(ReadOnlySpan<float> vectors, int dimensions, IReadOnlyList<(string? Task, IReadOnlyList<ModelOutcome> Outputs)> items)
    {
        if (items.Count == 0)
        {
            return;
        }

        if (vectors.Length != items.Count * dimensions)
        {
            throw new ArgumentException($"{vectors.Length} floats for {items.Count} items of {dimensions} dimensions.", nameof(vectors));
        }

        lock (_writeLock)
        {
            KnnSnapshot old = _snapshot;
            if (old.Dimensions != 0 && old.Dimensions != dimensions)
            {
                throw new InvalidOperationException(
                    $"The embedding generator returned vectors of {dimensions} dimensions, but the index holds vectors of {old.Dimensions}.");
            }

            var models = new NameTable(old.Models, old.ModelIndex);
            var tasks = new NameTable(old.Tasks, old.TaskIndex);
            int count = old.Count;
            int newCount = checked(count + items.Count);
            float[][] vectorChunks = Grow(old.Vectors, newCount, _chunkRows, dimensions);
            KnnItem[][] itemChunks = Grow(old.Items, newCount, _chunkRows, 1);
            var newItems = new KnnItem[items.Count];
            for (int n = 0; n < items.Count; n++)
            {
                (string? task, IReadOnlyList<ModelOutcome> outputs) = items[n];
                int taskId = task is null ? -1 : tasks.GetOrAdd(task);
                var outcomes = new KnnOutcome[outputs.Count];
                for (int o = 0; o < outputs.Count; o++)
                {
                    ModelOutcome output = outputs[o];
                    outcomes[o] = new KnnOutcome(models.GetOrAdd(output.Model), output.Score is { } s ? (float)s : float.NaN, output.OutputTokens);
                }

                newItems[n] = new KnnItem(taskId, outcomes);
            }

            // Rows at and above the published count are invisible to readers, so they may be written in place.
            for (int n = 0; n < items.Count; n++)
            {
                int row = count + n;
                Span<float> destination = vectorChunks[row / _chunkRows].AsSpan((row % _chunkRows) * dimensions, dimensions);
                ReadOnlySpan<float> source = vectors.Slice(n * dimensions, dimensions);
                float norm = TensorPrimitives.Norm(source);
                if (norm > 0 && float.IsFinite(norm))
                {
                    TensorPrimitives.Divide(source, norm, destination);
                }
                else
                {
                    destination.Clear(); // no direction: similar to nothing
                }

                itemChunks[row / _chunkRows][row % _chunkRows] = newItems[n];
            }

            KnnStatistics stats = old.Statistics.With(newItems, tasks.Count, models.Count);
            Volatile.Write(ref _snapshot, new KnnSnapshot(dimensions, newCount, _chunkRows, vectorChunks, itemChunks,
                models.Names, models.Index, tasks.Names, tasks.Index, stats));
        }
    }

    /// <summary>Replaces the whole content (used by loading); not for use while others read.</summary>
    internal void Restore(int dimensions, string[] models, string[] tasks, float[] vectors, KnnItem[] items)
    {
        lock (_writeLock)
        {
            int count = items.Length;
            float[][] vectorChunks = Grow<float>([], count, _chunkRows, dimensions);
            KnnItem[][] itemChunks = Grow<KnnItem>([], count, _chunkRows, 1);
            for (int row = 0; row < count; row++)
            {
                vectors.AsSpan(row * dimensions, dimensions).CopyTo(vectorChunks[row / _chunkRows].AsSpan((row % _chunkRows) * dimensions));
                itemChunks[row / _chunkRows][row % _chunkRows] = items[row];
            }

            var modelTable = new NameTable(models);
            var taskTable = new NameTable(tasks);
            KnnStatistics stats = KnnStatistics.Empty.With(items, tasks.Length, models.Length);
            Volatile.Write(ref _snapshot, new KnnSnapshot(dimensions, count, _chunkRows, vectorChunks, itemChunks,
                modelTable.Names, modelTable.Index, taskTable.Names, taskTable.Index, stats));
        }
    }

    /// <summary>Returns chunks able to hold <paramref name="rows"/> rows: the same array when it can, else a longer copy sharing the old chunks.</summary>
    private static T[][] Grow<T>(T[][] chunks, int rows, int chunkRows, int elementsPerRow)
    {
        int needed = (int)(((long)rows + chunkRows - 1) / chunkRows);
        if (needed <= chunks.Length)
        {
            return chunks;
        }

        var grown = new T[needed][];
        Array.Copy(chunks, grown, chunks.Length);
        for (int c = chunks.Length; c < needed; c++)
        {
            grown[c] = new T[checked(chunkRows * elementsPerRow)];
        }

        return grown;
    }

    /// <summary>Names (models or tasks) and their indices; copied before the first change.</summary>
    private sealed class NameTable
    {
        private bool _copied;

        public NameTable(string[] names, Dictionary<string, int>? index = null)
        {
            Names = names;
            Index = index ?? Build(names);
        }

        public string[] Names { get; private set; }

        public Dictionary<string, int> Index { get; private set; }

        public int Count => Names.Length;

        public int GetOrAdd(string name)
        {
            if (Index.TryGetValue(name, out int i))
            {
                return i;
            }

            if (!_copied)
            {
                // The published tables are shared with readers: never change them, change copies.
                Index = new Dictionary<string, int>(Index, StringComparer.Ordinal);
                _copied = true;
            }

            i = Names.Length;
            Index.Add(name, i);
            Names = [.. Names, name];
            return i;
        }

        private static Dictionary<string, int> Build(string[] names)
        {
            var index = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
            for (int i = 0; i < names.Length; i++)
            {
                if (!index.TryAdd(names[i], i))
                {
                    throw new InvalidDataException($"Name '{names[i]}' appears twice in the stored index.");
                }
            }

            return index;
        }
    }
}

/// <summary>One stored query: its task id (-1 for none) and its outcomes.</summary>
internal readonly record struct KnnItem(int Task, KnnOutcome[] Outcomes);
