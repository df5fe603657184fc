namespace Eccos.Scheduling;

/// <summary>
/// An immutable view of a <see cref="KnnIndex"/>: the first <see cref="Count"/> rows of its chunks, the model and task
/// tables and the prior statistics as they were when the view was published. Safe to read from any thread.
/// </summary>
internal sealed class KnnSnapshot
{
    public KnnSnapshot(
        int dimensions,
        int count,
        int chunkRows,
        float[][] vectors,
        KnnItem[][] items,
        string[] models,
        Dictionary<string, int> modelIndex,
        string[] tasks,
        Dictionary<string, int> taskIndex,
        PriorSums statistics,
        KnnClusterLayout? clusters = null)
    {
        Dimensions = dimensions;
        Count = count;
        ChunkRows = chunkRows;
        Vectors = vectors;
        Items = items;
        Models = models;
        ModelIndex = modelIndex;
        Tasks = tasks;
        TaskIndex = taskIndex;
        Statistics = statistics;
        Clusters = clusters;
    }

    public int Dimensions { get; }

    public int Count { get; }

    public int ChunkRows { get; }

    public float[][] Vectors { get; }

    public KnnItem[][] Items { get; }

    public string[] Models { get; }

    public Dictionary<string, int> ModelIndex { get; }

    public string[] Tasks { get; }

    public Dictionary<string, int> TaskIndex { get; }

    public PriorSums Statistics { get; }

    /// <summary>
    /// Gets the inverted-file layout when the index is clustered: the rows then live in its lists, not in
    /// <see cref="Vectors"/> (which is empty).
    /// </summary>
    public KnnClusterLayout? Clusters { get; }

    public static KnnSnapshot Empty(int dimensions, int chunkRows) =>
        new(dimensions, 0, chunkRows, [], [], [], new Dictionary<string, int>(StringComparer.Ordinal), [], new Dictionary<string, int>(StringComparer.Ordinal), KnnStatistics.Empty);

    public ReadOnlySpan<float> Row(int row) =>
        Clusters is { } clusters ? clusters.Row(row) : Vectors[row / ChunkRows].AsSpan((row % ChunkRows) * Dimensions, Dimensions);

    public KnnItem Item(int row) => Items[row / ChunkRows][row % ChunkRows];

    /// <summary>
    /// Top-k by cosine similarity (dot products of normalized vectors) for each of the query vectors, with a bounded
    /// min-heap per query: no similarity array, no sort. Exact: one pass over the stored rows, scoring a block of up to
    /// <see cref="SimilarityKernel.Block"/> queries per row (a single query scores eight rows at a time instead).
    /// Clustered: each query scans the lists of its <see cref="KnnClusterLayout.Probes"/> nearest centroids. Either way a
    /// similarity is bit-identical however the query was batched.
    /// </summary>
    /// <param name="queries">Query vectors, row-major, L2-normalized, <see cref="Dimensions"/> each.</param>
    /// <param name="k">Neighbours per query; at most <see cref="Count"/>.</param>
    /// <param name="similarities">Receives k similarities per query (heap order, not sorted).</param>
    /// <param name="rows">Receives the k matching row indices per query.</param>
    /// <param name="cancellationToken">Checked between blocks of queries.</param>
    public void Search(ReadOnlySpan<float> queries, int k, Span<float> similarities, Span<int> rows, CancellationToken cancellationToken)
    {
        int d = Dimensions;
        int queryCount = d == 0 ? 0 : queries.Length / d;
        if (k <= 0 || queryCount == 0)
        {
            return;
        }

        if (k > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"Only {Count} rows are stored.");
        }

        if (Clusters is { } clusters)
        {
            for (int q = 0; q < queryCount; q++)
            {
                if (q % SimilarityKernel.Block == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                clusters.Search(queries.Slice(q * d, d), k, similarities.Slice(q * k, k), rows.Slice(q * k, k));
            }

            return;
        }

        for (int start = 0; start < queryCount; start += SimilarityKernel.Block)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int block = Math.Min(SimilarityKernel.Block, queryCount - start);
            ReadOnlySpan<float> blockQueries = queries.Slice(start * d, block * d);
            Span<float> blockSims = similarities.Slice(start * k, block * k);
            Span<int> blockRows = rows.Slice(start * k, block * k);
            if (block == 1)
            {
                ScanOne(blockQueries, k, blockSims, blockRows);
            }
            else
            {
                ScanBlock(blockQueries, block, k, blockSims, blockRows);
            }
        }
    }

    /// <summary>One query against every row, eight rows at a time.</summary>
    private void ScanOne(ReadOnlySpan<float> query, int k, Span<float> heap, Span<int> heapRows)
    {
        const int ScanRows = 64;
        int d = Dimensions;
        Span<float> dots = stackalloc float[ScanRows];
        int row = 0;
        for (int c = 0; row < Count; c++)
        {
            float[] chunk = Vectors[c];
            int inChunk = Math.Min(ChunkRows, Count - row);
            for (int start = 0; start < inChunk; start += ScanRows)
            {
                int block = Math.Min(ScanRows, inChunk - start);
                SimilarityKernel.DotRows(query, chunk.AsSpan(start * d, block * d), block, dots);
                for (int r = 0; r < block; r++, row++)
                {
                    float s = dots[r];
                    if (row < k)
                    {
                        TopK.Push(heap, heapRows, row, s, row);
                    }
                    else if (s > heap[0])
                    {
                        TopK.ReplaceMin(heap, heapRows, s, row);
                    }
                }
            }
        }
    }

    /// <summary>A block of queries against every row: each row is read once per block.</summary>
    private void ScanBlock(ReadOnlySpan<float> blockQueries, int block, int k, Span<float> blockSims, Span<int> blockRows)
    {
        int d = Dimensions;
        Span<float> dots = stackalloc float[SimilarityKernel.Block];
        int row = 0;
        for (int c = 0; row < Count; c++)
        {
            float[] chunk = Vectors[c];
            int inChunk = Math.Min(ChunkRows, Count - row);
            for (int r = 0; r < inChunk; r++, row++)
            {
                SimilarityKernel.Dot(chunk.AsSpan(r * d, d), blockQueries, block, dots);
                for (int q = 0; q < block; q++)
                {
                    float s = dots[q];
                    Span<float> heap = blockSims.Slice(q * k, k);
                    Span<int> heapRows = blockRows.Slice(q * k, k);
                    if (row < k)
                    {
                        TopK.Push(heap, heapRows, row, s, row);
                    }
                    else if (s > heap[0])
                    {
                        TopK.ReplaceMin(heap, heapRows, s, row);
                    }
                }
            }
        }
    }
}

/// <summary>Builds the prior sums of a snapshot: those of the previous one, grown, plus the new items.</summary>
internal static class KnnStatistics
{
    public static PriorSums Empty { get; } = new(0, 0);

    public static PriorSums With(PriorSums previous, ReadOnlySpan<KnnItem> items, int tasks, int models)
    {
        PriorSums sums = previous.Resized(models, tasks);
        foreach (KnnItem item in items)
        {
            foreach (KnnOutcome o in item.Outcomes)
            {
                sums.Add(o.Model, item.Task, float.IsNaN(o.Score) ? null : o.Score, o.Tokens);
            }
        }

        return sums;
    }
}
