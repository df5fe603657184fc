namespace Eccos.Scheduling;

/// <summary>
/// The Lagrangian dual ascent of <see cref="LagrangianAssignmentSolver"/> on one <see cref="SolverProblem"/>, with
/// every buffer allocated once per solve.
/// </summary>
/// <remarks>
/// <para>
/// The dual function is <c>D(t, μ) = Σ_i min_j (f_ij + t·g_ij + μ_j) − t·Limit − Σ_j μ_j·L_j</c>, a lower bound on
/// the optimum for every t, μ ≥ 0. The ascent combines three kinds of steps:
/// </para>
/// <list type="bullet">
/// <item>Exact block-coordinate steps: each binding μ_j is set to the midpoint of the interval that maximizes D along
/// it (where exactly L_j queries prefer model j), and t to the maximizer along t by the breakpoint search. Each step
/// can only raise D and needs no step size; with no binding capacity the single t step is already the optimum.</item>
/// <item>After each sweep, an exact line search along the sweep's displacement (a pattern move): coordinate steps
/// zig-zag when the prices are coupled, and the displacement points along the valley.</item>
/// <item>Once the coordinate steps stall (a non-smooth corner) or have swept three times with the gap open, the exact
/// LP phase (<see cref="ExactLp"/>): the LP optimum by transportation solves along t, and an integral assignment next
/// to it.</item>
/// </list>
/// <para>
/// The Lagrangian argmin is repaired into a feasible assignment after a sweep whose argmin overloads little and at the
/// best dual point;
/// the best one is finally polished by an exact branch and bound over the few queries whose choice is closest to a
/// tie. Stops when the relative gap between the best primal and the best bound is within the tolerance.
/// </para>
/// </remarks>
internal sealed class LagrangianEngine
{
    /// <summary>Sweeps of exact coordinate steps before the exact LP phase takes over.</summary>
    private const int CoordinateSweeps = 3;
    private readonly SolverProblem _p;
    private readonly LagrangianSolverOptions _o;
    private readonly CancellationToken _ct;
    private readonly double[] _best;
    private readonly double[] _second;
    private readonly double[] _argD;
    private readonly double[] _tau;
    private readonly int[] _argmin;
    private readonly int[] _work;
    private readonly int[] _load;
    private readonly double[] _mu;
    private readonly double[] _bestMu;
    private readonly double[] _muStart;
    private readonly double[] _direction;
    private readonly GreedyRepair _repair;
    private readonly LineSearch _line;
    private bool _exactDone;
    private int[]? _minG;
    private double[]? _minGPrices;
    private double _patternStep = 0.25;
    private double _minGValue;

    public LagrangianEngine(SolverProblem p, LagrangianSolverOptions options, CancellationToken cancellationToken)
    {
        _p = p;
        _o = options;
        _ct = cancellationToken;
        int n = p.N;
        _best = new double[n];
        _second = new double[n];
        _argD = new double[n];
        _tau = new double[n];
        _argmin = new int[n];
        _work = new int[n];
        _load = new int[p.M];
        _mu = new double[p.M];
        _bestMu = new double[p.M];
        _muStart = new double[p.M];
        _direction = new double[p.M];
        _line = new LineSearch(p);
        _repair = new GreedyRepair(p);
        Assignment = new int[n];
    }

    /// <summary>Gets the best feasible assignment (or, when unreachable, the one with least Σg).</summary>
    public int[] Assignment { get; }

    /// <summary>Gets Σf of <see cref="Assignment"/> (normalized units).</summary>
    public double PrimalF { get; private set; } = double.PositiveInfinity;

    /// <summary>Gets the best dual bound on min Σf (normalized units).</summary>
    public double Bound { get; private set; } = double.NegativeInfinity;

    /// <summary>Gets the side multiplier at the best bound (normalized units); +∞ when the side constraint is unreachable.</summary>
    public double T { get; private set; }

    /// <summary>Gets the capacity multipliers at the best bound (normalized units).</summary>
    public double[] Mu => _bestMu;

