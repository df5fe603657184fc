using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Eccos.Scheduling;

/// <summary>
/// The hot loops of the Lagrangian dual: the per-query argmin of the priced cost <c>f_ij + t·g_ij + μ_j</c> over the
/// eligible models, the weighted selections behind the exact coordinate steps, and the breakpoint search on t.
/// </summary>
/// <remarks>Stateless; every buffer is passed in by the caller, which allocates it once per solve.</remarks>
internal static class DualKernels
{
    /// <summary>
    /// For every query, the least and second-least priced cost and the model of the least (ties: lowest index).
    /// Runs model by model as a vector loop over queries.
    /// </summary>
    /// <param name="p">The problem.</param>
    /// <param name="t">The side multiplier.</param>
    /// <param name="mu">The capacity multipliers.</param>
    /// <param name="best">Receives the least priced cost per query.</param>
    /// <param name="second">Receives the second-least priced cost per query (+∞ when only one model is eligible).</param>
    /// <param name="argBest">Receives the index of the least as a double (exact for any model count).</param>
    public static void BestTwo(SolverProblem p, double t, ReadOnlySpan<double> mu, Span<double> best, Span<double> second, Span<double> argBest) =>
        Scan<SecondBest>(p, t, mu, best, second, argBest);

    /// <summary>
    /// For every query, the model of the least priced cost (ties: lowest index) and its g; returns Σ of those g.
    /// The same pass as <see cref="BestTwo"/> but carrying g instead of the second-best: the kernel of the line search.
    /// </summary>
    /// <param name="p">The problem.</param>
    /// <param name="t">The side multiplier.</param>
    /// <param name="mu">The capacity multipliers.</param>
    /// <param name="best">Scratch: the least priced cost per query.</param>
    /// <param name="gOfBest">Receives g of the chosen model per query.</param>
    /// <param name="argBest">Receives the chosen model per query, as a double.</param>
    /// <returns>Σ_i g of the chosen models.</returns>
    public static double Argmin(SolverProblem p, double t, ReadOnlySpan<double> mu, Span<double> best, Span<double> gOfBest, Span<double> argBest)
    {
        Scan<GOfBest>(p, t, mu, best, gOfBest, argBest);
        return TensorPrimitives.Sum<double>(gOfBest[..p.N]);
    }

    /// <summary>
    /// The argmin pass: model by model, a vector loop over queries of <c>v = f + t·g + μ_j</c>, keeping the least v,
    /// its model and one more per-query value that <typeparamref name="TTrack"/> updates (a struct, so the JIT
    /// specializes the loop for it).
    /// </summary>
    private static void Scan<TTrack>(SolverProblem p, double t, ReadOnlySpan<double> mu, Span<double> best, Span<double> tracked, Span<double> argBest)
        where TTrack : struct, ITrack
    {
        int n = p.N;
        best = best[..n];
        tracked = tracked[..n];
        argBest = argBest[..n];
        best.Fill(double.PositiveInfinity);
        tracked.Fill(TTrack.Initial);
        argBest.Clear();
        ref double b0 = ref MemoryMarshal.GetReference(best);
        ref double s0 = ref MemoryMarshal.GetReference(tracked);
        ref double a0 = ref MemoryMarshal.GetReference(argBest);
        int width = Vector<double>.Count;
        var vt = new Vector<double>(t);
        for (int j = 0; j < p.M; j++)
        {
            ref double f0 = ref p.F[j * n];
            ref double g0 = ref p.G[j * n];
            double add = mu[j];
            var vadd = new Vector<double>(add);
            var vj = new Vector<double>(j);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i <= n - width; i += width)
                {
                    nuint u = (nuint)i;
                    Vector<double> g = Vector.LoadUnsafe(ref g0, u);
                    Vector<double> v = Vector.LoadUnsafe(ref f0, u) + (g * vt) + vadd;
                    Vector<double> b = Vector.LoadUnsafe(ref b0, u);
                    Vector<double> less = Vector.LessThan(v, b).As<long, double>();
                    TTrack.Update(v, b, g, less, Vector.LoadUnsafe(ref s0, u)).StoreUnsafe(ref s0, u);
                    Vector.Min(v, b).StoreUnsafe(ref b0, u);
                    Vector.ConditionalSelect(less, vj, Vector.LoadUnsafe(ref a0, u)).StoreUnsafe(ref a0, u);
                }
            }

