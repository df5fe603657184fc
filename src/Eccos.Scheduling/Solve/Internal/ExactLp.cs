namespace Eccos.Scheduling;

/// <summary>
/// The exact LP optimum of the assignment problem with capacities and the side constraint, and an integral assignment
/// next to it: a search over the side multiplier t in which every dual value is an exact transportation solve.
/// </summary>
/// <remarks>
/// <para>
/// With only the side constraint relaxed, <c>φ(t) = min Σ (f + t·g)·x − t·Limit</c> over the assignments within the
/// capacities is a transportation problem, whose polytope is integral; so <c>max_t φ(t)</c> is the LP optimum, and
/// the optimal capacity prices of that transportation problem are the LP's μ. φ is concave and piecewise linear,
/// each assignment x giving the line <c>Σf(x) + t·(Σg(x) − Limit)</c> above it; the search keeps one assignment that
/// misses the limit (slope &gt; 0) and one that meets it, evaluates φ where their lines cross and replaces one of them,
/// until φ touches the crossing: then both are optimal at that t, and the LP optimum mixes them.
/// </para>
/// <para>
/// One evaluation is a transportation solve over the queries near a tie only: at a guess of the prices, every query
/// whose least and second-least priced costs lie far apart stays on its argmin, the rest (the core) is solved exactly
/// within the room the others leave, and one vector pass checks that every fixed query is still on a cheapest model at
/// the new prices, which proves the whole assignment optimal; if not, the core doubles and the step repeats.
/// </para>
/// <para>
/// Rounding: the two optimal assignments differ by exchange cycles and paths, each of zero priced cost at the optimum;
/// applying to the feasible one the exchanges that trade quality slack for cost while the limit still holds leaves an
/// integral assignment whose cost exceeds the LP optimum by t times the slack left, which the final exact polish of
/// the engine then closes on the few queries concerned. One instance per solve; not thread-safe.
/// </para>
/// </remarks>
internal sealed class ExactLp
{
    private const int MaxSteps = 40;
    private readonly SolverProblem _p;
    private readonly LineSearch _line;
    private readonly CancellationToken _ct;
    private readonly double[] _best;
    private readonly double[] _second;
    private readonly double[] _arg;
    private readonly double[] _gap;
    private readonly int[] _core;
    private readonly bool[] _inCore;
    private readonly int[] _residual;
    private readonly double[] _corePrices;
    private readonly int _coreSize;

    public ExactLp(SolverProblem p, LineSearch line, CancellationToken cancellationToken)
    {
        _p = p;
        _line = line;
        _ct = cancellationToken;
        int n = p.N;
        _best = new double[n];
        _second = new double[n];
        _arg = new double[n];
        _gap = new double[n];
        _core = new int[n];
        _inCore = new bool[n];
        _residual = new int[p.M];
        _corePrices = new double[p.M];
        _coreSize = Math.Min(n, Math.Max(16 * p.M, n / 32));
    }

    /// <summary>Gets the transportation solves spent.</summary>
    public int Evaluations { get; private set; }

    /// <summary>Gets the side multiplier of the LP optimum (after <see cref="Solve"/>).</summary>
    public double T { get; private set; }

    /// <summary>Gets the capacity prices of the LP optimum (after <see cref="Solve"/>).</summary>
    public double[] Mu { get; private set; } = [];

    /// <summary>Gets the LP optimum, a lower bound on the least Σf (after <see cref="Solve"/>).</summary>
    public double Bound { get; private set; } = double.NegativeInfinity;

