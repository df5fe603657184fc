using System.Numerics.Tensors;

namespace Eccos.Scheduling;

/// <summary>What one stored query recorded for one model: its score (NaN when ungraded) and its output tokens.</summary>
internal readonly record struct KnnOutcome(int Model, float Score, float Tokens);

/// <summary>
/// The stored queries of a <see cref="KnnPredictor"/>: L2-normalized embeddings in row-major chunks (exact search) or
/// in the lists of an inverted-file layout (clustered search), what each query recorded, and per (task, model) sums for
/// the priors. Writers are serialized by a lock and publish an immutable <see cref="KnnSnapshot"/>; readers take the
/// current snapshot without locking.
/// </summary>
/// <remarks>
/// <para>
/// Why a published snapshot rather than a reader-writer lock: reads (predictions) vastly outnumber writes and must
/// never wait for an embedding-sized write. Rows are appended into chunk (or list) arrays beyond the published count,
/// so a reader never sees a row change: the arrays are shared between snapshots, and only rows below a snapshot's
/// counts are read through it. The statistics and the model and task tables are copied on write (they are small).
/// </para>
/// <para>
/// Clustering: with <see cref="KnnClusterSettings"/>, the index is clustered once it holds
/// <see cref="KnnClusterSettings.MinRows"/> rows and re-clustered whenever it has grown by
/// <see cref="KnnClusterSettings.GrowthFactor"/>. A re-clustering runs on the thread pool from the snapshot that
/// triggered it, never holding the lock while it trains; writers meanwhile append to the old lists. It then takes the
/// lock once, adds the rows that arrived meanwhile to their nearest new list, and publishes. Readers never wait.
/// </para>
/// </remarks>
internal sealed class KnnIndex
{
    internal const int DefaultChunkRows = 1024;

    private readonly Lock _writeLock = new();
    private readonly int _chunkRows;
    private readonly KnnClusterSettings? _clustering;
    private KnnSnapshot _snapshot;
    private KnnClusterWriter? _lists;
    private Task? _clusteringTask;
    private int _retryAt;

