using System.Buffers;

namespace Eccos.Scheduling;

/// <summary>How a <see cref="KnnIndex"/> clusters: the requested lists (0 = 2√n), probes, and when to cluster first.</summary>
internal sealed record KnnClusterSettings(int Lists, int Probes, int MinRows = KnnClusterSettings.DefaultMinRows)
{
    /// <summary>Below this many stored queries the search stays exact (an exact scan of them is cheap).</summary>
    public const int DefaultMinRows = 256;

    /// <summary>Re-cluster when the index has grown by this factor since the last clustering.</summary>
    public const int GrowthFactor = 2;

    /// <summary>The seed of the clustering: the same rows always give the same lists.</summary>
    public const int Seed = 0x5EED;

    /// <summary>At most one list per this many stored queries.</summary>
    public const int MinRowsPerList = 8;

    /// <summary>The number of lists for a clustering of <paramref name="rows"/> stored queries.</summary>
    public int ListsFor(int rows)
    {
        // 2√n rather than FAISS's usual √n: on MMLU-Pro, at equal rows scanned, more and smaller lists found more of the
        // true neighbours (recall@32 0.65 vs 0.60 at ~540 rows), and scoring 2√n centroids stays cheap (~3 µs at 10k).
        int wanted = Lists > 0 ? Lists : (int)Math.Round(2 * Math.Sqrt(rows));
        return Math.Clamp(wanted, 1, Math.Max(1, rows / MinRowsPerList));
    }
}

/// <summary>
/// The inverted-file layout of one <see cref="KnnSnapshot"/>: unit centroids, and per list a contiguous block of the
/// normalized rows assigned to it (with their row numbers). Immutable: the list arrays may be shared with later layouts,
/// which only write beyond this layout's counts.
/// </summary>
internal sealed class KnnClusterLayout
{
    private const int ScanRows = 64;
    private Locations? _locations;

    public KnnClusterLayout(int dimensions, int probes, int trainedCount, float[] centroids, float[][] vectors, int[][] rows, int[] counts)
    {
        Dimensions = dimensions;
        Probes = probes;
        TrainedCount = trainedCount;
        Centroids = centroids;
        Vectors = vectors;
        Rows = rows;
        Counts = counts;
    }

    public int Dimensions { get; }

    /// <summary>Gets how many lists a query searches.</summary>
    public int Probes { get; }

    /// <summary>Gets how many rows the centroids were trained on (the index re-clusters when it has doubled).</summary>
    public int TrainedCount { get; }

    public float[] Centroids { get; }

    public int ListCount => Counts.Length;

    /// <summary>Gets each list's rows, row-major (only the first <see cref="Counts"/>[l] rows belong to this layout).</summary>
    public float[][] Vectors { get; }

    /// <summary>Gets each list's row numbers.</summary>
    public int[][] Rows { get; }

    public int[] Counts { get; }

    /// <summary>Gets stored row <paramref name="row"/> (a row-to-list map is built on first use; not on the search path).</summary>
    public ReadOnlySpan<float> Row(int row)
    {
        Locations at = LazyInitializer.EnsureInitialized(ref _locations, BuildLocations);
        return Vectors[at.List[row]].AsSpan(at.Slot[row] * Dimensions, Dimensions);
    }