    /// <summary>Gets the dual evaluations spent.</summary>
    public int Iterations { get; private set; }

    /// <summary>Gets a value indicating whether the side constraint cannot be met within the capacities.</summary>
    public bool Unreachable { get; private set; }

    /// <summary>Gets the relative gap reached.</summary>
    public double Gap => RelativeGap(PrimalF, Bound);

    /// <summary>Runs the solve.</summary>
    public void Run()
    {
        SolverProblem p = _p;
        double t = p.HasSide ? _line.MaximizeOverT(_mu, _line.EstimateT(), spread: 1.3) : 0;
        Iterations = 1;
        if (double.IsPositiveInfinity(t))
        {
            // even the least g of every query misses the limit: no assignment meets it, capacities or not
            SetUnreachable();
            return;
        }

        if (p.HasCapacities && !p.HasSide)
        {
            // no side constraint: a transportation problem, solved exactly
            ExactPhase();
            return;
        }

        double d = Evaluate(t);
        Record(d, t);
        bool triedBest = false;
        if (!Overloaded())
        {
            // no capacity binds at the optimum over t: this point is already dual optimal
            TryPrimal(t);
            triedBest = true;
        }

        int sweeps = 0;
        while (!Unreachable && p.HasCapacities && Gap > _o.Tolerance && Iterations < _o.MaxIterations)
        {
            _ct.ThrowIfCancellationRequested();
            double before = Bound;
            double tStart = t;
            _mu.CopyTo(_muStart, 0);
            t = Sweep(t);
            d = Evaluate(t);
            Iterations++;
            sweeps++;
            bool improved = Record(d, t);
            d = PatternMove(ref t, tStart, d);
            improved |= Record(d, t);
            if (Unreachable)
            {
                break;
            }

            if (improved && (SmallOverload() || d <= before + (1e-3 * Math.Abs(before))))
            {
                TryPrimal(t);
                triedBest = true;
            }
            else if (double.IsPositiveInfinity(PrimalF) && Iterations >= 6 && !MinGFits())
            {
                // several sweeps and still no assignment to repair: settle whether one exists at all
                SetUnreachable();
                break;
            }
            else if (improved)
            {
                triedBest = false;
            }

            if (Gap > _o.Tolerance && (sweeps >= CoordinateSweeps || d <= before + (1e-7 * Math.Max(1, Math.Abs(before)))))
            {
                // the exact steps stalled at a corner of the dual, or zig-zag toward it (several capacities binding
                // near the highest reachable quality): the exact LP phase from the best point
                ExactPhase();
                break;
            }
        }

        if (Unreachable)
        {
            return;
        }

        if ((!_exactDone && !triedBest) || double.IsPositiveInfinity(PrimalF))
        {
            // a repair from the best dual point
            _bestMu.CopyTo(_mu, 0);
            Evaluate(T);
            TryPrimal(T);
        }

        if (!Unreachable && !_exactDone && Gap > _o.Tolerance && p.HasCapacities)
        {
            ExactPhase();
        }

        if (!Unreachable && Gap > _o.Tolerance)
        {
            Polish();
        }
    }

    /// <summary>
    /// The exact LP phase: the LP optimum by transportation solves along t (<see cref="ExactLp"/>), its rounded
    /// assignment with the slack spent, and the LP's prices as the best bound.
    /// </summary>
    private void ExactPhase()
    {
        _exactDone = true;
        if (_p.HasSide && !MinGFits())
        {
            SetUnreachable();
            return;
        }

        var lp = new ExactLp(_p, _line, _ct);
        int[] w = _work;
        lp.Solve(T, _bestMu, _minG, w);
        Iterations += lp.Evaluations;
        if (lp.Bound > Bound)
        {
            Bound = lp.Bound;
            T = lp.T;
            lp.Mu.CopyTo(_bestMu, 0);
        }

        if (_repair.Run(w, T, fixCapacity: false) == 0 && _repair.SumF < PrimalF)
        {
            PrimalF = _repair.SumF;
            w.CopyTo(Assignment, 0);
        }
    }

