namespace Eccos.Scheduling;

/// <summary>
/// Exact minimum of <c>Σ w_ij·x_ij</c> with one model per query and the capacities (a transportation problem), by
/// successive shortest paths on the M-node graph of models.
/// </summary>
/// <remarks>
/// <para>
/// Every query starts on its cheapest eligible model; prices μ_j (node potentials) start at 0. While a model holds
/// more than its capacity, a Dijkstra from the over-full models over edges <c>j → k</c> of reduced length
/// <c>min over queries i on j of (w_ik − w_ij) + μ_k − μ_j</c> finds the nearest model with room; the prices of the
/// models settled before it rise by their distance short of it, and one query moves along each edge of the path.
/// Each edge's minimum comes from a lazy heap per (j, k) keyed by <c>w_ik − w_ij</c>, which does not depend on the
/// prices. Reduced lengths stay non-negative and only full models get a positive price, so the end state is optimal
/// and the prices are optimal capacity multipliers.
/// </para>
/// <para>Cost: O(n·M·log n) to build the heaps plus O(M² + M·log n) per query moved. Requires that every query can be placed.</para>
/// </remarks>
internal static class TransportationSolver
{
    /// <summary>Solves min Σ (wf·f + wg·g) under the capacities.</summary>
    /// <param name="p">The problem; every query must be placeable within the capacities.</param>
    /// <param name="wf">Weight of f in w.</param>
    /// <param name="wg">Weight of g in w.</param>
    /// <param name="assign">Receives the optimal model per query.</param>
    /// <param name="prices">Receives the optimal capacity prices μ_j.</param>
    /// <param name="cancellationToken">Checked every few hundred moves.</param>
    /// <returns>The number of queries moved off their first choice.</returns>
    public static int Solve(SolverProblem p, double wf, double wg, int[] assign, double[] prices, CancellationToken cancellationToken) =>
        Solve(p, wf, wg, null, p.Capacity, assign, prices, cancellationToken);

