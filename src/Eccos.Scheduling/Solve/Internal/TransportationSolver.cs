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
    public static int Solve(SolverProblem p, double wf, double wg, int[] assign, double[] prices, CancellationToken cancellationToken)
    {
        int n = p.N;
        int m = p.M;
        var load = new int[m];
        Array.Clear(prices);
        for (int i = 0; i < n; i++)
        {
            int bestJ = -1;
            double bestW = double.PositiveInfinity;
            for (int j = 0; j < m; j++)
            {
                if (!p.IsEligible(i, j))
                {
                    continue;
                }

                double w = W(p, wf, wg, i, j);
                if (bestJ < 0 || w < bestW)
                {
                    bestW = w;
                    bestJ = j;
                }
            }

            assign[i] = bestJ;
            load[bestJ]++;
        }

        int excess = 0;
        for (int j = 0; j < m; j++)
        {
            excess += Math.Max(0, load[j] - p.Capacity[j]);
        }

        if (excess == 0)
        {
            return 0;
        }

        var heaps = new EdgeHeap[m * m];
        for (int j = 0; j < m * m; j++)
        {
            heaps[j] = new EdgeHeap(Math.Max(4, load[j / m] / 2));
        }

        for (int i = 0; i < n; i++)
        {
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
                dist[j] = load[j] > p.Capacity[j] ? 0 : double.PositiveInfinity;
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
                if (load[u] < p.Capacity[u])
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

        return moved;
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
