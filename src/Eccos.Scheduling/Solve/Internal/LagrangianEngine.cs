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
/// <item>Projected subgradient steps with Polyak's rule <c>ρ·(UB − D)/‖s‖²</c>, the best primal as the target and ρ
/// halved after a run of steps without a better bound, once the coordinate steps stall (a non-smooth corner).</item>
/// </list>
/// <para>
/// The Lagrangian argmin is repaired into a feasible assignment after a sweep whose argmin overloads little, every
/// few subgradient steps and at the best dual point;
/// the best one is finally polished by an exact branch and bound over the few queries whose choice is closest to a
/// tie. Stops when the relative gap between the best primal and the best bound is within the tolerance.
/// </para>
/// </remarks>
internal sealed class LagrangianEngine
{
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
    private int[]? _minG;
    private double[]? _minGPrices;
    private double _patternStep = 0.25;
    private double _exactTriedAt = double.NaN;
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

        double d = Evaluate(t);
        Record(d, t);
        bool triedBest = false;
        if (!Overloaded())
        {
            // no capacity binds at the optimum over t: this point is already dual optimal
            TryPrimal(t);
            triedBest = true;
        }

        bool coordinate = true;
        double rho = _o.InitialStepScale;
        int sinceImprovement = 0;
        while (!Unreachable && p.HasCapacities && Gap > _o.Tolerance && Iterations < _o.MaxIterations && rho >= _o.MinStepScale)
        {
            _ct.ThrowIfCancellationRequested();
            double before = Bound;
            if (coordinate)
            {
                double tStart = t;
                _mu.CopyTo(_muStart, 0);
                t = Sweep(t);
                d = Evaluate(t);
                Iterations++;
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

                if (d <= before + (1e-7 * Math.Max(1, Math.Abs(before))))
                {
                    // the exact steps stalled at a corner of the dual: try the exact capacitated argmin there, then
                    // go on from the best point by subgradient if the gap is still open
                    TryExactPrimal(T);
                    coordinate = false;
                    t = T;
                    _bestMu.CopyTo(_mu, 0);
                    d = Evaluate(t);
                }
            }
            else
            {
                d = SubgradientStep(ref t, d, rho);
                Iterations++;
                if (double.IsNaN(d))
                {
                    break; // zero subgradient: the current point maximizes the dual
                }

                if (Record(d, t))
                {
                    sinceImprovement = 0;
                    triedBest = false;
                }
                else if (++sinceImprovement >= _o.StepHalvingPatience)
                {
                    rho /= 2;
                    sinceImprovement = 0;
                }

                if (Iterations % _o.RepairInterval == 0 && (SmallOverload() || double.IsPositiveInfinity(PrimalF)))
                {
                    TryPrimal(t);
                }
            }
        }

        if (Unreachable)
        {
            return;
        }

        if (!triedBest || double.IsPositiveInfinity(PrimalF))
        {
            // a repair from the best dual point
            _bestMu.CopyTo(_mu, 0);
            Evaluate(T);
            TryPrimal(T);
        }

        if (!Unreachable && Gap > _o.Tolerance && p.HasCapacities)
        {
            // ties between priced costs (common with coarse predictions) can leave the greedy repair short of chains
            // of moves; the exact capacitated argmin just past the best t breaks them toward the side constraint
            TryExactPrimal(T);
        }

        if (!Unreachable && Gap > _o.Tolerance)
        {
            Polish();
        }
    }

    /// <summary>
    /// Repairs the exact minimum of Σ(f + t'·g) within the capacities (a transportation solve) into a candidate, with
    /// t' just past <paramref name="t"/> so that ties between priced costs break toward the side constraint. Once per t.
    /// </summary>
    private void TryExactPrimal(double t)
    {
        if (t == _exactTriedAt || !_p.HasCapacities)
        {
            return;
        }

        _exactTriedAt = t;
        int[] w = _work;
        var prices = new double[_p.M];
        foreach (double side in (ReadOnlySpan<double>)[1, -1])
        {
            // just past t ties break toward the side constraint (then slack is spent), just before it toward f (then
            // the side step repairs); keep the better
            double tt = Math.Max(0, t + (side * 1e-9 * Math.Max(1, t)));
            TransportationSolver.Solve(_p, 1, tt, w, prices, _ct);
            if (_repair.Run(w, tt, fixCapacity: false) == 0 && _repair.SumF < PrimalF)
            {
                PrimalF = _repair.SumF;
                w.CopyTo(Assignment, 0);
            }
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

    /// <summary>One projected subgradient step with Polyak's rule; NaN when the subgradient is zero.</summary>
    private double SubgradientStep(ref double t, double d, double rho)
    {
        SolverProblem p = _p;
        double target = double.IsPositiveInfinity(PrimalF) ? d + (0.05 * Math.Max(1, Math.Abs(d))) : PrimalF;
        double norm2 = 0;
        double st = 0;
        if (p.HasSide)
        {
            st = SumG() - p.Limit;
            if (t <= 0 && st < 0)
            {
                st = 0;
            }

            norm2 += st * st;
        }

        for (int j = 0; j < p.M; j++)
        {
            double s = _load[j] - p.Capacity[j];
            if (_mu[j] <= 0 && s < 0)
            {
                s = 0;
            }

            _direction[j] = s;
            norm2 += s * s;
        }

        if (norm2 == 0)
        {
            return double.NaN;
        }

        double step = rho * Math.Max(target - d, 1e-12 * Math.Max(1, Math.Abs(d))) / norm2;
        t = Math.Max(0, t + (step * st));
        for (int j = 0; j < p.M; j++)
        {
            _mu[j] = Math.Max(0, _mu[j] + (step * _direction[j]));
        }

        return Evaluate(t);
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
        double s = 0;
        for (int i = 0; i < _p.N; i++)
        {
            s += _p.F[(_minG[i] * _p.N) + i];
        }

        PrimalF = s;
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

            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += p.F[(Assignment[i] * n) + i];
            }

            PrimalF = sum;
        }
    }
}