    /// <summary>
    /// Top-k of one query: the similarities to the centroids, the <see cref="Probes"/> most similar lists (more while
    /// they hold fewer than <paramref name="k"/> rows), and an exact bounded-heap scan of their rows.
    /// </summary>
    public void Search(ReadOnlySpan<float> query, int k, Span<float> heap, Span<int> heapRows)
    {
        int lists = ListCount;
        int probes = Math.Min(Probes, lists);
        float[] rented = ArrayPool<float>.Shared.Rent(lists + probes);
        int[] probed = ArrayPool<int>.Shared.Rent(lists);
        try
        {
            Span<float> centroidSims = rented.AsSpan(0, lists);
            SimilarityKernel.DotRows(query, Centroids, lists, centroidSims);
            int chosen = SelectProbes(centroidSims, probes, rented.AsSpan(lists, probes), probed);
            Span<float> dots = stackalloc float[ScanRows];
            int filled = 0;
            for (int p = 0; p < chosen; p++)
            {
                int list = probed[p];
                int count = Counts[list];
                float[] vectors = Vectors[list];
                int[] rows = Rows[list];
                for (int start = 0; start < count; start += ScanRows)
                {
                    int block = Math.Min(ScanRows, count - start);
                    SimilarityKernel.DotRows(query, vectors.AsSpan(start * Dimensions, block * Dimensions), block, dots);
                    for (int r = 0; r < block; r++)
                    {
                        float s = dots[r];
                        if (filled < k)
                        {
                            TopK.Push(heap, heapRows, filled++, s, rows[start + r]);
                        }
                        else if (s > heap[0])
                        {
                            TopK.ReplaceMin(heap, heapRows, s, rows[start + r]);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
            ArrayPool<int>.Shared.Return(probed);
        }

        int SelectProbes(ReadOnlySpan<float> sims, int probes, Span<float> best, int[] lists)
        {
            // The `probes` most similar lists by a bounded min-heap (ties: the lower list number, by scan order).
            for (int l = 0; l < sims.Length; l++)
            {
                if (l < probes)
                {
                    TopK.Push(best, lists, l, sims[l], l);
                }
                else if (sims[l] > best[0])
                {
                    TopK.ReplaceMin(best, lists, sims[l], l);
                }
            }

            long rows = 0;
            for (int p = 0; p < probes; p++)
            {
                rows += Counts[lists[p]];
            }

            if (rows >= k)
            {
                return probes;
            }

            // Too few rows in the best lists (small or skewed lists): take further lists, most similar first.
            for (int l = 0; l < sims.Length; l++)
            {
                lists[l] = l;
            }

            float[] keys = [.. sims];
            for (int l = 0; l < keys.Length; l++)
            {
                keys[l] = -keys[l];
            }

            keys.AsSpan().Sort(lists.AsSpan(0, sims.Length));
            int taken = 0;
            rows = 0;
            while (taken < sims.Length && (taken < probes || rows < k))
            {
                rows += Counts[lists[taken++]];
            }

            return taken;
        }
    }

    private Locations BuildLocations()
    {
        int total = 0;
        foreach (int c in Counts)
        {
            total += c;
        }

        var list = new int[total];
        var slot = new int[total];
        for (int l = 0; l < Counts.Length; l++)
        {
            for (int s = 0; s < Counts[l]; s++)
            {
                list[Rows[l][s]] = l;
                slot[Rows[l][s]] = s;
            }
        }

        return new Locations(list, slot);
    }

    /// <summary>Where each row lives: its list and its slot in that list.</summary>
    private sealed record Locations(int[] List, int[] Slot);
}

/// <summary>
/// The writer's side of a clustered index: the same lists, appended to under the index's writer lock. A list that is
/// full moves to a larger array (readers of earlier layouts keep the old one); rows are only ever written beyond the
/// counts already published.
/// </summary>
internal sealed class KnnClusterWriter
{
    private readonly int _dimensions;
    private readonly float[] _centroids;
    private readonly float[][] _vectors;
    private readonly int[][] _rows;
    private readonly int[] _counts;
    private readonly float[] _scratch;
    private readonly int _trainedCount;

    /// <summary>Creates empty lists with room for <paramref name="capacities"/> rows each.</summary>
    public KnnClusterWriter(int dimensions, float[] centroids, int trainedCount, ReadOnlySpan<int> capacities)
    {
        _dimensions = dimensions;
        _centroids = centroids;
        _trainedCount = trainedCount;
        int lists = capacities.Length;
        _vectors = new float[lists][];
        _rows = new int[lists][];
        _counts = new int[lists];
        for (int l = 0; l < lists; l++)
        {
            _vectors[l] = new float[checked(capacities[l] * dimensions)];
            _rows[l] = new int[capacities[l]];
        }

        _scratch = new float[lists];
    }

    public int ListCount => _counts.Length;

    /// <summary>Appends a normalized row to the list of its nearest centroid.</summary>
    public void Append(ReadOnlySpan<float> vector, int row) =>
        Append(SphericalKMeans.Nearest(vector, _centroids, ListCount, _scratch), vector, row);

    /// <summary>Appends a normalized row to list <paramref name="list"/>.</summary>
    public void Append(int list, ReadOnlySpan<float> vector, int row)
    {
        int count = _counts[list];
        if (count == _rows[list].Length)
        {
            int capacity = Math.Max(8, count * 2);
            float[] vectors = new float[checked(capacity * _dimensions)];
            _vectors[list].AsSpan(0, count * _dimensions).CopyTo(vectors);
            int[] rows = new int[capacity];
            _rows[list].AsSpan(0, count).CopyTo(rows);
            _vectors[list] = vectors; // earlier layouts keep the old arrays
            _rows[list] = rows;
        }

        vector.CopyTo(_vectors[list].AsSpan(count * _dimensions, _dimensions));
        _rows[list][count] = row;
        _counts[list] = count + 1;
    }

    /// <summary>An immutable layout of the lists as they are now.</summary>
    public KnnClusterLayout Publish(int probes) =>
        new(_dimensions, probes, _trainedCount, _centroids, [.. _vectors], [.. _rows], [.. _counts]);
}

/// <summary>Bounded min-heaps of (similarity, row) pairs for top-k selection: no similarity array, no sort.</summary>
internal static class TopK
{
    /// <summary>Adds an element to a min-heap holding <paramref name="size"/> elements.</summary>
    public static void Push(Span<float> heap, Span<int> rows, int size, float value, int row)
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
    public static void ReplaceMin(Span<float> heap, Span<int> rows, float value, int row)
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