    /// <summary>
    /// Solves min Σ (wf·f + wg·g) over some of the queries (the others held fixed elsewhere) within the given room per
    /// model.
    /// </summary>
    /// <param name="p">The problem.</param>
    /// <param name="wf">Weight of f in w.</param>
    /// <param name="wg">Weight of g in w.</param>
    /// <param name="queries">The queries (rows of <paramref name="p"/>) to place; <see langword="null"/> for all.</param>
    /// <param name="capacity">The room per model for these queries.</param>
    /// <param name="assign">Receives the optimal model of each of these queries (indexed by row; other rows untouched).</param>
    /// <param name="prices">Receives the optimal capacity prices μ_j of this sub-problem.</param>
    /// <param name="cancellationToken">Checked every few hundred moves.</param>
    /// <param name="warmPrices">
    /// Prices to start from (one per model), near the optimal ones: the queries start on their cheapest model at these
    /// prices, which leaves few to move; empty to start from zero prices.
    /// </param>
    /// <returns>The number of queries moved off their first choice.</returns>
    /// <exception cref="InvalidOperationException">The queries cannot all be placed within <paramref name="capacity"/>.</exception>
    public static int Solve(
        SolverProblem p,
        double wf,
        double wg,
        ReadOnlySpan<int> queries,
        int[] capacity,
        int[] assign,
        double[] prices,
        CancellationToken cancellationToken,
        ReadOnlySpan<double> warmPrices = default)
    {
        bool all = queries.IsEmpty && capacity == p.Capacity;
        int count = all ? p.N : queries.Length;
        int m = p.M;
        var load = new int[m];
        int[] list = all ? [] : queries.ToArray();
        if (warmPrices.IsEmpty)
        {
            Array.Clear(prices);
        }
        else
        {
            warmPrices.CopyTo(prices);
        }

        Start(p, wf, wg, all, count, list, prices, assign, load);
        int excess = 0;
        bool idle = false;
        for (int j = 0; j < m; j++)
        {
            excess += Math.Max(0, load[j] - capacity[j]);
            idle |= prices[j] > 0 && load[j] < capacity[j];
        }

        if (excess == 0 && !idle)
        {
            return 0;
        }

        var heaps = new EdgeHeap[m * m];
        for (int j = 0; j < m * m; j++)
        {
            heaps[j] = new EdgeHeap(Math.Max(4, load[j / m] / 2));
        }

        for (int c = 0; c < count; c++)
        {
            int i = all ? c : list[c];
            Insert(p, wf, wg, heaps, i, assign[i]);
        }

        var dist = new double[m];
        var pred = new int[m];
        var settled = new bool[m];
        int moved = 0;
        for (int step = 0; excess > 0; step++)
        {
            if ((step & 255) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            // Dijkstra from every over-full model at once (a virtual source with zero-length edges to them).
            for (int j = 0; j < m; j++)
            {
                dist[j] = load[j] > capacity[j] ? 0 : double.PositiveInfinity;
                pred[j] = -1;
                settled[j] = false;
            }

            int target = -1;
            while (true)
            {
                int u = -1;
                for (int j = 0; j < m; j++)
                {
                    if (!settled[j] && !double.IsPositiveInfinity(dist[j]) && (u < 0 || dist[j] < dist[u]))
                    {
                        u = j;
                    }
                }

                if (u < 0)
                {
                    throw new InvalidOperationException("Transportation: a query cannot be placed within the capacities.");
                }

                settled[u] = true;
                if (load[u] < capacity[u])
                {
                    target = u;
                    break;
                }

                for (int k = 0; k < m; k++)
                {
                    if (settled[k] || k == u)
                    {
                        continue;
                    }

                    EdgeHeap h = heaps[(u * m) + k];
                    h.DropStale(assign, u);
                    if (h.Count == 0)
                    {
                        continue;
                    }

                    double len = Math.Max(0, h.MinKey + prices[k] - prices[u]);
                    double d = dist[u] + len;
                    if (d < dist[k])
                    {
                        dist[k] = d;
                        pred[k] = u;
                    }
                }
            }

            double reach = dist[target];
            for (int j = 0; j < m; j++)
            {
                if (settled[j] && dist[j] < reach)
                {
                    prices[j] += reach - dist[j];
                }
            }

            load[target]++;
            int v = target;
            while (pred[v] >= 0)
            {
                int u = pred[v];
                int q = heaps[(u * m) + v].PopMin();
                assign[q] = v;
                Insert(p, wf, wg, heaps, q, v);
                moved++;
                v = u;
            }

            load[v]--;
            excess--;
        }

        return moved + LowerIdlePrices(p, wf, wg, heaps, capacity, prices, assign, load, dist, pred, settled);
    }

    /// <summary>Every query on its cheapest eligible model at <paramref name="prices"/> (ties: lowest index); fills the loads.</summary>
    private static void Start(SolverProblem p, double wf, double wg, bool all, int count, int[] list, double[] prices, int[] assign, int[] load)
    {
        Array.Clear(load);
        for (int c = 0; c < count; c++)
        {
            int i = all ? c : list[c];
            int bestJ = -1;
            double bestW = double.PositiveInfinity;
            for (int j = 0; j < p.M; j++)
            {
                if (!p.IsEligible(i, j))
                {
                    continue;
                }

                double w = W(p, wf, wg, i, j) + prices[j];
                if (bestJ < 0 || w < bestW)
                {
                    bestW = w;
                    bestJ = j;
                }
            }

            assign[i] = bestJ;
            load[bestJ]++;
        }
    }

    /// <summary>
    /// The second half of a warm start: a model with room but a positive price (which the optimum does not allow) gets
    /// its price lowered, by a shortest-path search backwards from it, until either a query moves in along a path from a
    /// model whose price falls to 0 on the way, or its own price reaches 0. The reduced lengths stay non-negative, so
    /// the prices remain valid potentials and the end state is optimal.
    /// </summary>
    /// <returns>The number of queries moved.</returns>
    private static int LowerIdlePrices(
        SolverProblem p, double wf, double wg, EdgeHeap[] heaps, int[] capacity, double[] prices, int[] assign, int[] load, double[] dist, int[] pred, bool[] settled)
    {
        int m = p.M;
        int moved = 0;
        while (true)
        {
            int k = -1;
            for (int j = 0; j < m && k < 0; j++)
            {
                if (prices[j] > 0 && load[j] < capacity[j])
                {
                    k = j;
                }
            }

            if (k < 0)
            {
                return moved;
            }

            for (int j = 0; j < m; j++)
            {
                dist[j] = double.PositiveInfinity;
                pred[j] = -1;
                settled[j] = false;
            }

            // backwards from k: dist[j] is the shortest reduced length of a chain of moves from j into k; a model at
            // dist d with price y can give up a query once the prices fall by d + y (its own price then reaches 0)
            dist[k] = 0;
            double reach = double.PositiveInfinity;
            int target = -1;
            while (true)
            {
                int u = -1;
                for (int j = 0; j < m; j++)
                {
                    if (!settled[j] && dist[j] < reach && (u < 0 || dist[j] < dist[u]))
                    {
                        u = j;
                    }
                }

                if (u < 0)
                {
                    break;
                }

                settled[u] = true;
                if (dist[u] + prices[u] < reach)
                {
                    reach = dist[u] + prices[u];
                    target = u;
                }

                for (int j = 0; j < m; j++)
                {
                    if (settled[j] || j == u)
                    {
                        continue;
                    }

                    EdgeHeap h = heaps[(j * m) + u];
                    h.DropStale(assign, j);
                    if (h.Count == 0)
                    {
                        continue;
                    }

                    double d = dist[u] + Math.Max(0, h.MinKey + prices[u] - prices[j]);
                    if (d < dist[j])
                    {
                        dist[j] = d;
                        pred[j] = u;
                    }
                }
            }

            for (int j = 0; j < m; j++)
            {
                if (settled[j] && dist[j] < reach)
                {
                    prices[j] = Math.Max(0, prices[j] - (reach - dist[j]));
                }
            }

            prices[target] = 0;
            if (target == k)
            {
                continue; // its price reached 0 first: room is allowed there now
            }

            load[target]--;
            load[k]++;
            for (int v = target; v != k; v = pred[v])
            {
                int q = heaps[(v * m) + pred[v]].PopMin();
                assign[q] = pred[v];
                Insert(p, wf, wg, heaps, q, pred[v]);
                moved++;
            }
        }
    }

    private static double W(SolverProblem p, double wf, double wg, int i, int j)
    {
        int k = (j * p.N) + i;
        return (wf == 0 ? 0 : wf * p.F[k]) + (wg == 0 ? 0 : wg * p.G[k]);
    }

    private static void Insert(SolverProblem p, double wf, double wg, EdgeHeap[] heaps, int i, int j)
    {
        int m = p.M;
        double wj = W(p, wf, wg, i, j);
        for (int k = 0; k < m; k++)
        {
            if (k != j && p.IsEligible(i, k))
            {
                heaps[(j * m) + k].Push(W(p, wf, wg, i, k) - wj, i);
            }
        }
    }

    /// <summary>A binary min-heap of (key, query) with lazy deletion of queries that left the edge's source model.</summary>
    private sealed class EdgeHeap(int capacity)
    {
        private double[] _keys = new double[capacity];
        private int[] _items = new int[capacity];

        public int Count { get; private set; }

        public double MinKey => _keys[0];

        public void Push(double key, int item)
        {
            if (Count == _keys.Length)
            {
                Array.Resize(ref _keys, _keys.Length * 2);
                Array.Resize(ref _items, _keys.Length);
            }

            int c = Count++;
            while (c > 0)
            {
                int parent = (c - 1) >> 1;
                if (_keys[parent] <= key)
                {
                    break;
                }

                _keys[c] = _keys[parent];
                _items[c] = _items[parent];
                c = parent;
            }

            _keys[c] = key;
            _items[c] = item;
        }

        public int PopMin()
        {
            int top = _items[0];
            int last = --Count;
            if (last > 0)
            {
                double key = _keys[last];
                int item = _items[last];
                int c = 0;
                while (true)
                {
                    int child = (2 * c) + 1;
                    if (child >= last)
                    {
                        break;
                    }

                    if (child + 1 < last && _keys[child + 1] < _keys[child])
                    {
                        child++;
                    }

                    if (_keys[child] >= key)
                    {
                        break;
                    }

                    _keys[c] = _keys[child];
                    _items[c] = _items[child];
                    c = child;
                }

                _keys[c] = key;
                _items[c] = item;
            }

            return top;
        }

        public void DropStale(int[] assign, int source)
        {
            while (Count > 0 && assign[_items[0]] != source)
            {
                PopMin();
            }
        }
    }
}
