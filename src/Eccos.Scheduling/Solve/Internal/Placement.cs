namespace Eccos.Scheduling;

/// <summary>
/// How many queries the capacities can take at all, given eligibility: a maximum flow from groups of queries with the
/// same eligible models to the models. Used to detect a capacity shortfall and to choose what to defer.
/// </summary>
internal sealed class Placement
{
    private Placement(int placeable, int[] groupOf, int[] groupPlaced)
    {
        Placeable = placeable;
        GroupOf = groupOf;
        GroupPlaced = groupPlaced;
    }

    /// <summary>Gets the most queries that can be placed.</summary>
    public int Placeable { get; }

    /// <summary>Gets the eligibility group of every query.</summary>
    public int[] GroupOf { get; }

    /// <summary>Gets, per group, how many of its queries a maximum placement places.</summary>
    public int[] GroupPlaced { get; }

    /// <summary>Computes the maximum placement.</summary>
    /// <param name="predictions">The predictions (eligibility).</param>
    /// <param name="capacities">The resolved capacities.</param>
    public static Placement Compute(PredictionMatrix predictions, ReadOnlySpan<int> capacities)
    {
        int n = predictions.QueryCount;
        int m = predictions.ModelCount;
        long totalCap = 0;
        for (int j = 0; j < m; j++)
        {
            totalCap += Math.Min(capacities[j], n);
        }

        if (!predictions.Eligible.Contains(false))
        {
            // one group: every query may go anywhere
            int all = (int)Math.Min(n, totalCap);
            return new Placement(all, new int[n], [all]);
        }

        bool[] eligible = predictions.Eligible.ToArray();
        var groupOf = new int[n];
        var first = new List<int>();
        var size = new List<int>();
        if (m <= 64)
        {
            // group by the eligibility bit mask
            var groups = new Dictionary<ulong, int>();
            for (int i = 0; i < n; i++)
            {
                ulong mask = 0;
                int row = i * m;
                for (int j = 0; j < m; j++)
                {
                    mask |= eligible[row + j] ? 1UL << j : 0;
                }

                Join(groups, mask, i, groupOf, first, size);
            }
        }
        else
        {
            var groups = new Dictionary<int, int>(new RowComparer(eligible, m));
            for (int i = 0; i < n; i++)
            {
                Join(groups, i, i, groupOf, first, size);
            }
        }

        int gc = first.Count;
        var placed = new int[gc];

        // nodes: 0 source, 1..gc groups, gc+1..gc+m models, gc+m+1 sink
        var flow = new MaxFlow(gc + m + 2);
        int source = 0;
        int sink = gc + m + 1;
        var groupEdge = new int[gc];
        for (int gi = 0; gi < gc; gi++)
        {
            groupEdge[gi] = flow.AddEdge(source, 1 + gi, size[gi]);
            int row = first[gi] * m;
            for (int j = 0; j < m; j++)
            {
                if (eligible[row + j])
                {
                    flow.AddEdge(1 + gi, 1 + gc + j, size[gi]);
                }
            }
        }

        for (int j = 0; j < m; j++)
        {
            flow.AddEdge(1 + gc + j, sink, Math.Min(capacities[j], n));
        }

        int total = flow.Run(source, sink);
        for (int gi = 0; gi < gc; gi++)
        {
            placed[gi] = flow.Flow(groupEdge[gi]);
        }

        return new Placement(total, groupOf, placed);
    }