            for (; i < n; i++)
            {
                double g = Unsafe.Add(ref g0, i);
                double v = Unsafe.Add(ref f0, i) + (g * t) + add;
                ref double b = ref Unsafe.Add(ref b0, i);
                ref double s = ref Unsafe.Add(ref s0, i);
                s = TTrack.Update(v, b, g, s);
                if (v < b)
                {
                    b = v;
                    Unsafe.Add(ref a0, i) = j;
                }
            }
        }
    }

    /// <summary>Σ_i min over eligible j of g_ij: the least Σg of any assignment, capacities aside.</summary>
    /// <param name="p">The problem.</param>
    /// <param name="scratch">Scratch of length n.</param>
    public static double SumOfLeastG(SolverProblem p, Span<double> scratch)
    {
        int n = p.N;
        scratch = scratch[..n];
        if (p.AllEligible)
        {
            p.G.AsSpan(0, n).CopyTo(scratch);
            for (int j = 1; j < p.M; j++)
            {
                TensorPrimitives.Min(scratch, p.G.AsSpan(j * n, n), scratch);
            }

            return TensorPrimitives.Sum<double>(scratch);
        }

        double s = 0;
        for (int i = 0; i < n; i++)
        {
            double min = double.PositiveInfinity;
            for (int j = 0; j < p.M; j++)
            {
                if (p.IsEligible(i, j))
                {
                    min = Math.Min(min, p.G[(j * n) + i]);
                }
            }

            s += min;
        }

        return s;
    }

    /// <summary>
    /// Finds the value x such that exactly <paramref name="k"/> elements of <paramref name="values"/> lie strictly
    /// above the result's position in descending order: rearranges <paramref name="values"/> so that its first
    /// <paramref name="k"/> elements are its k largest and returns the (k+1)-th largest.
    /// </summary>
    /// <param name="values">The values; rearranged.</param>
    /// <param name="k">How many elements go before the returned one; 0 ≤ k &lt; length.</param>
    /// <returns>The (k+1)-th largest value.</returns>
    public static double SelectDescending(Span<double> values, int k)
    {
        int lo = 0;
        int hi = values.Length - 1;
        while (hi > lo)
        {
            // median of three as pivot: deterministic and robust on sorted input
            int mid = lo + ((hi - lo) >> 1);
            double pivot = MedianOfThree(values[lo], values[mid], values[hi]);
            int i = lo;
            int j = hi;
            while (i <= j)
            {
                while (values[i] > pivot)
                {
                    i++;
                }

                while (values[j] < pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                return values[k];
            }
        }

        return values[k];
    }

    /// <summary>
    /// The weighted quantile: the least breakpoint t such that the weights of all breakpoints ≤ t sum to at least
    /// <paramref name="need"/>. Rearranges both spans.
    /// </summary>
    /// <param name="t">Breakpoint positions.</param>
    /// <param name="w">Breakpoint weights, positive.</param>
    /// <param name="need">The weight to reach, positive and at most the total.</param>
    /// <returns>The breakpoint; the largest one when rounding leaves <paramref name="need"/> just out of reach.</returns>
    public static double WeightedQuantile(Span<double> t, Span<double> w, double need)
    {
        int lo = 0;
        int hi = t.Length; // exclusive
        double lastMax = double.NegativeInfinity;
        while (hi - lo > 16)
        {
            int mid = lo + ((hi - lo) >> 1);
            double pivot = MedianOfThree(t[lo], t[mid], t[hi - 1]);

            // three-way partition: [lo, lt) < pivot, [lt, gt) == pivot, [gt, hi) > pivot
            int lt = lo;
            int gt = hi;
            int i = lo;
            double wl = 0;
            double we = 0;
            while (i < gt)
            {
                double ti = t[i];
                if (ti < pivot)
                {
                    wl += w[i];
                    Swap(t, w, i, lt);
                    lt++;
                    i++;
                }
                else if (ti > pivot)
                {
                    gt--;
                    Swap(t, w, i, gt);
                }
                else
                {
                    we += w[i];
                    i++;
                }
            }

            if (wl >= need)
            {
                hi = lt;
            }
            else if (wl + we >= need)
            {
                return pivot;
            }
            else
            {
                need -= wl + we;
                lastMax = pivot;
                lo = gt;
            }
        }

        // small rest: insertion sort by position, then scan
        for (int i = lo + 1; i < hi; i++)
        {
            double ti = t[i];
            double wi = w[i];
            int j = i - 1;
            while (j >= lo && t[j] > ti)
            {
                t[j + 1] = t[j];
                w[j + 1] = w[j];
                j--;
            }

            t[j + 1] = ti;
            w[j + 1] = wi;
        }

        double acc = 0;
        for (int i = lo; i < hi; i++)
        {
            acc += w[i];
            if (acc >= need)
            {
                return t[i];
            }
        }

        return hi > lo ? t[hi - 1] : lastMax;
    }

    /// <summary>The per-query value an argmin pass carries besides the least priced cost.</summary>
    private interface ITrack
    {
        /// <summary>Gets the value before the first model.</summary>
        static abstract double Initial { get; }

        /// <summary>The new value given the candidate v, the least so far b, the candidate's g and whether v &lt; b.</summary>
        static abstract Vector<double> Update(Vector<double> v, Vector<double> b, Vector<double> g, Vector<double> less, Vector<double> old);

        /// <summary>The scalar form of the update.</summary>
        static abstract double Update(double v, double b, double g, double old);
    }

    /// <summary>Tracks the second-least priced cost: min(old, max(v, b)) (best ≤ second keeps this exact).</summary>
    private readonly struct SecondBest : ITrack
    {
        public static double Initial => double.PositiveInfinity;

        public static Vector<double> Update(Vector<double> v, Vector<double> b, Vector<double> g, Vector<double> less, Vector<double> old) =>
            Vector.Min(old, Vector.Max(v, b));

        public static double Update(double v, double b, double g, double old) => Math.Min(old, Math.Max(v, b));
    }

    /// <summary>Tracks g of the chosen model.</summary>
    private readonly struct GOfBest : ITrack
    {
        public static double Initial => 0;

        public static Vector<double> Update(Vector<double> v, Vector<double> b, Vector<double> g, Vector<double> less, Vector<double> old) =>
            Vector.ConditionalSelect(less, g, old);

        public static double Update(double v, double b, double g, double old) => v < b ? g : old;
    }

    private static void Swap(Span<double> t, Span<double> w, int a, int b)
    {
        (t[a], t[b]) = (t[b], t[a]);
        (w[a], w[b]) = (w[b], w[a]);
    }

    private static double MedianOfThree(double a, double b, double c) =>
        a < b ? (b < c ? b : Math.Max(a, c)) : (a < c ? a : Math.Max(b, c));
}