    /// <summary>One sweep of exact coordinate steps: every capacity price that binds or is positive, then t.</summary>
    private double Sweep(double t)
    {
        SolverProblem p = _p;
        bool changed = false;
        for (int j = 0; j < p.M; j++)
        {
            if (p.Capacity[j] >= p.N || (_load[j] <= p.Capacity[j] && _mu[j] == 0))
            {
                continue;
            }

            if (changed)
            {
                DualKernels.BestTwo(p, t, _mu, _best, _second, _argD);
            }

            _mu[j] = ExactMu(j, t);
            changed = true;
        }

        return p.HasSide ? _line.MaximizeOverT(_mu, t) : t;
    }

    /// <summary>
    /// The exact line search along the displacement of the last sweep (coordinate steps zig-zag when the prices are
    /// coupled; the displacement points along the valley).
    /// </summary>
    private double PatternMove(ref double t, double tStart, double d)
    {
        SolverProblem p = _p;
        double dt = t - tStart;
        double sMax = double.PositiveInfinity;
        bool any = dt != 0;
        if (dt < 0)
        {
            sMax = t / -dt;
        }

        for (int j = 0; j < p.M; j++)
        {
            double dm = _mu[j] - _muStart[j];
            _direction[j] = dm;
            any |= dm != 0;
            if (dm < 0)
            {
                sMax = Math.Min(sMax, _mu[j] / -dm);
            }
        }

        if (!any || sMax <= 0)
        {
            return d;
        }

        double s = _line.Maximize(t, _mu, dt, _direction, sMax, _patternStep, _argD);
        if (double.IsPositiveInfinity(s) && !MinGFits())
        {
            // the dual rises without end along this ray: the constraints cannot all hold (confirmed exactly)
            SetUnreachable();
            return d;
        }

        if (!(s > 0) || !double.IsFinite(s))
        {
            return d;
        }

        _patternStep = s;

        t = Math.Max(0, t + (s * dt));
        for (int j = 0; j < p.M; j++)
        {
            _mu[j] = Math.Max(0, _mu[j] + (s * _direction[j]));
        }

        double moved = Evaluate(t);
        Iterations++;
        return moved;
    }

    /// <summary>Whether the current argmin exceeds the capacities by little enough that a repair is worth it.</summary>
    private bool SmallOverload()
    {
        long excess = 0;
        for (int j = 0; j < _p.M; j++)
        {
            excess += Math.Max(0, _load[j] - _p.Capacity[j]);
        }

        return excess <= Math.Max(16, _p.N / 50);
    }

    /// <summary>The relative gap between a primal and a bound (0 when they meet).</summary>
    public static double RelativeGap(double primal, double bound) =>
        double.IsPositiveInfinity(primal) || double.IsNegativeInfinity(bound)
            ? double.PositiveInfinity
            : Math.Max(0, primal - bound) / Math.Max(Math.Abs(primal), 1e-12);

    private bool Record(double d, double t)
    {
        if (d > Bound)
        {
            Bound = d;
            T = t;
            _mu.CopyTo(_bestMu, 0);
            return true;
        }

        return false;
    }

    private bool Overloaded()
    {
        for (int j = 0; j < _p.M; j++)
        {
            if (_load[j] > _p.Capacity[j])
            {
                return true;
            }
        }

        return false;
    }

    private double SumG()
    {
        double s = 0;
        int n = _p.N;
        for (int i = 0; i < n; i++)
        {
            s += _p.G[(_argmin[i] * n) + i];
        }

        return s;
    }

    /// <summary>Evaluates the dual at (t, μ): fills the argmin, the loads and the best/second buffers.</summary>
    private double Evaluate(double t)
    {
        SolverProblem p = _p;
        DualKernels.BestTwo(p, t, _mu, _best, _second, _argD);
        Array.Clear(_load);
        double sum = 0;
        for (int i = 0; i < p.N; i++)
        {
            int j = (int)_argD[i];
            _argmin[i] = j;
            _load[j]++;
            sum += _best[i];
        }

        if (p.HasSide && t > 0)
        {
            sum -= t * p.Limit;
        }

        for (int j = 0; j < p.M; j++)
        {
            if (_mu[j] > 0)
            {
                sum -= _mu[j] * p.Capacity[j];
            }
        }

        return sum;
    }

