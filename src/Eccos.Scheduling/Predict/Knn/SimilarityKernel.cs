using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Eccos.Scheduling;

/// <summary>
/// Dot products of one stored row with a block of up to <see cref="Block"/> query vectors. With 256-bit SIMD, each
/// slice of the row is loaded once and multiplied into one accumulator per query, so a batch reads the stored matrix
/// once per block of queries instead of once per query. Every query's dot product is accumulated in the same order
/// whatever the block size, so a query gets bit-identical similarities alone or in a batch.
/// </summary>
internal static class SimilarityKernel
{
    /// <summary>The number of queries scored per pass over the stored rows.</summary>
    public const int Block = 8;

    /// <summary>Computes <c>dots[q] = row · queries[q]</c> for q &lt; <paramref name="count"/>.</summary>
    /// <param name="row">One stored vector of d floats.</param>
    /// <param name="queries">At least <paramref name="count"/> query vectors of d floats, back to back.</param>
    /// <param name="count">How many queries, 1 to <see cref="Block"/>.</param>
    /// <param name="dots">Receives the dot products.</param>
    public static void Dot(ReadOnlySpan<float> row, ReadOnlySpan<float> queries, int count, Span<float> dots)
    {
        int d = row.Length;
        if (!Vector256.IsHardwareAccelerated || d < Vector256<float>.Count)
        {
            for (int q = 0; q < count; q++)
            {
                dots[q] = TensorPrimitives.Dot(row, queries.Slice(q * d, d));
            }

            return;
        }

        if (count == Block)
        {
            Dot8(row, queries, dots);
            return;
        }

        for (int q = 0; q < count; q++)
        {
            dots[q] = Dot1(row, queries.Slice(q * d, d));
        }
    }

    /// <summary>
    /// Computes <c>dots[r] = rows[r] · query</c> for the <paramref name="count"/> vectors stored back to back in
    /// <paramref name="rows"/>: eight rows at a time share each load of the query and run eight independent
    /// accumulators (a single query against one row at a time is bound by the latency of one accumulator chain).
    /// Every dot product is bit-identical to <see cref="Dot"/> of that row with that query: the same products are
    /// accumulated in the same order (a fused multiply-add is symmetric in its factors).
    /// </summary>
    /// <param name="query">One query vector of d floats.</param>
    /// <param name="rows">At least <paramref name="count"/> stored vectors of d floats, back to back.</param>
    /// <param name="count">How many rows.</param>
    /// <param name="dots">Receives <paramref name="count"/> dot products.</param>
    public static void DotRows(ReadOnlySpan<float> query, ReadOnlySpan<float> rows, int count, Span<float> dots)
    {
        int d = query.Length;
        int r = 0;
        if (Vector256.IsHardwareAccelerated && d >= Vector256<float>.Count)
        {
            for (; r <= count - Block; r += Block)
            {
                Dot8(query, rows.Slice(r * d, Block * d), dots.Slice(r, Block));
            }
        }

        for (; r < count; r++)
        {
            Dot(rows.Slice(r * d, d), query, 1, dots.Slice(r, 1));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot1(ReadOnlySpan<float> row, ReadOnlySpan<float> query)
    {
        int d = row.Length;
        ref float r = ref MemoryMarshal.GetReference(row);
        ref float x = ref MemoryMarshal.GetReference(query);
        Vector256<float> acc = Vector256<float>.Zero;
        int i = 0;
        for (; i <= d - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref r, (nuint)i), Vector256.LoadUnsafe(ref x, (nuint)i), acc);
        }

        float sum = Vector256.Sum(acc);
        for (; i < d; i++)
        {
            sum = MathF.FusedMultiplyAdd(row[i], query[i], sum);
        }

        return sum;
    }

    private static void Dot8(ReadOnlySpan<float> row, ReadOnlySpan<float> queries, Span<float> dots)
    {
        int d = row.Length;
        ref float r = ref MemoryMarshal.GetReference(row);
        ref float q0 = ref MemoryMarshal.GetReference(queries);
        ref float q1 = ref Unsafe.Add(ref q0, d);
        ref float q2 = ref Unsafe.Add(ref q1, d);
        ref float q3 = ref Unsafe.Add(ref q2, d);
        ref float q4 = ref Unsafe.Add(ref q3, d);
        ref float q5 = ref Unsafe.Add(ref q4, d);
        ref float q6 = ref Unsafe.Add(ref q5, d);
        ref float q7 = ref Unsafe.Add(ref q6, d);
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        int i = 0;
        for (; i <= d - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var at = (nuint)i;
            Vector256<float> v = Vector256.LoadUnsafe(ref r, at);
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref q0, at), a0);
            a1 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref q1, at), a1);
            a2 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref q2, at), a2);
            a3 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref q3, at), a3);
            a4 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref q4, at), a4);
            a5 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref q5, at), a5);
            a6 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref q6, at), a6);
            a7 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref q7, at), a7);
        }

        dots[0] = Vector256.Sum(a0);
        dots[1] = Vector256.Sum(a1);
        dots[2] = Vector256.Sum(a2);
        dots[3] = Vector256.Sum(a3);
        dots[4] = Vector256.Sum(a4);
        dots[5] = Vector256.Sum(a5);
        dots[6] = Vector256.Sum(a6);
        dots[7] = Vector256.Sum(a7);
        for (; i < d; i++)
        {
            float v = row[i];
            for (int q = 0; q < Block; q++)
            {
                dots[q] = MathF.FusedMultiplyAdd(v, queries[(q * d) + i], dots[q]);
            }
        }
    }
}