    /// <summary>
    /// Finds the LP optimum and an integral assignment within the capacities that meets the limit next to it.
    /// </summary>
    /// <param name="t0">A guess of the optimal t (the Lagrangian ascent's).</param>
    /// <param name="mu0">A guess of the optimal prices.</param>
    /// <param name="leastG">
    /// An assignment within the capacities with the least Σg, which meets the limit; needed when there is a side
    /// constraint.
    /// </param>
    /// <param name="result">Receives the integral assignment; it meets the limit (in the sums of this class).</param>
    public void Solve(double t0, ReadOnlySpan<double> mu0, int[]? leastG, int[] result)
    {
        SolverProblem p = _p;
        Point x = Evaluate(t0, mu0);
        Point? lo = null;
        Point? hi = null;
        if (!p.HasSide || x.Slope <= 0)
        {
            hi = x;
            if (p.HasSide && t0 > 0)
            {
                Point at0 = Evaluate(0, x.Mu);
                if (at0.Slope <= 0)
                {
                    hi = at0;
                }
                else
                {
                    lo = at0;
                }
            }
        }
        else
        {
            lo = x;
            hi = Line(leastG ?? throw new ArgumentNullException(nameof(leastG)));
        }

        Point opt = lo is { } l && l.Dual > x.Dual ? l : x;
        if (lo is not null)
        {
            for (int step = 0; step < MaxSteps; step++)
            {
                _ct.ThrowIfCancellationRequested();

                // next t: every other step where the argmin at the prices of the latest point meets the limit (the
                // breakpoint search, which lands close but may crawl), if that lies inside the bracket; else where the
                // two lines cross
                double t = step % 2 == 0 ? _line.MaximizeOverT(x.Mu, x.T) : double.NaN;
                if (!(t > lo.T && (t < hi.T || double.IsNaN(hi.T))))
                {
                    t = Math.Max(0, (hi.SumF - lo.SumF) / (lo.Slope - hi.Slope));
                }

                if (double.IsNaN(hi.T))
                {
                    // the upper end is still the least-Σg assignment (t = ∞ in effect): grow t by steps, which keeps
                    // the cores small
                    t = Math.Min(t, 1.5 * Math.Max(lo.T, 1e-9));
                }

                x = Evaluate(t, hi.Mu.Length > 0 && Math.Abs(hi.T - t) < Math.Abs(lo.T - t) ? hi.Mu : lo.Mu);
                if (x.Dual > opt.Dual)
                {
                    opt = x;
                }

                // converged when the end of the bracket on the other side is optimal at t as well
                Point other = x.Slope > 0 ? hi : lo;
                bool done = x.Slope == 0 || other.SumF + (t * other.Slope) <= x.Dual + (1e-12 * Math.Max(1, Math.Abs(x.Dual)));
                if (x.Slope > 0)
                {
                    lo = x;
                }
                else
                {
                    hi = x;
                }

                if (done)
                {
                    break;
                }
            }
        }

        T = opt.T;
        Mu = opt.Mu;
        Bound = opt.Dual;
        hi.Assign.CopyTo(result, 0);
        if (lo is not null && T > 0)
        {
            Exchange(result, hi.Slope, lo.Assign);
        }
    }

    /// <summary>The line of an assignment (no evaluation of φ).</summary>
    private Point Line(int[] assign)
    {
        (double f, double g) = Sums(assign);
        return new Point(double.NaN, double.NegativeInfinity, f, g - _p.Limit, (int[])assign.Clone(), []);
    }

    private (double F, double G) Sums(int[] assign)
    {
        SolverProblem p = _p;
        int n = p.N;
        double f = 0;
        double g = 0;
        for (int i = 0; i < n; i++)
        {
            int k = (assign[i] * n) + i;
            f += p.F[k];
            g += p.G[k];
        }

        return (f, g);
    }

    /// <summary>φ(t) exactly, with an optimal assignment and prices, by a transportation solve on the queries near a tie.</summary>
    private Point Evaluate(double t, ReadOnlySpan<double> guess)
    {
        SolverProblem p = _p;
        int n = p.N;
        var assign = new int[n];
        var mu = new double[p.M];
        guess.CopyTo(mu);
        DualKernels.BestTwo(p, t, mu, _best, _second, _arg);
        if (_coreSize < n && SolveByCore(t, assign, mu))
        {
            return PointOf(t, assign, mu);
        }

        // the whole problem: from the guess, checked, else from zero prices (exact by construction)
        Evaluations++;
        guess.CopyTo(mu);
        TransportationSolver.Solve(p, 1, t, null, p.Capacity, assign, mu, _ct, mu.ToArray());
        DualKernels.BestTwo(p, t, mu, _best, _second, _arg);
        if (!Verify(t, assign, mu, null))
        {
            Evaluations++;
            TransportationSolver.Solve(p, 1, t, assign, mu, _ct);
            DualKernels.BestTwo(p, t, mu, _best, _second, _arg);
        }

        return PointOf(t, assign, mu);
    }

    /// <summary>The point of an optimal assignment at t, with the best/second buffers at its prices.</summary>
    private Point PointOf(double t, int[] assign, double[] mu)
    {
        SolverProblem p = _p;
        double dual = 0;
        for (int i = 0; i < p.N; i++)
        {
            dual += _best[i];
        }

        if (p.HasSide && t > 0)
        {
            dual -= t * p.Limit;
        }

        for (int j = 0; j < p.M; j++)
        {
            dual -= mu[j] * p.Capacity[j];
        }

        (double f, double g) = Sums(assign);
        return new Point(t, dual, f, p.HasSide ? g - p.Limit : -1, assign, mu);
    }