    public KnnIndex(int dimensions = 0, int chunkRows = DefaultChunkRows, KnnClusterSettings? clustering = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dimensions);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        _chunkRows = chunkRows;
        _clustering = clustering;
        _snapshot = KnnSnapshot.Empty(dimensions, chunkRows);
    }

    /// <summary>Gets the current snapshot: a consistent view for one prediction.</summary>
    public KnnSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>
    /// Gets or sets a callback run by a background clustering after it has built the new lists and before it installs
    /// them (tests use it to add rows while a clustering is in flight).
    /// </summary>
    internal Action? BeforeInstall { get; set; }

    /// <summary>Gets the clustering settings, or <see langword="null"/> for exact search.</summary>
    public KnnClusterSettings? Clustering => _clustering;

    /// <summary>
    /// Appends queries: <paramref name="vectors"/> holds one embedding per item, row-major (normalized here);
    /// each item names its task and its outcomes by name. Publishes one new snapshot.
    /// </summary>
    /// <param name="vectors">The embeddings.</param>
    /// <param name="dimensions">Floats per embedding.</param>
    /// <param name="items">Task and outcomes of each query.</param>
    /// <param name="clusterInBackground">Whether a re-clustering that falls due starts now (off when bulk-building: the builder clusters once at the end).</param>
    public void Add(ReadOnlySpan<float> vectors, int dimensions, IReadOnlyList<(string? Task, IReadOnlyList<ModelOutcome> Outputs)> items, bool clusterInBackground = true)
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
            float[][] vectorChunks = _lists is null ? Grow(old.Vectors, newCount, _chunkRows, dimensions) : [];
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
                    outcomes[o] = new KnnOutcome(models.GetOrAdd(output.Model), output.Quality is { } s ? (float)s : float.NaN, output.OutputTokens);
                }

                newItems[n] = new KnnItem(taskId, outcomes);
            }

            // Rows at and above the published count are invisible to readers, so they may be written in place.
            float[]? normalized = _lists is null ? null : new float[dimensions];
            for (int n = 0; n < items.Count; n++)
            {
                int row = count + n;
                Span<float> destination = normalized ?? vectorChunks[row / _chunkRows].AsSpan((row % _chunkRows) * dimensions, dimensions);
                Normalize(vectors.Slice(n * dimensions, dimensions), destination);
                _lists?.Append(destination, row);
                itemChunks[row / _chunkRows][row % _chunkRows] = newItems[n];
            }

            PriorSums stats = KnnStatistics.With(old.Statistics, newItems, tasks.Count, models.Count);
            Volatile.Write(ref _snapshot, new KnnSnapshot(dimensions, newCount, _chunkRows, vectorChunks, itemChunks,
                models.Names, models.Index, tasks.Names, tasks.Index, stats, _lists?.Publish(_clustering!.Probes)));
            if (clusterInBackground)
            {
                StartClusteringIfDue();
            }
        }
    }

    /// <summary>
    /// Clusters now, on the calling thread, when clustering is configured and due (used after bulk building and
    /// loading).
    /// </summary>
    public void ClusterIfDue()
    {
        KnnSnapshot source = Snapshot;
        if (IsDue(source))
        {
            KnnClusterWriter lists = Build(source);
            lock (_writeLock)
            {
                Install(lists, source);
            }
        }
    }

    /// <summary>Waits until no re-clustering runs (tests and benchmarks).</summary>
    internal async Task WaitForClusteringAsync()
    {
        while (true)
        {
            Task? running;
            lock (_writeLock)
            {
                running = _clusteringTask;
            }

            if (running is null)
            {
                return;
            }

            await running.ConfigureAwait(false);
        }
    }

    /// <summary>Replaces the whole content (used by loading); not for use while others read.</summary>
    /// <param name="dimensions">Floats per row.</param>
    /// <param name="models">Model names.</param>
    /// <param name="tasks">Task names.</param>
    /// <param name="vectors">The normalized rows, in row order.</param>
    /// <param name="items">Task and outcomes of each row.</param>
    /// <param name="layout">A stored clustering to restore (used when it matches the settings), or <see langword="null"/>.</param>
    internal void Restore(int dimensions, string[] models, string[] tasks, float[] vectors, KnnItem[] items, StoredLayout? layout = null)
    {
        lock (_writeLock)
        {
            int count = items.Length;
            KnnClusterWriter? lists = null;
            if (_clustering is not null && layout is { } stored && stored.Rows.Length == _clustering.ListsFor(stored.TrainedCount))
            {
                lists = new KnnClusterWriter(dimensions, stored.Centroids, stored.TrainedCount, [.. stored.Rows.Select(r => r.Length)]);
                for (int l = 0; l < stored.Rows.Length; l++)
                {
                    foreach (int row in stored.Rows[l])
                    {
                        lists.Append(l, vectors.AsSpan(row * dimensions, dimensions), row);
                    }
                }
            }

            float[][] vectorChunks = lists is null ? Grow<float>([], count, _chunkRows, dimensions) : [];
            KnnItem[][] itemChunks = Grow<KnnItem>([], count, _chunkRows, 1);
            for (int row = 0; row < count; row++)
            {
                if (lists is null)
                {
                    vectors.AsSpan(row * dimensions, dimensions).CopyTo(vectorChunks[row / _chunkRows].AsSpan((row % _chunkRows) * dimensions));
                }

                itemChunks[row / _chunkRows][row % _chunkRows] = items[row];
            }

            var modelTable = new NameTable(models);
            var taskTable = new NameTable(tasks);
            PriorSums stats = KnnStatistics.With(KnnStatistics.Empty, items, tasks.Length, models.Length);
            _lists = lists;
            Volatile.Write(ref _snapshot, new KnnSnapshot(dimensions, count, _chunkRows, vectorChunks, itemChunks,
                modelTable.Names, modelTable.Index, taskTable.Names, taskTable.Index, stats, lists?.Publish(_clustering!.Probes)));
        }
    }

    private static void Normalize(ReadOnlySpan<float> source, Span<float> destination)
    {
        float norm = TensorPrimitives.Norm(source);
        if (norm > 0 && float.IsFinite(norm))
        {
            TensorPrimitives.Divide(source, norm, destination);
        }
        else
        {
            destination.Clear(); // no direction: similar to nothing
        }
    }

    private bool IsDue(KnnSnapshot s)
    {
        if (_clustering is null || s.Count < Math.Max(_clustering.MinRows, Volatile.Read(ref _retryAt)))
        {
            return false;
        }

        return s.Clusters is not { } clusters || s.Count >= (long)KnnClusterSettings.GrowthFactor * clusters.TrainedCount;
    }

    /// <summary>Starts a background re-clustering when one is due and none runs. Called under the writer lock.</summary>
    private void StartClusteringIfDue()
    {
        if (_clusteringTask is not null)
        {
            return;
        }

        KnnSnapshot source = _snapshot;
        if (IsDue(source))
        {
            _clusteringTask = Task.Run(() => ClusterInBackground(source));
        }
    }

    private void ClusterInBackground(KnnSnapshot source)
    {
        KnnClusterWriter? lists = null;
        try
        {
            lists = Build(source);
            BeforeInstall?.Invoke();
        }
        finally
        {
            lock (_writeLock)
            {
                if (lists is not null)
                {
                    Install(lists, source);
                }
                else
                {
                    // Failed (out of memory): keep the current layout; try again when the index has grown further.
                    _retryAt = (int)Math.Min(int.MaxValue, (long)KnnClusterSettings.GrowthFactor * source.Count);
                }

                _clusteringTask = null;
                StartClusteringIfDue();
            }
        }
    }

    /// <summary>Clusters the rows of <paramref name="source"/>: k-means, then every row into the list of its nearest centroid, in row order.</summary>
    private KnnClusterWriter Build(KnnSnapshot source)
    {
        int count = source.Count;
        int lists = _clustering!.ListsFor(count);
        float[] centroids = SphericalKMeans.Train(source, count, lists, KnnClusterSettings.Seed);
        int[] assignment = SphericalKMeans.AssignRows(source, count, centroids, lists);
        int[] sizes = new int[lists];
        foreach (int l in assignment)
        {
            sizes[l]++;
        }

        // Room to grow until the next re-clustering (at twice the rows) without moving most lists.
        for (int l = 0; l < lists; l++)
        {
            sizes[l] += Math.Max(8, sizes[l] / 2);
        }

        var writer = new KnnClusterWriter(source.Dimensions, centroids, count, sizes);
        for (int row = 0; row < count; row++)
        {
            writer.Append(assignment[row], source.Row(row), row);
        }

        return writer;
    }

    /// <summary>
    /// Publishes <paramref name="lists"/> (built from <paramref name="source"/>) after adding the rows stored since
    /// <paramref name="source"/> to their nearest list. Called under the writer lock.
    /// </summary>
    private void Install(KnnClusterWriter lists, KnnSnapshot source)
    {
        KnnSnapshot current = _snapshot;
        for (int row = source.Count; row < current.Count; row++)
        {
            lists.Append(current.Row(row), row);
        }

        _lists = lists;
        Volatile.Write(ref _snapshot, new KnnSnapshot(current.Dimensions, current.Count, _chunkRows, [], current.Items,
            current.Models, current.ModelIndex, current.Tasks, current.TaskIndex, current.Statistics, lists.Publish(_clustering!.Probes)));
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

/// <summary>A clustering as saved: unit centroids, the row numbers of each list in list order, and the rows it was trained on.</summary>
internal sealed record StoredLayout(float[] Centroids, int[][] Rows, int TrainedCount);
