using System.Buffers;
using System.Numerics.Tensors;

namespace Eccos.Scheduling;

/// <summary>
/// Seeded spherical k-means over L2-normalized vectors (similarity = dot product): k-means++ seeding, then a few Lloyd
/// iterations on a sample of at most <see cref="SamplePerList"/> vectors per centroid. Single-threaded and
/// deterministic: the same rows and seed give the same centroids, bit for bit.
/// </summary>
internal static class SphericalKMeans
{
    /// <summary>The most Lloyd iterations (it stops earlier when no assignment changes).</summary>
    public const int Iterations = 8;

    /// <summary>Training sample: at most this many rows per centroid (FAISS's rule of thumb is 39–256).</summary>
    public const int SamplePerList = 64;

    /// <summary>Trains <paramref name="lists"/> unit centroids on a seeded sample of the first <paramref name="count"/> rows of <paramref name="source"/>.</summary>
    /// <returns>The centroids, row-major, <paramref name="lists"/> × dimensions.</returns>
    public static float[] Train(KnnSnapshot source, int count, int lists, int seed)
    {
        int d = source.Dimensions;
        int size = (int)Math.Min(count, (long)lists * SamplePerList);
        var rng = new Random(seed);
        int[] picked = Sample(count, size, rng);
        float[] sample = new float[checked(size * d)];
        for (int i = 0; i < size; i++)
        {
            source.Row(picked[i]).CopyTo(sample.AsSpan(i * d, d));
        }

        float[] centroids = new float[checked(lists * d)];
        SeedPlusPlus(sample, size, d, lists, rng, centroids);

        int[] assignment = new int[size];
        Array.Fill(assignment, -1);
        float[] sums = new float[lists * d];
        int[] members = new int[lists];
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            if (Assign(sample, size, d, centroids, lists, assignment) == 0)
            {
                break;
            }

            Array.Clear(sums);
            Array.Clear(members);
            for (int i = 0; i < size; i++)
            {
                Span<float> sum = sums.AsSpan(assignment[i] * d, d);
                TensorPrimitives.Add(sum, sample.AsSpan(i * d, d), sum);
                members[assignment[i]]++;
            }

            for (int c = 0; c < lists; c++)
            {
                Span<float> sum = sums.AsSpan(c * d, d);
                float norm = TensorPrimitives.Norm(sum);
                if (members[c] > 0 && norm > 0 && float.IsFinite(norm))
                {
                    TensorPrimitives.Divide(sum, norm, centroids.AsSpan(c * d, d)); // an empty cluster keeps its centroid
                }
            }
        }

        return centroids;
    }

    /// <summary>
    /// Sets <c>assignment[i]</c> to the centroid most similar to point i (the first on ties), eight points per pass
    /// over the centroids.
    /// </summary>
    /// <returns>How many assignments changed.</returns>
    public static int Assign(ReadOnlySpan<float> points, int count, int d, ReadOnlySpan<float> centroids, int lists, Span<int> assignment)
    {
        Span<float> dots = stackalloc float[SimilarityKernel.Block];
        Span<float> best = stackalloc float[SimilarityKernel.Block];
        Span<int> bestList = stackalloc int[SimilarityKernel.Block];
        int changed = 0;
        for (int start = 0; start < count; start += SimilarityKernel.Block)
        {
            int block = Math.Min(SimilarityKernel.Block, count - start);
            ReadOnlySpan<float> blockPoints = points.Slice(start * d, block * d);
            best.Fill(float.NegativeInfinity);
            bestList.Clear();
            for (int c = 0; c < lists; c++)
            {
                SimilarityKernel.Dot(centroids.Slice(c * d, d), blockPoints, block, dots);
                for (int q = 0; q < block; q++)
                {
                    if (dots[q] > best[q])
                    {
                        best[q] = dots[q];
                        bestList[q] = c;
                    }
                }
            }

            for (int q = 0; q < block; q++)
            {
                if (assignment[start + q] != bestList[q])
                {
                    assignment[start + q] = bestList[q];
                    changed++;
                }
            }
        }

        return changed;
    }

    /// <summary>Assigns the first <paramref name="count"/> rows of <paramref name="source"/> to their nearest centroid.</summary>
    public static int[] AssignRows(KnnSnapshot source, int count, ReadOnlySpan<float> centroids, int lists)
    {
        int d = source.Dimensions;
        const int Rows = 64 * SimilarityKernel.Block;
        int[] assignment = new int[count];
        float[] buffer = ArrayPool<float>.Shared.Rent(Rows * d);
        try
        {
            for (int start = 0; start < count; start += Rows)
            {
                int block = Math.Min(Rows, count - start);
                for (int r = 0; r < block; r++)
                {
                    source.Row(start + r).CopyTo(buffer.AsSpan(r * d, d));
                }

                Assign(buffer.AsSpan(0, block * d), block, d, centroids, lists, assignment.AsSpan(start, block));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }

        return assignment;
    }

    /// <summary>The index of the centroid most similar to <paramref name="vector"/> (the first on ties).</summary>
    public static int Nearest(ReadOnlySpan<float> vector, ReadOnlySpan<float> centroids, int lists, Span<float> scratch)
    {
        Span<float> dots = scratch[..lists];
        SimilarityKernel.DotRows(vector, centroids, lists, dots);
        int best = 0;
        for (int c = 1; c < lists; c++)
        {
            if (dots[c] > dots[best])
            {
                best = c;
            }
        }

        return best;
    }

    /// <summary>A seeded sample of <paramref name="size"/> distinct indices below <paramref name="count"/>, ascending.</summary>
    private static int[] Sample(int count, int size, Random rng)
    {
        int[] all = new int[count];
        for (int i = 0; i < count; i++)
        {
            all[i] = i;
        }

        if (size == count)
        {
            return all;
        }

        for (int i = 0; i < size; i++)
        {
            int j = i + rng.Next(count - i); // partial Fisher–Yates
            (all[i], all[j]) = (all[j], all[i]);
        }

        int[] picked = all[..size];
        Array.Sort(picked); // read the rows in storage order
        return picked;
    }

    /// <summary>
    /// k-means++ seeding: the first centroid uniformly, each next one with probability proportional to the squared
    /// distance to its nearest chosen centroid, which for unit vectors is 2·(1 − similarity).
    /// </summary>
    private static void SeedPlusPlus(float[] sample, int size, int d, int lists, Random rng, float[] centroids)
    {
        float[] distance = new float[size];
        float[] dots = new float[size];
        int pick = rng.Next(size);
        for (int c = 0; c < lists; c++)
        {
            ReadOnlySpan<float> chosen = sample.AsSpan(pick * d, d);
            chosen.CopyTo(centroids.AsSpan(c * d, d));
            SimilarityKernel.DotRows(chosen, sample, size, dots);
            double total = 0;
            for (int i = 0; i < size; i++)
            {
                float dist = Math.Max(0, 1 - dots[i]);
                distance[i] = c == 0 ? dist : Math.Min(distance[i], dist);
                total += distance[i];
            }

            if (total <= 0)
            {
                pick = rng.Next(size); // every point sits on a centroid already: any point will do
                continue;
            }

            double target = rng.NextDouble() * total;
            pick = size - 1;
            double cumulative = 0;
            for (int i = 0; i < size; i++)
            {
                cumulative += distance[i];
                if (cumulative > target && distance[i] > 0)
                {
                    pick = i;
                    break;
                }
            }
        }
    }
}
