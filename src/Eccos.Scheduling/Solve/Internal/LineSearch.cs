namespace Eccos.Scheduling;

/// <summary>
/// Exact maximization of the Lagrangian dual along a ray <c>(t, μ) + s·(dt, dμ)</c>, s ∈ [0, sMax]: the breakpoint
/// search. The search on t alone (the quality price) is the ray from (0, μ) along (1, 0).
/// </summary>
/// <remarks>
/// <para>
/// Along a ray every priced cost <c>f_ij + t·g_ij + μ_j</c> is a line in s with slope <c>h_ij = dt·g_ij + dμ_j</c>,
/// so the dual is concave and piecewise linear in s with slope <c>S(s) − C</c>, where <c>S(s) = Σ_i h_i,j*(s)</c>
/// falls as s rises and <c>C = dt·Limit + Σ_j dμ_j·L_j</c>. The search brackets the optimum with vector argmin
/// passes (growing the bracket geometrically from a guess, then shrinking it while many queries still change model
/// inside), then walks, for the queries whose choice differs between the ends only, the lower envelope of their
/// lines inside the bracket, recording each breakpoint with the drop in h it brings. The optimum is the weighted
/// quantile where the accumulated drop first reaches <c>S(lo) − C</c>.
/// </para>
/// <para>One instance per solve (it owns scratch buffers); not thread-safe.</para>
/// </remarks>
internal sealed class LineSearch
{
    private readonly SolverProblem _p;
    private readonly double[][] _arg;
    private readonly double[] _best;
    private readonly double[] _second;
    private readonly double[] _mu;
    private readonly int[] _load;
    private double[] _bpT = new double[256];
    private double[] _bpW = new double[256];
    private double _leastG = double.NaN;

    public LineSearch(SolverProblem p)
    {
        _p = p;
        _arg = [new double[p.N], new double[p.N], new double[p.N]];
        _best = new double[p.N];
        _second = new double[p.N];
        _mu = new double[p.M];
        _load = new int[p.M];
    }

    /// <summary>Gets the vector passes spent so far.</summary>
    public int Passes { get; private set; }

    /// <summary>
    /// A cheap first guess of the optimal t at μ = 0: the exact optimum of a strided sample of at most 512 queries
    /// (the whole envelope walk on the sample, with the limit scaled to its size). Costs no pass over the problem.
    /// </summary>
    /// <returns>The sample's optimal t, or 1 when the sample gives none.</returns>
    public double EstimateT()
    {
        SolverProblem p = _p;
        int n = p.N;
        int m = p.M;
        int step = Math.Max(1, n / 512);
        Span<double> fRow = m <= 128 ? stackalloc double[m] : new double[m];
        Span<double> gRow = m <= 128 ? stackalloc double[m] : new double[m];
        int count = 0;
        int sampled = 0;
        double sum0 = 0;
        for (int i = 0; i < n; i += step)
        {
            sampled++;
            p.Row(i, fRow, gRow);
            int cur = -1;
            for (int j = 0; j < m; j++)
            {
                if (!double.IsPositiveInfinity(fRow[j]) && (cur < 0 || fRow[j] < fRow[cur] || (fRow[j] == fRow[cur] && gRow[j] < gRow[cur])))
                {
                    cur = j;
                }
            }

            sum0 += gRow[cur];
            count = WalkRow(fRow, gRow, cur, 0, double.PositiveInfinity, count);
        }

        double need = sum0 - (p.Limit * sampled / n);
        if (need <= 0 || count == 0)
        {
            return 1;
        }

        double total = 0;
        for (int k = 0; k < count; k++)
        {
            total += _bpW[k];
        }

        if (need >= total)
        {
            return 1; // the sample alone cannot meet the target; no guess
        }

        double t = DualKernels.WeightedQuantile(_bpT.AsSpan(0, count), _bpW.AsSpan(0, count), need);
        return t > 0 && double.IsFinite(t) ? t : 1;
    }

    /// <summary>Returns the t ≥ 0 that maximizes the dual for fixed <paramref name="mu"/>.</summary>
    /// <param name="mu">The capacity multipliers.</param>
    /// <param name="guess">Where to start looking (the previous t); any value when unknown.</param>
    /// <param name="spread">How far from the guess the first bracket reaches (a factor above 1).</param>
    /// <returns>The optimal t; +∞ when even the least g of every query misses the limit.</returns>
    public double MaximizeOverT(ReadOnlySpan<double> mu, double guess, double spread = 1.1)
    {
        Span<double> zero = _p.M <= 256 ? stackalloc double[_p.M] : new double[_p.M];
        zero.Clear();
        return Maximize(0, mu, 1, zero, double.PositiveInfinity, guess, spread: spread);
    }

