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
        KnnStatistics statistics)
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

    public KnnStatistics Statistics { get; }

    public static KnnSnapshot Empty(int dimensions, int chunkRows) =>
        new(dimensions, 0, chunkRows, [], [], [], new Dictionary<string, int>(StringComparer.Ordinal), [], new Dictionary<string, int>(StringComparer.Ordinal), KnnStatistics.Empty);

    public ReadOnlySpan<float> Row(int row) => Vectors[row / ChunkRows].AsSpan((row % ChunkRows) * Dimensions, Dimensions);

    public KnnItem Item(int row) => Items[row / ChunkRows][row % ChunkRows];

    /// <summary>
    /// Exact top-k by cosine similarity (dot products of normalized vectors) for each of the query vectors, by one
    /// pass over the stored rows with a bounded min-heap per query: no similarity array, no sort.
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

        Span<float> dots = stackalloc float[SimilarityKernel.Block];
        for (int start = 0; start < queryCount; start += SimilarityKernel.Block)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int block = Math.Min(SimilarityKernel.Block, queryCount - start);
            ReadOnlySpan<float> blockQueries = queries.Slice(start * d, block * d);
            Span<float> blockSims = similarities.Slice(start * k, block * k);
            Span<int> blockRows = rows.Slice(start * k, block * k);
            int row = 0;
            for (int c = 0; row < Count; c++)
            {
                float[] chunk = Vectors[c];
                int inChunk = Math.Min(ChunkRows, Count - row);
                for (int r = 0; r < inChunk; r++, row++)
                {
                    ReadOnlySpan<float> vector = chunk.AsSpan(r * d, d);
                    SimilarityKernel.Dot(vector, blockQueries, block, dots);
                    for (int q = 0; q < block; q++)
                    {
                        float s = dots[q];
                        Span<float> heap = blockSims.Slice(q * k, k);
                        Span<int> heapRows = blockRows.Slice(q * k, k);
                        if (row < k)
                        {
                            HeapPush(heap, heapRows, row, s, row);
                        }
                        else if (s > heap[0])
                        {
                            HeapReplaceMin(heap, heapRows, s, row);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Adds an element to a min-heap holding <paramref name="size"/> elements.</summary>
    private static void HeapPush(Span<float> heap, Span<int> rows, int size, float value, int row)
    {
        int i = size;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (heap[parent] <= value)
            {
                break;
            }

            heap[i] = heap[parent];
            rows[i] = rows[parent];
            i = parent;
        }

        heap[i] = value;
        rows[i] = row;
    }

    /// <summary>Replaces the minimum of a full min-heap and restores the heap order.</summary>
    private static void HeapReplaceMin(Span<float> heap, Span<int> rows, float value, int row)
    {
        int n = heap.Length;
        int i = 0;
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && heap[child + 1] < heap[child])
            {
                child++;
            }

            if (heap[child] >= value)
            {
                break;
            }

            heap[i] = heap[child];
            rows[i] = rows[child];
            i = child;
        }

        heap[i] = value;
        rows[i] = row;
    }
}

/// <summary>
/// Per (slot, model) sums behind the priors: slot 0 is all queries, slot t + 1 the queries of task t. Four sums each:
/// score sum, graded count, output-token sum, output count. Immutable; <see cref="With"/> returns a new instance.
/// </summary>
internal sealed class KnnStatistics
{
    public const int Fields = 4;

    private readonly double[] _sums;

    private KnnStatistics(double[] sums, int tasks, int models)
    {
        _sums = sums;
        TaskCount = tasks;
        ModelCount = models;
    }

    public static KnnStatistics Empty { get; } = new([], 0, 0);

    public int TaskCount { get; }

    public int ModelCount { get; }

    /// <summary>Gets the four sums of (slot, model): slot 0 for all queries, 1 + task for one task.</summary>
    public ReadOnlySpan<double> Of(int slot, int model) => _sums.AsSpan(((slot * ModelCount) + model) * Fields, Fields);

    public KnnStatistics With(ReadOnlySpan<KnnItem> items, int tasks, int models)
    {
        var sums = new double[(tasks + 1) * models * Fields];
        for (int slot = 0; slot <= TaskCount; slot++)
        {
            _sums.AsSpan(slot * ModelCount * Fields, ModelCount * Fields).CopyTo(sums.AsSpan(slot * models * Fields));
        }

        foreach (KnnItem item in items)
        {
            foreach (KnnOutcome o in item.Outcomes)
            {
                AddTo(sums, ((0 * models) + o.Model) * Fields, o);
                if (item.Task >= 0)
                {
                    AddTo(sums, (((item.Task + 1) * models) + o.Model) * Fields, o);
                }
            }
        }

        return new KnnStatistics(sums, tasks, models);
    }

    private static void AddTo(double[] sums, int at, KnnOutcome o)
    {
        if (!float.IsNaN(o.Score))
        {
            sums[at] += o.Score;
            sums[at + 1]++;
        }

        sums[at + 2] += o.Tokens;
        sums[at + 3]++;
    }
}
