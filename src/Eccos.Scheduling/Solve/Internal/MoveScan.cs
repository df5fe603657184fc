using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Eccos.Scheduling;

/// <summary>
/// The full scans of the repair as vector loops: for every query, the best single move to a model with room, by one
/// of three rules, evaluated model by model over all queries at once.
/// </summary>
/// <remarks>
/// Ineligible pairs need no test: their f is +∞, which fails every rule. A query's own model fails every rule too
/// (Δf = Δg = 0). Stateless.
/// </remarks>
internal static class MoveScan
{
    /// <summary>What a move must do and how moves are ranked (least key first).</summary>
    public enum Rule
    {
        /// <summary>Lower g; key Δf / (−Δg), the extra f per unit of g saved.</summary>
        SaveG,

        /// <summary>Lower f without raising g; key Δf.</summary>
        FreeCut,

        /// <summary>Lower f, raising g by at most the slack; key Δf / Δg (the f saved per unit of g spent, negated).</summary>
        SlackCut,

        /// <summary>Any move; key Δf + t·Δg, the priced extra cost (t is the scan's parameter).</summary>
        Priced,
    }

    /// <summary>The key of one move by <paramref name="rule"/>; +∞ when the rule does not allow it.</summary>
    /// <param name="rule">The rule.</param>
    /// <param name="df">Δf of the move (+∞ for an ineligible target).</param>
    /// <param name="dg">Δg of the move.</param>
    /// <param name="parameter">The slack for <see cref="Rule.SlackCut"/>, t for <see cref="Rule.Priced"/>.</param>
    public static double Key(Rule rule, double df, double dg, double parameter) => rule switch
    {
        Rule.SaveG => dg < 0 ? df / -dg : double.PositiveInfinity,
        Rule.FreeCut => df < 0 && dg <= 0 ? df : double.PositiveInfinity,
        Rule.SlackCut => df < 0 && dg > 0 && dg <= parameter ? df / dg : double.PositiveInfinity,
        _ => df + (parameter * dg),
    };

    /// <summary>Finds every query's best move by <paramref name="rule"/>.</summary>
    /// <param name="p">The problem.</param>
    /// <param name="open">Per model, whether it has room.</param>
    /// <param name="fCur">f of every query's current model.</param>
    /// <param name="gCur">g of every query's current model.</param>
    /// <param name="rule">The rule.</param>
    /// <param name="slack">For <see cref="Rule.SlackCut"/>, the most g a move may add; for <see cref="Rule.Priced"/>, t.</param>
    /// <param name="bestKey">Receives the best key per query (+∞ for none).</param>
    /// <param name="bestModel">Receives the target model per query, as a double.</param>
    public static void Scan(
        SolverProblem p, ReadOnlySpan<bool> open, ReadOnlySpan<double> fCur, ReadOnlySpan<double> gCur, Rule rule, double slack,
        Span<double> bestKey, Span<double> bestModel)
    {
        int n = p.N;
        bestKey = bestKey[..n];
        bestModel = bestModel[..n];
        bestKey.Fill(double.PositiveInfinity);
        bestModel.Clear();
        ref double fc0 = ref MemoryMarshal.GetReference(fCur);
        ref double gc0 = ref MemoryMarshal.GetReference(gCur);
        ref double k0 = ref MemoryMarshal.GetReference(bestKey);
        ref double m0 = ref MemoryMarshal.GetReference(bestModel);
        int width = Vector<double>.Count;
        var inf = new Vector<double>(double.PositiveInfinity);
        var vSlack = new Vector<double>(slack);
        for (int j = 0; j < p.M; j++)
        {
            if (!open[j])
            {
                continue;
            }

            ref double f0 = ref p.F[j * n];
            ref double g0 = ref p.G[j * n];
            var vj = new Vector<double>(j);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i <= n - width; i += width)
                {
                    nuint u = (nuint)i;
                    Vector<double> df = Vector.LoadUnsafe(ref f0, u) - Vector.LoadUnsafe(ref fc0, u);
                    Vector<double> dg = Vector.LoadUnsafe(ref g0, u) - Vector.LoadUnsafe(ref gc0, u);
                    Vector<double> key = rule switch
                    {
                        Rule.SaveG => Vector.ConditionalSelect(Vector.LessThan(dg, Vector<double>.Zero), df / -dg, inf),
                        Rule.FreeCut => Vector.ConditionalSelect(
                            Vector.LessThan(df, Vector<double>.Zero) & Vector.LessThanOrEqual(dg, Vector<double>.Zero), df, inf),
                        Rule.SlackCut => Vector.ConditionalSelect(
                            Vector.LessThan(df, Vector<double>.Zero) & Vector.GreaterThan(dg, Vector<double>.Zero) & Vector.LessThanOrEqual(dg, vSlack),
                            df / dg,
                            inf),
                        _ => df + (vSlack * dg),
                    };
                    Vector<double> b = Vector.LoadUnsafe(ref k0, u);
                    Vector<double> less = Vector.LessThan(key, b).As<long, double>();
                    Vector.Min(key, b).StoreUnsafe(ref k0, u);
                    Vector.ConditionalSelect(less, vj, Vector.LoadUnsafe(ref m0, u)).StoreUnsafe(ref m0, u);
                }
            }

            for (; i < n; i++)
            {
                double df = Unsafe.Add(ref f0, i) - Unsafe.Add(ref fc0, i);
                double dg = Unsafe.Add(ref g0, i) - Unsafe.Add(ref gc0, i);
                double key = Key(rule, df, dg, slack);
                ref double b = ref Unsafe.Add(ref k0, i);
                if (key < b)
                {
                    b = key;
                    Unsafe.Add(ref m0, i) = j;
                }
            }
        }
    }
}