    /// <summary>Returns the s in [0, <paramref name="sMax"/>] that maximizes the dual along the ray.</summary>
    /// <param name="t0">The ray's start, t.</param>
    /// <param name="mu0">The ray's start, μ.</param>
    /// <param name="dt">The direction, t.</param>
    /// <param name="dmu">The direction, μ.</param>
    /// <param name="sMax">The end of the ray (where a multiplier would turn negative), possibly +∞.</param>
    /// <param name="guess">Where to start looking; any value when unknown.</param>
    /// <param name="argAtStart">The argmin at s = 0 when the caller has it (saves a pass); else null.</param>
    /// <param name="spread">How far from the guess the first bracket reaches (a factor above 1).</param>
    /// <returns>The optimal s; +∞ when the dual rises without end (the side constraint cannot be met).</returns>
    public double Maximize(
        double t0, ReadOnlySpan<double> mu0, double dt, ReadOnlySpan<double> dmu, double sMax, double guess, double[]? argAtStart = null, double spread = 2)
    {
        SolverProblem p = _p;
        double target = 0;
        if (dt != 0)
        {
            target += dt * p.Limit;
        }

        for (int j = 0; j < p.M; j++)
        {
            target += dmu[j] * p.Capacity[j];
        }

        if (!(guess > 0) || !double.IsFinite(guess))
        {
            guess = 1;
        }

        double ratio = spread;
        int lo = 0;
        int hi = 1;
        int spare = 2;
        double sLo = Math.Min(guess / ratio, sMax);
        double sHi = Math.Min(guess * ratio, sMax);
        double slopeLo;
        double slopeHi = double.NaN;
        if (argAtStart is not null)
        {
            // the bracket starts at the known point s = 0
            argAtStart.AsSpan(0, p.N).CopyTo(_arg[lo]);
            sLo = 0;
            slopeLo = SlopeOf(dt, dmu, _arg[lo]);
        }
        else
        {
            slopeLo = Slope(t0, mu0, dt, dmu, sLo, _arg[lo]);
        }

        while (slopeLo <= target)
        {
            // the dual already falls at sLo: the optimum is below
            if (sLo == 0)
            {
                return 0;
            }

            (hi, lo) = (lo, hi);
            sHi = sLo;
            slopeHi = slopeLo;
            sLo = sLo <= guess / 16 ? 0 : sLo / 4; // after two steps down, try 0 itself
            slopeLo = Slope(t0, mu0, dt, dmu, sLo, _arg[lo]);
        }

        if (double.IsNaN(slopeHi))
        {
            slopeHi = sHi == sLo ? slopeLo : Slope(t0, mu0, dt, dmu, sHi, _arg[hi]);
        }

        while (slopeHi > target)
        {
            if (sHi >= sMax)
            {
                return sMax;
            }

            bool alongTOnly = !HasAny(dmu);
            if (!alongTOnly && sHi > 1e8 * Math.Max(1, guess))
            {
                // the dual still rises far beyond any sensible step: unbounded along this ray as far as it matters
                // (which proves the constraints cannot all hold; the caller confirms exactly)
                return double.PositiveInfinity;
            }

            if (sHi > 1e6 && dt > 0 && alongTOnly)
            {
                // the quality price has grown absurd: either the target is out of reach, or it is one of the last
                // breakpoints; the least Σg tells which
                if (double.IsNaN(_leastG))
                {
                    _leastG = DualKernels.SumOfLeastG(p, _best);
                }

                double tolerance = 1e-9 * Math.Max(1, Math.Abs(p.Limit));
                if (_leastG > p.Limit + tolerance)
                {
                    return double.PositiveInfinity;
                }

                if (slopeHi <= dt * (p.Limit + tolerance))
                {
                    // the target is the least Σg itself, up to the rounding of long sums: the bracket ends here (a
                    // strict test would let it grow without bound and the target look unreachable)
                    break;
                }
            }

            (lo, hi) = (hi, lo);
            sLo = sHi;
            slopeLo = slopeHi;
            sHi = Math.Min(sHi * 4, sMax);
            if (double.IsPositiveInfinity(sHi))
            {
                return double.PositiveInfinity;
            }

            slopeHi = Slope(t0, mu0, dt, dmu, sHi, _arg[hi]);
        }

        // shrink while many queries change model inside the bracket: a pass costs about as much as walking n/8 of them
        int n = p.N;
        for (int k = 0; k < 8; k++)
        {
            if (CountDiffer(_arg[lo], _arg[hi]) <= (n / 8) + 32)
            {
                break;
            }

            double sMid = sLo == 0 ? sHi / 4 : Math.Sqrt(sLo * sHi);
            double slopeMid = Slope(t0, mu0, dt, dmu, sMid, _arg[spare]);
            if (slopeMid > target)
            {
                (lo, spare) = (spare, lo);
                sLo = sMid;
                slopeLo = slopeMid;
            }
            else
            {
                (hi, spare) = (spare, hi);
                sHi = sMid;
            }
        }

        int count = Walk(t0, mu0, dt, dmu, _arg[lo], _arg[hi], sLo, sHi);
        if (count == 0)
        {
            return sHi;
        }

        return DualKernels.WeightedQuantile(_bpT.AsSpan(0, count), _bpW.AsSpan(0, count), slopeLo - target);
    }