    /// <summary>
    /// The transportation solve on a core of queries, the rest on their argmin: first the queries nearest a tie at the
    /// guessed prices (the best/second buffers), then, round by round, every fixed query that prefers another model at
    /// the core's new prices, until none does (then the whole assignment is optimal). False when that takes too many
    /// rounds or the core cannot be placed in the room the others leave.
    /// </summary>
    private bool SolveByCore(double t, int[] assign, double[] mu)
    {
        SolverProblem p = _p;
        int n = p.N;
        int m = p.M;
        int k = _coreSize;
        for (int i = 0; i < n; i++)
        {
            _gap[i] = _second[i] - _best[i];
        }

        // the k smallest gaps: the k-th smallest, the (n−k+1)-th largest, is the cut
        double cut = DualKernels.SelectDescending(_gap.AsSpan(0, n), n - k);
        Array.Clear(_inCore);
        int c = 0;
        for (int i = 0; i < n; i++)
        {
            assign[i] = (int)_arg[i];
            if (_second[i] - _best[i] < cut)
            {
                _inCore[i] = true;
                c++;
            }
        }

        for (int i = 0; i < n && c < k; i++)
        {
            if (!_inCore[i] && _second[i] - _best[i] == cut)
            {
                _inCore[i] = true;
                c++;
            }
        }

        for (int round = 0; round < 12; round++)
        {
            _ct.ThrowIfCancellationRequested();
            Evaluations++;
            OpenRoom(assign);
            c = 0;
            for (int i = 0; i < n; i++)
            {
                if (_inCore[i])
                {
                    _core[c++] = i;
                }
            }

            try
            {
                TransportationSolver.Solve(p, 1, t, _core.AsSpan(0, c), _residual, assign, _corePrices, _ct, mu);
            }
            catch (InvalidOperationException)
            {
                return false; // eligibility: the core does not fit in the room the others leave
            }

            _corePrices.AsSpan(0, m).CopyTo(mu);
            DualKernels.BestTwo(p, t, mu, _best, _second, _arg);
            if (Verify(t, assign, mu, _inCore))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Fills the room per model that the fixed queries leave; where they alone overfill a model, the ones of it nearest
    /// a tie join the core until they fit.
    /// </summary>
    private void OpenRoom(int[] assign)
    {
        SolverProblem p = _p;
        int n = p.N;
        int m = p.M;
        p.Capacity.CopyTo(_residual, 0);
        for (int i = 0; i < n; i++)
        {
            if (!_inCore[i])
            {
                _residual[assign[i]]--;
            }
        }

        for (int j = 0; j < m; j++)
        {
            int over = -_residual[j];
            if (over <= 0)
            {
                continue;
            }

            int count = 0;
            for (int i = 0; i < n; i++)
            {
                if (!_inCore[i] && assign[i] == j)
                {
                    _gap[count] = _second[i] - _best[i];
                    _core[count++] = i;
                }
            }

            double cut = over >= count ? double.PositiveInfinity : DualKernels.SelectDescending(_gap.AsSpan(0, count).ToArray(), count - over);
            for (int r = 0; r < count && over > 0; r++)
            {
                if (_gap[r] <= cut)
                {
                    _inCore[_core[r]] = true;
                    _residual[j]++;
                    over--;
                }
            }
        }
    }

    /// <summary>
    /// Whether every query (every fixed one, when <paramref name="inCore"/> is given) is on a cheapest model at
    /// (t, μ), the best/second buffers being at that point; fixed queries that are not join the core.
    /// </summary>
    private bool Verify(double t, int[] assign, double[] mu, bool[]? inCore)
    {
        SolverProblem p = _p;
        int n = p.N;
        bool ok = true;
        for (int i = 0; i < n; i++)
        {
            if (inCore is not null && inCore[i])
            {
                continue;
            }

            int k = (assign[i] * n) + i;
            double own = p.F[k] + (t * p.G[k]) + mu[assign[i]];
            if (own > _best[i] + (1e-10 * (1 + Math.Abs(_best[i]))))
            {
                ok = false;
                if (inCore is null)
                {
                    return false;
                }

                inCore[i] = true;
            }
        }

        return ok;
    }

    /// <summary>
    /// Moves <paramref name="assign"/> (which meets the limit, Σg − Limit = <paramref name="slope"/>) toward
    /// <paramref name="other"/> (which misses it) by the exchange cycles and paths between them that lower f, while
    /// the limit holds: larger exchanges first.
    /// </summary>
    private void Exchange(int[] assign, double slope, int[] other)
    {
        SolverProblem p = _p;
        int n = p.N;
        int m = p.M;

        // arcs: query i moves from assign[i] to other[i]; per model the queries leaving it
        var outgoing = new List<int>[m];
        for (int j = 0; j < m; j++)
        {
            outgoing[j] = [];
        }

        var balance = new int[m];
        int arcs = 0;
        for (int i = 0; i < n; i++)
        {
            if (assign[i] != other[i])
            {
                outgoing[assign[i]].Add(i);
                balance[assign[i]]++;
                balance[other[i]]--;
                arcs++;
            }
        }

        if (arcs == 0)
        {
            return;
        }

        // conformal decomposition: walks from a model that loses load (else any), cut into cycles where they close
        var components = new List<(int[] Queries, double DF, double DG)>();
        var onWalk = new int[m];
        Array.Fill(onWalk, -1);
        var walkQueries = new List<int>();
        var walkNodes = new List<int>();
        while (arcs > 0)
        {
            int start = -1;
            for (int j = 0; j < m && start < 0; j++)
            {
                if (balance[j] > 0 && outgoing[j].Count > 0)
                {
                    start = j;
                }
            }

            for (int j = 0; j < m && start < 0; j++)
            {
                if (outgoing[j].Count > 0)
                {
                    start = j;
                }
            }

            walkQueries.Clear();
            walkNodes.Clear();
            int u = start;
            onWalk[u] = 0;
            walkNodes.Add(u);
            while (true)
            {
                List<int> list = outgoing[u];
                if (list.Count == 0)
                {
                    // a path ends here
                    components.Add(Component(walkQueries, 0, other, assign));
                    balance[walkNodes[0]]--;
                    balance[u]++;
                    break;
                }

                int q = list[^1];
                list.RemoveAt(list.Count - 1);
                arcs--;
                int v = other[q];
                walkQueries.Add(q);
                if (onWalk[v] >= 0)
                {
                    // a cycle closes: cut it out and go on from v
                    int from = onWalk[v];
                    components.Add(Component(walkQueries, from, other, assign));
                    for (int r = from + 1; r < walkNodes.Count; r++)
                    {
                        onWalk[walkNodes[r]] = -1;
                    }

                    walkNodes.RemoveRange(from + 1, walkNodes.Count - from - 1);
                    walkQueries.RemoveRange(from, walkQueries.Count - from);
                    u = v;
                    if (walkQueries.Count == 0 && outgoing[u].Count == 0)
                    {
                        break;
                    }

                    continue;
                }

                onWalk[v] = walkNodes.Count;
                walkNodes.Add(v);
                u = v;
            }

            foreach (int node in walkNodes)
            {
                onWalk[node] = -1;
            }
        }

        // trade slack for cost: every exchange here has a priced cost of about 0 (f falls by t per unit of g spent)
        components.Sort((a, b) => b.DG.CompareTo(a.DG));
        double room = -slope;
        foreach ((int[] queries, double df, double dg) in components)
        {
            if (df < 0 && dg <= room)
            {
                foreach (int q in queries)
                {
                    assign[q] = other[q];
                }

                room -= dg;
            }
        }
    }

    private (int[] Queries, double DF, double DG) Component(List<int> walk, int from, int[] other, int[] assign)
    {
        SolverProblem p = _p;
        int n = p.N;
        var queries = new int[walk.Count - from];
        double df = 0;
        double dg = 0;
        for (int r = from; r < walk.Count; r++)
        {
            int q = walk[r];
            queries[r - from] = q;
            df += p.F[(other[q] * n) + q] - p.F[(assign[q] * n) + q];
            dg += p.G[(other[q] * n) + q] - p.G[(assign[q] * n) + q];
        }

        return (queries, df, dg);
    }

    /// <summary>One evaluated point: t, φ(t) (−∞ for a bare line), Σf and Σg − Limit of an optimal assignment, and its prices.</summary>
    private sealed record Point(double T, double Dual, double SumF, double Slope, int[] Assign, double[] Mu);
}