    /// <summary>The maximizer of the dual along μ_j, from the best/second buffers of the current point.</summary>
    private double ExactMu(int j, double t)
    {
        SolverProblem p = _p;
        int n = p.N;
        int cap = p.Capacity[j];
        int offset = j * n;
        for (int i = 0; i < n; i++)
        {
            double other = (int)_argD[i] == j ? _second[i] : _best[i];
            double own = p.F[offset + i] + (t * p.G[offset + i]);
            _tau[i] = other - own; // model j wins query i while μ_j < τ_i
        }

        Span<double> tau = _tau.AsSpan(0, n);
        double next = DualKernels.SelectDescending(tau, cap); // (cap+1)-th largest
        if (next <= 0)
        {
            return 0;
        }

        double last = double.PositiveInfinity; // cap-th largest
        for (int i = 0; i < cap; i++)
        {
            last = Math.Min(last, tau[i]);
        }

        return double.IsPositiveInfinity(last) ? next + (1e-9 * (1 + Math.Abs(next))) : 0.5 * (next + last);
    }

    /// <summary>Repairs the current argmin and keeps the result when it beats the best primal.</summary>
    private void TryPrimal(double t)
    {
        int[] w = _work;
        _argmin.CopyTo(w, 0);
        int rc = _repair.Run(w, t);
        if (rc == 1)
        {
            // chains of moves needed: the exact transportation solve at this price
            TransportationSolver.Solve(_p, 1, t, w, new double[_p.M], _ct);
            rc = _repair.Run(w, t, fixCapacity: false);
        }

        if (rc == 2)
        {
            if (!MinGFits())
            {
                SetUnreachable();
                return;
            }

            _minG!.CopyTo(w, 0);
            _repair.Improve(w);
        }

        if (_repair.SumF < PrimalF)
        {
            PrimalF = _repair.SumF;
            w.CopyTo(Assignment, 0);
        }
    }

    /// <summary>
    /// Makes <see cref="Assignment"/> meet the side constraint as <paramref name="meets"/> tests it (the arithmetic the
    /// result is reported in, which the sums of the solve may miss by rounding): a few single moves that save the most
    /// g per unit of f, else the least-Σg assignment; when even that fails, the solve ends unreachable.
    /// </summary>
    /// <param name="meets">Whether an assignment (by row) meets the side constraint.</param>
    /// <returns>Whether <see cref="Assignment"/> now meets it.</returns>
    public bool EnsureSide(Func<int[], bool> meets)
    {
        if (Unreachable || meets(Assignment))
        {
            return !Unreachable;
        }

        int[] w = _work;
        Assignment.CopyTo(w, 0);
        for (int step = 0; step < 16 && _repair.SaveStep(w); step++)
        {
            if (meets(w))
            {
                w.CopyTo(Assignment, 0);
                PrimalF = SumF(Assignment);
                return true;
            }
        }

        MinGFits();
        if (meets(_minG!))
        {
            _minG!.CopyTo(Assignment, 0);
            PrimalF = SumF(Assignment);
            return true;
        }

        SetUnreachable();
        return false;
    }

    private double SumF(int[] assign)
    {
        double s = 0;
        int n = _p.N;
        for (int i = 0; i < n; i++)
        {
            s += _p.F[(assign[i] * n) + i];
        }

        return s;
    }