    /// <summary>
    /// Chooses the queries to defer: per group, those not placed by the maximum placement, taking first the ones with
    /// the highest <paramref name="priority"/>.
    /// </summary>
    /// <param name="priority">Per query, how much deferring it is preferred.</param>
    /// <returns>The queries to keep, ascending.</returns>
    public int[] ChooseKept(ReadOnlySpan<double> priority)
    {
        int n = GroupOf.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        double[] pr = priority.ToArray();

        // ascending priority: the first ones of each group are kept
        Array.Sort(order, (x, y) => pr[x] != pr[y] ? pr[x].CompareTo(pr[y]) : x.CompareTo(y));
        var left = (int[])GroupPlaced.Clone();
        var keep = new List<int>(Placeable);
        foreach (int i in order)
        {
            if (left[GroupOf[i]] > 0)
            {
                left[GroupOf[i]]--;
                keep.Add(i);
            }
        }

        keep.Sort();
        return [.. keep];
    }

    /// <summary>Puts query <paramref name="i"/> into the group of <paramref name="key"/>, opening it if new.</summary>
    private static void Join<TKey>(Dictionary<TKey, int> groups, TKey key, int i, int[] groupOf, List<int> first, List<int> size)
        where TKey : notnull
    {
        if (!groups.TryGetValue(key, out int gid))
        {
            gid = groups.Count;
            groups.Add(key, gid);
            first.Add(i);
            size.Add(0);
        }

        groupOf[i] = gid;
        size[gid]++;
    }

    private sealed class RowComparer(bool[] eligible, int m) : IEqualityComparer<int>
    {
        public bool Equals(int x, int y) => eligible.AsSpan(x * m, m).SequenceEqual(eligible.AsSpan(y * m, m));

        public int GetHashCode(int obj)
        {
            var h = default(HashCode);
            ReadOnlySpan<bool> row = eligible.AsSpan(obj * m, m);
            for (int j = 0; j < row.Length; j++)
            {
                if (row[j])
                {
                    h.Add(j);
                }
            }

            return h.ToHashCode();
        }
    }

    /// <summary>Dinic's maximum flow on an adjacency list with paired reverse edges.</summary>
    private sealed class MaxFlow(int nodes)
    {
        private readonly List<int>[] _adj = Enumerable.Range(0, nodes).Select(_ => new List<int>()).ToArray();
        private readonly List<int> _to = [];
        private readonly List<int> _cap = [];
        private readonly List<int> _original = [];

        public int AddEdge(int from, int to, int capacity)
        {
            int id = _to.Count;
            _adj[from].Add(id);
            _to.Add(to);
            _cap.Add(capacity);
            _original.Add(capacity);
            _adj[to].Add(id + 1);
            _to.Add(from);
            _cap.Add(0);
            _original.Add(0);
            return id;
        }

        public int Flow(int edge) => _original[edge] - _cap[edge];

        public int Run(int s, int t)
        {
            int total = 0;
            var level = new int[_adj.Length];
            var next = new int[_adj.Length];
            var queue = new Queue<int>();
            while (true)
            {
                Array.Fill(level, -1);
                level[s] = 0;
                queue.Enqueue(s);
                while (queue.TryDequeue(out int u))
                {
                    foreach (int e in _adj[u])
                    {
                        if (_cap[e] > 0 && level[_to[e]] < 0)
                        {
                            level[_to[e]] = level[u] + 1;
                            queue.Enqueue(_to[e]);
                        }
                    }
                }

                if (level[t] < 0)
                {
                    return total;
                }

                Array.Clear(next);
                int pushed;
                while ((pushed = Push(s, t, int.MaxValue, level, next)) > 0)
                {
                    total += pushed;
                }
            }
        }

        private int Push(int u, int t, int limit, int[] level, int[] next)
        {
            if (u == t)
            {
                return limit;
            }

            for (; next[u] < _adj[u].Count; next[u]++)
            {
                int e = _adj[u][next[u]];
                int v = _to[e];
                if (_cap[e] <= 0 || level[v] != level[u] + 1)
                {
                    continue;
                }

                int pushed = Push(v, t, Math.Min(limit, _cap[e]), level, next);
                if (pushed > 0)
                {
                    _cap[e] -= pushed;
                    _cap[e ^ 1] += pushed;
                    return pushed;
                }
            }

            return 0;
        }
    }
}
