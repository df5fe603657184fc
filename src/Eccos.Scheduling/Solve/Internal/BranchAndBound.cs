namespace Eccos.Scheduling;

/// <summary>
/// Depth-first branch and bound over the choices of a set of queries, the others held fixed: minimizes Σf (or Σg)
/// subject to the residual capacities and the residual side limit.
/// </summary>
/// <remarks>
/// <para>
/// Bounds at depth d: the side constraint is dropped if <c>curG + Σ_{q≥d} min g &gt; limit</c>; the objective uses
/// the Lagrangian bound <c>curF + Σ_{q≥d} min_o (f_o + t·g_o) − t·(limit − curG)</c> for every t in a small set of
/// multipliers (t = 0 is the plain sum of minima). Both ignore capacities, which keeps them valid. Options are tried
/// in order of their priced cost so good incumbents come early.
/// </para>
/// <para>An option of <see cref="AssignmentResult.DeferredModel"/> defers the query (f = g = 0), at most <c>maxDeferred</c> times.</para>
/// </remarks>
internal sealed class BranchAndBound
{
    private readonly SolverProblem _p;
    private readonly int[] _queries;
    private readonly int[][] _options;
    private readonly int[] _residual;
    private readonly double _limit;
    private readonly bool _minimizeG;
    private readonly int _maxDeferred;
    private readonly long _nodeLimit;
    private readonly double[] _multipliers;
    private readonly double[][] _prices;
    private readonly double[] _priceResidual;
    private readonly double[][] _suffixPriced;
    private readonly double[] _suffixMinG;
    private readonly int[] _current;
    private readonly CancellationToken _cancellationToken;
    private int _deferred;

    /// <summary>Initializes a search.</summary>
    /// <param name="p">The problem.</param>
    /// <param name="queries">The queries to branch on, in branching order.</param>
    /// <param name="options">Per query (same order), the models to try; may contain <see cref="AssignmentResult.DeferredModel"/>.</param>
    /// <param name="residual">Room left on every model once the fixed queries are placed; copied.</param>
    /// <param name="limit">The side limit left for these queries (+∞ for none).</param>
    /// <param name="minimizeG">Minimize Σg and ignore the side limit, instead of minimizing Σf within it.</param>
    /// <param name="maxDeferred">How many queries may be deferred.</param>
    /// <param name="nodeLimit">Stop after this many nodes (the result is then not proven).</param>
    /// <param name="multipliers">Side multipliers t for the bounds, each ≥ 0 (t = 0 is always added).</param>
    /// <param name="prices">Capacity multipliers μ for the bounds (each ≥ 0, one per model), paired with <paramref name="multipliers"/>; null for none.</param>
    /// <param name="cancellationToken">Checked every 4096 nodes.</param>
    public BranchAndBound(
        SolverProblem p,
        int[] queries,
        int[][] options,
        int[] residual,
        double limit,
        bool minimizeG,
        int maxDeferred,
        long nodeLimit,
        ReadOnlySpan<double> multipliers,
        double[]? prices,
        CancellationToken cancellationToken)
    {
        _p = p;
        _queries = queries;
        _options = options;
        _residual = (int[])residual.Clone();
        _limit = limit;
        _minimizeG = minimizeG;
        _maxDeferred = maxDeferred;
        _nodeLimit = nodeLimit;
        _cancellationToken = cancellationToken;
        bool sideBound = !minimizeG && !double.IsPositiveInfinity(limit);
        _multipliers = sideBound ? [0.0, .. multipliers] : [0.0];
        _prices = new double[_multipliers.Length][];
        _priceResidual = new double[_multipliers.Length];
        var zero = new double[p.M];
        for (int b = 0; b < _multipliers.Length; b++)
        {
            _prices[b] = b > 0 && prices is not null ? prices : zero;
            for (int j = 0; j < p.M; j++)
            {
                _priceResidual[b] += _prices[b][j] * _residual[j];
            }
        }

        if (!sideBound && prices is not null && !minimizeG)
        {
            // no side constraint: still use the capacity prices, at t = 0
            _multipliers = [0.0, 0.0];
            _prices = [zero, prices];
            _priceResidual = [0, 0];
            for (int j = 0; j < p.M; j++)
            {
                _priceResidual[1] += prices[j] * _residual[j];
            }
        }

        int k = queries.Length;
        _suffixPriced = new double[_multipliers.Length][];
        _suffixMinG = new double[k + 1];
        for (int b = 0; b < _multipliers.Length; b++)
        {
            _suffixPriced[b] = new double[k + 1];
        }

        for (int d = k - 1; d >= 0; d--)
        {
            double minG = double.PositiveInfinity;
            for (int b = 0; b < _multipliers.Length; b++)
            {
                double t = _multipliers[b];
                double min = double.PositiveInfinity;
                foreach (int o in options[d])
                {
                    double price = o < 0 ? 0 : _prices[b][o];
                    min = Math.Min(min, Objective(d, o) + (_minimizeG ? 0 : (t * G(d, o)) + price));
                }

                _suffixPriced[b][d] = _suffixPriced[b][d + 1] + min;
            }

            foreach (int o in options[d])
            {
                minG = Math.Min(minG, G(d, o));
            }

            _suffixMinG[d] = _suffixMinG[d + 1] + minG;
        }

        _current = new int[k];
        Best = new int[k];
        BestValue = double.PositiveInfinity;
    }

