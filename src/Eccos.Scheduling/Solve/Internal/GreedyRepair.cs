namespace Eccos.Scheduling;

/// <summary>
/// Turns an assignment that may break the capacities or the side constraint (typically a Lagrangian argmin) into a
/// feasible one, then spends what slack is left on cutting f.
/// </summary>
/// <remarks>
/// <list type="number">
/// <item>Capacity: queries leave over-full models by the least priced extra cost <c>Δf + t·Δg</c> to a model with
/// room (a priority queue of every query's best move, re-evaluated lazily when its target filled up).</item>
/// <item>Side constraint: while <c>Σg &gt; Limit</c>, the move with the least extra f per unit of g saved.</item>
/// <item>Slack: moves that cut f — first those that also keep or lower g, then by f saved per unit of g spent —
/// while the side constraint still holds.</item>
/// </list>
/// A step that finds no move (possible only with tight capacities or eligibility) reports failure; the caller then
/// falls back on an exact transportation solve. One instance per solve; not thread-safe.
/// </remarks>
internal sealed class GreedyRepair
{
    private readonly SolverProblem _p;
    private readonly int[] _load;
    private readonly PriorityQueue<Move, double> _queue;
    private readonly PriorityQueue<Move, double> _freeQueue;
    private readonly double[] _ratio;
    private readonly Move[] _slackMoves;
    private readonly (Move, double)[] _batch;
    private readonly double[] _fCur;
    private readonly double[] _gCur;
    private readonly double[] _key;
    private readonly double[] _target;
    private readonly bool[] _open;
    private int _batchCount = -1;
    private double _sumF;
    private double _sumG;

    public GreedyRepair(SolverProblem p)
    {
        _p = p;
        _load = new int[p.M];
        _queue = new PriorityQueue<Move, double>(Math.Min(p.N, 1 << 16));
        _freeQueue = new PriorityQueue<Move, double>(Math.Min(p.N, 1 << 16));
        _ratio = new double[p.N];
        _slackMoves = new Move[p.N];
        _batch = new (Move, double)[p.N];
        _fCur = new double[p.N];
        _gCur = new double[p.N];
        _key = new double[p.N];
        _target = new double[p.N];
        _open = new bool[p.M];
    }

    /// <summary>Gets Σf of the last repaired assignment.</summary>
    public double SumF => _sumF;

    /// <summary>Gets Σg of the last repaired assignment.</summary>
    public double SumG => _sumG;

    /// <summary>
    /// Gets the tolerance of the reachability test on the side constraint (rounding of long sums). The repair itself
    /// aims at the limit exactly; the caller checks the result in the reported arithmetic.
    /// </summary>
    public double SideTolerance => 1e-9 * Math.Max(1, Math.Abs(_p.Limit));

    /// <summary>Repairs <paramref name="assign"/> in place.</summary>
    /// <param name="assign">The assignment; every query on an eligible model.</param>
    /// <param name="t">The side multiplier that prices g in the capacity step.</param>
    /// <param name="fixCapacity">Whether to run the capacity step (false when the input already fits).</param>
    /// <returns>
    /// 0 when feasible, 1 when the capacity step got stuck, 2 when the side step got stuck (capacities then hold).
    /// </returns>
    public int Run(int[] assign, double t, bool fixCapacity = true)
    {
        Recount(assign);
        if (fixCapacity && !FixCapacity(assign, t))
        {
            return 1;
        }

        if (_p.HasSide && _sumG > _p.Limit && !FixSide(assign))
        {
            return 2;
        }

        CutCost(assign);
        return 0;
    }

    /// <summary>Spends the slack of a feasible <paramref name="assign"/> on cutting f.</summary>
    /// <param name="assign">A feasible assignment.</param>
    public void Improve(int[] assign)
    {
        Recount(assign);
        CutCost(assign);
    }

    /// <summary>Makes the single move that saves the most g per unit of f added, to a model with room.</summary>
    /// <param name="assign">The assignment, within the capacities; changed in place.</param>
    /// <returns>Whether a move was made (false when no move lowers g).</returns>
    public bool SaveStep(int[] assign)
    {
        Recount(assign);
        Gather(assign);
        MoveScan.Scan(_p, _open, _fCur, _gCur, MoveScan.Rule.SaveG, 0, _key, _target);
        int best = -1;
        for (int i = 0; i < _p.N; i++)
        {
            if (_key[i] < double.PositiveInfinity && (best < 0 || _key[i] < _key[best]))
            {
                best = i;
            }
        }

        if (best < 0)
        {
            return false;
        }

        MoveTo(assign, best, (int)_target[best]);
        return true;
    }

    private double F(int i, int j) => _p.F[(j * _p.N) + i];

    private double G(int i, int j) => _p.G[(j * _p.N) + i];

    private void Recount(int[] assign)
    {
        Array.Clear(_load);
        double sf = 0;
        double sg = 0;
        for (int i = 0; i < _p.N; i++)
        {
            int j = assign[i];
            _load[j]++;
            sf += F(i, j);
            sg += G(i, j);
        }

        _sumF = sf;
        _sumG = sg;
    }

    private void MoveTo(int[] assign, int i, int k)
    {
        int j = assign[i];
        _sumF += F(i, k) - F(i, j);
        _sumG += G(i, k) - G(i, j);
        _load[j]--;
        _load[k]++;
        assign[i] = k;
    }