    private static bool HasAny(ReadOnlySpan<double> values)
    {
        foreach (double v in values)
        {
            if (v != 0)
            {
                return true;
            }
        }

        return false;
    }

    private int CountDiffer(double[] a, double[] b)
    {
        int c = 0;
        for (int i = 0; i < _p.N; i++)
        {
            c += a[i] != b[i] ? 1 : 0;
        }

        return c;
    }

    /// <summary>S(s): Σ_i h at the argmin of the point s of the ray (the argmin goes to <paramref name="arg"/>).</summary>
    private double Slope(double t0, ReadOnlySpan<double> mu0, double dt, ReadOnlySpan<double> dmu, double s, double[] arg)
    {
        SolverProblem p = _p;
        for (int j = 0; j < p.M; j++)
        {
            _mu[j] = mu0[j] + (s * dmu[j]);
        }

        Passes++;
        if (!HasAny(dmu))
        {
            // along t alone only Σg matters: the cheap kernel
            return dt * DualKernels.Argmin(p, t0 + (s * dt), _mu, _best, _second, arg);
        }

        DualKernels.BestTwo(p, t0 + (s * dt), _mu, _best, _second, arg);
        return SlopeOf(dt, dmu, arg);
    }

    /// <summary>S at a point whose argmin is <paramref name="arg"/>.</summary>
    private double SlopeOf(double dt, ReadOnlySpan<double> dmu, double[] arg)
    {
        SolverProblem p = _p;
        Array.Clear(_load);
        double sumG = 0;
        int n = p.N;
        double[] g = p.G;
        for (int i = 0; i < n; i++)
        {
            int j = (int)arg[i];
            _load[j]++;
            sumG += g[(j * n) + i];
        }

        double slope = dt == 0 ? 0 : dt * sumG;
        for (int j = 0; j < p.M; j++)
        {
            slope += dmu[j] * _load[j];
        }

        return slope;
    }

    private int Walk(double t0, ReadOnlySpan<double> mu0, double dt, ReadOnlySpan<double> dmu, double[] argLo, double[] argHi, double sLo, double sHi)
    {
        SolverProblem p = _p;
        int n = p.N;
        int m = p.M;
        double tLo = t0 + (sLo * dt);
        Span<double> baseRow = m <= 128 ? stackalloc double[m] : new double[m];
        Span<double> slopeRow = m <= 128 ? stackalloc double[m] : new double[m];
        Span<double> fRow = m <= 128 ? stackalloc double[m] : new double[m];
        Span<double> gRow = m <= 128 ? stackalloc double[m] : new double[m];
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            if (argLo[i] == argHi[i])
            {
                continue;
            }

            // lines in the offset u = s − sLo, from the row-major source (the column-major arrays would cost M misses)
            p.Row(i, fRow, gRow);
            for (int j = 0; j < m; j++)
            {
                baseRow[j] = fRow[j] + (tLo * gRow[j]) + mu0[j] + (sLo * dmu[j]);
                slopeRow[j] = (dt == 0 ? 0 : dt * gRow[j]) + dmu[j];
            }

            count = WalkRow(baseRow, slopeRow, (int)argLo[i], sLo, sHi - sLo, count);
        }

        return count;
    }

    /// <summary>
    /// Walks the lower envelope of the lines <c>base_j + u·slope_j</c> from model <paramref name="cur"/> at u = 0 up
    /// to <paramref name="uEnd"/>, appending every breakpoint (at <paramref name="origin"/> + u) with its drop in slope.
    /// </summary>
    /// <returns>The new breakpoint count.</returns>
    private int WalkRow(ReadOnlySpan<double> baseRow, ReadOnlySpan<double> slopeRow, int cur, double origin, double uEnd, int count)
    {
        int m = baseRow.Length;
        double uCur = 0;
        while (true)
        {
            int next = -1;
            double uNext = double.PositiveInfinity;
            double hc = slopeRow[cur];
            double bc = baseRow[cur];
            for (int j = 0; j < m; j++)
            {
                double h = slopeRow[j];
                if (h >= hc || double.IsPositiveInfinity(baseRow[j]))
                {
                    continue;
                }

                double uj = Math.Max(uCur, (baseRow[j] - bc) / (hc - h));
                if (uj < uNext || (uj == uNext && h < slopeRow[next]))
                {
                    uNext = uj;
                    next = j;
                }
            }

            if (next < 0 || uNext > uEnd)
            {
                return count;
            }

            if (count == _bpT.Length)
            {
                Array.Resize(ref _bpT, _bpT.Length * 2);
                Array.Resize(ref _bpW, _bpT.Length);
            }

            _bpT[count] = origin + uNext;
            _bpW[count] = hc - slopeRow[next];
            count++;
            cur = next;
            uCur = uNext;
        }
    }
}