    /// <summary>Gets the best choice per query found (valid when <see cref="BestValue"/> is finite).</summary>
    public int[] Best { get; }

    /// <summary>Gets the objective of <see cref="Best"/> over these queries; +∞ when none was found.</summary>
    public double BestValue { get; private set; }

    /// <summary>Gets the nodes visited.</summary>
    public long Nodes { get; private set; }

    /// <summary>Gets a value indicating whether the search finished (so <see cref="Best"/> is optimal).</summary>
    public bool Complete => Nodes <= _nodeLimit;

    /// <summary>Sets an incumbent; the search then looks only for strictly better ones.</summary>
    /// <param name="choice">Per query, the model of the incumbent.</param>
    public void SetIncumbent(int[] choice)
    {
        double value = 0;
        for (int d = 0; d < choice.Length; d++)
        {
            value += Objective(d, choice[d]);
        }

        choice.CopyTo(Best, 0);
        BestValue = value;
    }

    /// <summary>Runs the search.</summary>
    public void Run()
    {
        Nodes = 0;
        _deferred = 0;
        Search(0, 0, 0);
    }

    private double Objective(int d, int o) => o < 0 ? 0 : _minimizeG ? _p.G[(o * _p.N) + _queries[d]] : _p.F[(o * _p.N) + _queries[d]];

    private double G(int d, int o) => o < 0 ? 0 : _p.G[(o * _p.N) + _queries[d]];

    private void Search(int d, double curObj, double curG)
    {
        if (++Nodes > _nodeLimit)
        {
            return;
        }

        if ((Nodes & 4095) == 0)
        {
            _cancellationToken.ThrowIfCancellationRequested();
        }

        double tolerance = double.IsPositiveInfinity(BestValue) ? 0 : 1e-12 * Math.Max(1, Math.Abs(BestValue));
        bool side = !_minimizeG && !double.IsPositiveInfinity(_limit);
        if (side && curG + _suffixMinG[d] > _limit + (1e-9 * Math.Max(1, Math.Abs(_limit))))
        {
            return;
        }

        if (d == _queries.Length)
        {
            if (curObj < BestValue - tolerance)
            {
                BestValue = curObj;
                _current.CopyTo(Best, 0);
            }

            return;
        }

        double bound = curObj + _suffixPriced[0][d] - _priceResidual[0];
        for (int b = 1; b < _multipliers.Length; b++)
        {
            double slack = _multipliers[b] == 0 ? 0 : _multipliers[b] * (_limit - curG);
            bound = Math.Max(bound, curObj + _suffixPriced[b][d] - slack - _priceResidual[b]);
        }

        if (bound >= BestValue - tolerance)
        {
            return;
        }

        foreach (int o in _options[d])
        {
            if (o < 0)
            {
                if (_deferred >= _maxDeferred)
                {
                    continue;
                }

                _deferred++;
                _current[d] = o;
                Search(d + 1, curObj, curG);
                _deferred--;
                continue;
            }

            if (_residual[o] <= 0)
            {
                continue;
            }

            _residual[o]--;
            for (int b = 0; b < _prices.Length; b++)
            {
                _priceResidual[b] -= _prices[b][o];
            }

            _current[d] = o;
            Search(d + 1, curObj + Objective(d, o), curG + G(d, o));
            _residual[o]++;
            for (int b = 0; b < _prices.Length; b++)
            {
                _priceResidual[b] += _prices[b][o];
            }
        }
    }
}