    /// <summary>
    /// Whether the side constraint can hold within the capacities at all: the exact least Σg (highest quality, or
    /// least cost) by a transportation solve, computed once per solve.
    /// </summary>
    private bool MinGFits()
    {
        if (_minG is null)
        {
            _minG = new int[_p.N];
            _minGPrices = new double[_p.M];
            TransportationSolver.Solve(_p, 0, 1, _minG, _minGPrices, _ct);
            double s = 0;
            for (int i = 0; i < _p.N; i++)
            {
                s += _p.G[(_minG[i] * _p.N) + i];
            }

            _minGValue = s;
        }

        return _minGValue <= _p.Limit + _repair.SideTolerance;
    }

    /// <summary>Ends with the least-Σg assignment within the capacities and its prices: the side constraint cannot hold.</summary>
    private void SetUnreachable()
    {
        MinGFits();
        _minG!.CopyTo(Assignment, 0);
        _minGPrices!.CopyTo(_bestMu, 0);
        Unreachable = true;
        T = double.PositiveInfinity;

        PrimalF = SumF(Assignment);
        Bound = double.NegativeInfinity;
    }

    /// <summary>Exact branch and bound over the queries whose choice is closest to a tie, the others fixed.</summary>
    private void Polish()
    {
        SolverProblem p = _p;
        int n = p.N;
        int k = Math.Min(n, _o.PolishQueries);
        if (k == 0 || _o.PolishNodeLimit <= 0)
        {
            return;
        }

        // closeness to a tie at the best dual point: second-least minus least priced cost
        DualKernels.BestTwo(p, T, _bestMu, _best, _second, _argD);
        for (int i = 0; i < n; i++)
        {
            _tau[i] = _second[i] - _best[i];
        }

        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        if (k < n)
        {
            double cut = DualKernels.SelectDescending(_tau.AsSpan(0, n).ToArray(), n - k);
            int c = 0;
            for (int i = 0; i < n && c < k; i++)
            {
                if (_second[i] - _best[i] < cut)
                {
                    order[c++] = i;
                }
            }

            for (int i = 0; i < n && c < k; i++)
            {
                if (_second[i] - _best[i] == cut)
                {
                    order[c++] = i;
                }
            }
        }

        var core = order.AsSpan(0, k).ToArray();
        var residual = (int[])p.Capacity.Clone();
        double limit = p.Limit;
        var inCore = new bool[n];
        foreach (int i in core)
        {
            inCore[i] = true;
        }

        for (int i = 0; i < n; i++)
        {
            if (!inCore[i])
            {
                residual[Assignment[i]]--;
                limit -= p.G[(Assignment[i] * n) + i];
            }
        }

        var options = new int[k][];
        var incumbent = new int[k];
        for (int c = 0; c < k; c++)
        {
            int i = core[c];
            incumbent[c] = Assignment[i];
            var list = new List<int>(p.M);
            for (int j = 0; j < p.M; j++)
            {
                if (p.IsEligible(i, j))
                {
                    list.Add(j);
                }
            }

            double tt = T;
            double[] mu = _bestMu;
            list.Sort((x, y) =>
            {
                double vx = p.F[(x * n) + i] + (tt * p.G[(x * n) + i]) + mu[x];
                double vy = p.F[(y * n) + i] + (tt * p.G[(y * n) + i]) + mu[y];
                return vx != vy ? vx.CompareTo(vy) : x.CompareTo(y);
            });
            if (list.Count > _o.PolishOptions)
            {
                bool hasIncumbent = list.IndexOf(incumbent[c]) < _o.PolishOptions;
                list.RemoveRange(_o.PolishOptions, list.Count - _o.PolishOptions);
                if (!hasIncumbent)
                {
                    list.Add(incumbent[c]);
                }
            }

            options[c] = [.. list];
        }

        var bb = new BranchAndBound(p, core, options, residual, limit, minimizeG: false, maxDeferred: 0, _o.PolishNodeLimit, [T], _bestMu, _ct);
        bb.SetIncumbent(incumbent);
        double before = bb.BestValue;
        bb.Run();
        if (bb.BestValue < before)
        {
            for (int c = 0; c < k; c++)
            {
                Assignment[core[c]] = bb.Best[c];
            }

            PrimalF = SumF(Assignment);
        }
    }
}
