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
    private readonly PriorityQueue<Move, (int Class, double Key)> _queue;
    private double _sumF;
    private double _sumG;

    public GreedyRepair(SolverProblem p)
    {
        _p = p;
        _load = new int[p.M];
        _queue = new PriorityQueue<Move, (int, double)>(Math.Min(p.N, 1 << 16));
    }

    /// <summary>Gets Σf of the last repaired assignment.</summary>
    public double SumF => _sumF;

    /// <summary>Gets Σg of the last repaired assignment.</summary>
    public double SumG => _sumG;

    /// <summary>Gets the tolerance on the side constraint (rounding of long sums).</summary>
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

        if (_p.HasSide && _sumG > _p.Limit + SideTolerance && !FixSide(assign))
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
        for (int i = 0; i < _p.N; i++)
        {
            if (_load[assign[i]] > cap[assign[i]])
            {
                PushCapacityMove(assign, i, t);
            }
        }

        while (_queue.TryDequeue(out Move mv, out _))
        {
            int j = assign[mv.Query];
            if (_load[j] <= cap[j])
            {
                continue;
            }

            if (_load[mv.Model] >= cap[mv.Model])
            {
                PushCapacityMove(assign, mv.Query, t);
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

    private void PushCapacityMove(int[] assign, int i, double t)
    {
        int j = assign[i];
        double here = F(i, j) + (t * G(i, j));
        int bestK = -1;
        double bestPenalty = double.PositiveInfinity;
        for (int k = 0; k < _p.M; k++)
        {
            if (k == j || _load[k] >= _p.Capacity[k] || !_p.IsEligible(i, k))
            {
                continue;
            }

            double penalty = F(i, k) + (t * G(i, k)) - here;
            if (penalty < bestPenalty)
            {
                bestPenalty = penalty;
                bestK = k;
            }
        }

        if (bestK >= 0)
        {
            _queue.Enqueue(new Move(i, bestK), (0, bestPenalty));
        }
    }

    private bool FixSide(int[] assign)
    {
        _queue.Clear();
        for (int i = 0; i < _p.N; i++)
        {
            PushSideMove(assign, i);
        }

        double limit = _p.Limit + SideTolerance;
        while (_sumG > limit && _queue.TryDequeue(out Move mv, out _))
        {
            if (_load[mv.Model] >= _p.Capacity[mv.Model])
            {
                PushSideMove(assign, mv.Query);
                continue;
            }

            MoveTo(assign, mv.Query, mv.Model);
            PushSideMove(assign, mv.Query);
        }

        return _sumG <= limit;
    }

    private void PushSideMove(int[] assign, int i)
    {
        int j = assign[i];
        double fj = F(i, j);
        double gj = G(i, j);
        int bestK = -1;
        double bestRatio = double.PositiveInfinity;
        for (int k = 0; k < _p.M; k++)
        {
            if (k == j || _load[k] >= _p.Capacity[k] || !_p.IsEligible(i, k))
            {
                continue;
            }

            double saved = gj - G(i, k);
            if (saved <= 0)
            {
                continue;
            }

            double ratio = (F(i, k) - fj) / saved;
            if (ratio < bestRatio)
            {
                bestRatio = ratio;
                bestK = k;
            }
        }

        if (bestK >= 0)
        {
            _queue.Enqueue(new Move(i, bestK), (0, bestRatio));
        }
    }

    private void CutCost(int[] assign)
    {
        _queue.Clear();
        for (int i = 0; i < _p.N; i++)
        {
            PushCutMove(assign, i);
        }

        double limit = _p.HasSide ? _p.Limit + SideTolerance : double.PositiveInfinity;
        long guard = 8L * (_p.N + 1) * _p.M;
        while (guard-- > 0 && _queue.TryDequeue(out Move mv, out _))
        {
            int i = mv.Query;
            int j = assign[i];
            int k = mv.Model;
            if (_load[k] >= _p.Capacity[k] || _sumG + (G(i, k) - G(i, j)) > limit)
            {
                PushCutMove(assign, i);
                continue;
            }

            MoveTo(assign, i, k);
            PushCutMove(assign, i);
        }
    }

    private void PushCutMove(int[] assign, int i)
    {
        int j = assign[i];
        double fj = F(i, j);
        double gj = G(i, j);
        double slack = _p.HasSide ? _p.Limit + SideTolerance - _sumG : double.PositiveInfinity;
        int bestK = -1;
        (int Class, double Key) best = (2, 0);
        for (int k = 0; k < _p.M; k++)
        {
            if (k == j || _load[k] >= _p.Capacity[k] || !_p.IsEligible(i, k))
            {
                continue;
            }

            double df = F(i, k) - fj;
            if (df >= 0)
            {
                continue;
            }

            double dg = G(i, k) - gj;
            (int, double) key;
            if (dg <= 0)
            {
                key = (0, df);
            }
            else if (dg <= slack)
            {
                key = (1, df / dg);
            }
            else
            {
                continue;
            }

            if (key.CompareTo(best) < 0)
            {
                best = key;
                bestK = k;
            }
        }

        if (bestK >= 0)
        {
            _queue.Enqueue(new Move(i, bestK), best);
        }
    }

    private readonly record struct Move(int Query, int Model);
}