    private bool FixCapacity(int[] assign, double t)
    {
        int[] cap = _p.Capacity;
        bool over = false;
        for (int j = 0; j < _p.M; j++)
        {
            over |= _load[j] > cap[j];
        }

        if (!over)
        {
            return true;
        }

        _queue.Clear();
        _batchCount = 0;
        for (int i = 0; i < _p.N; i++)
        {
            if (_load[assign[i]] > cap[assign[i]])
            {
                PushBest(assign, i, MoveScan.Rule.Priced, t, _queue);
            }
        }

        Flush(_queue);

        while (_queue.TryDequeue(out Move mv, out _))
        {
            int j = assign[mv.Query];
            if (_load[j] <= cap[j])
            {
                continue;
            }

            if (_load[mv.Model] >= cap[mv.Model])
            {
                PushBest(assign, mv.Query, MoveScan.Rule.Priced, t, _queue);
                continue;
            }

            MoveTo(assign, mv.Query, mv.Model);
        }

        for (int j = 0; j < _p.M; j++)
        {
            if (_load[j] > cap[j])
            {
                return false;
            }
        }

        return true;
    }

    private bool FixSide(int[] assign)
    {
        _queue.Clear();
        ScanAll(assign, MoveScan.Rule.SaveG, 0, _queue);

        double limit = _p.Limit;
        while (_sumG > limit && _queue.TryDequeue(out Move mv, out _))
        {
            if (_load[mv.Model] >= _p.Capacity[mv.Model])
            {
                PushBest(assign, mv.Query, MoveScan.Rule.SaveG, 0, _queue);
                continue;
            }

            MoveTo(assign, mv.Query, mv.Model);
            PushBest(assign, mv.Query, MoveScan.Rule.SaveG, 0, _queue);
        }

        return _sumG <= limit;
    }

    private void CutCost(int[] assign)
    {
        // 1. moves that cut f and do not raise g: always taken, best cut first
        _freeQueue.Clear();
        ScanAll(assign, MoveScan.Rule.FreeCut, 0, _freeQueue);

        while (_freeQueue.TryDequeue(out Move mv, out _))
        {
            int i = mv.Query;
            if (_load[mv.Model] < _p.Capacity[mv.Model])
            {
                MoveTo(assign, i, mv.Model);
            }

            PushBest(assign, i, MoveScan.Rule.FreeCut, 0, _freeQueue);
        }

        // 2. moves that cut f by spending slack, best cut per unit of g first; slack only shrinks, so one pass
        if (!_p.HasSide)
        {
            return;
        }

        double limit = _p.Limit;
        Gather(assign);
        MoveScan.Scan(_p, _open, _fCur, _gCur, MoveScan.Rule.SlackCut, limit - _sumG, _key, _target);
        int count = 0;
        for (int i = 0; i < _p.N; i++)
        {
            if (_key[i] < 0)
            {
                _ratio[count] = _key[i];
                _slackMoves[count++] = new Move(i, (int)_target[i]);
            }
        }

        Array.Sort(_ratio, _slackMoves, 0, count);
        for (int c = 0; c < count; c++)
        {
            (int i, int k) = _slackMoves[c];
            if (_load[k] < _p.Capacity[k] && _sumG + (G(i, k) - G(i, assign[i])) <= limit)
            {
                MoveTo(assign, i, k);
            }
        }
    }

    /// <summary>Queues query <paramref name="i"/>'s best move by <paramref name="rule"/> to a model with room, if any.</summary>
    private void PushBest(int[] assign, int i, MoveScan.Rule rule, double parameter, PriorityQueue<Move, double> queue)
    {
        int j = assign[i];
        double fj = F(i, j);
        double gj = G(i, j);
        int bestK = -1;
        double bestKey = double.PositiveInfinity;
        for (int k = 0; k < _p.M; k++)
        {
            if (k == j || _load[k] >= _p.Capacity[k])
            {
                continue;
            }

            double key = MoveScan.Key(rule, F(i, k) - fj, G(i, k) - gj, parameter); // +∞ when ineligible
            if (key < bestKey)
            {
                bestKey = key;
                bestK = k;
            }
        }

        if (bestK >= 0)
        {
            Add(queue, new Move(i, bestK), bestKey);
        }
    }

    /// <summary>Refreshes f and g of every query's current model and which models have room.</summary>
    private void Gather(int[] assign)
    {
        int n = _p.N;
        for (int i = 0; i < n; i++)
        {
            int k = (assign[i] * n) + i;
            _fCur[i] = _p.F[k];
            _gCur[i] = _p.G[k];
        }

        for (int j = 0; j < _p.M; j++)
        {
            _open[j] = _load[j] < _p.Capacity[j];
        }
    }

    /// <summary>Scans every query's best move by <paramref name="rule"/> and queues those that exist, in one batch.</summary>
    private void ScanAll(int[] assign, MoveScan.Rule rule, double slack, PriorityQueue<Move, double> queue)
    {
        Gather(assign);
        MoveScan.Scan(_p, _open, _fCur, _gCur, rule, slack, _key, _target);
        int count = 0;
        for (int i = 0; i < _p.N; i++)
        {
            if (_key[i] < double.PositiveInfinity)
            {
                _batch[count++] = (new Move(i, (int)_target[i]), _key[i]);
            }
        }

        queue.EnqueueRange(new ArraySegment<(Move, double)>(_batch, 0, count));
    }

    /// <summary>Queues a move, or collects it while a scan fills the queue in one batch.</summary>
    private void Add(PriorityQueue<Move, double> queue, Move move, double key)
    {
        if (_batchCount >= 0)
        {
            _batch[_batchCount++] = (move, key);
        }
        else
        {
            queue.Enqueue(move, key);
        }
    }

    /// <summary>Moves the collected batch into the (empty) queue, which then heapifies it in linear time.</summary>
    private void Flush(PriorityQueue<Move, double> queue)
    {
        queue.EnqueueRange(new ArraySegment<(Move, double)>(_batch, 0, _batchCount));
        _batchCount = -1;
    }

    private readonly record struct Move(int Query, int Model);
}
