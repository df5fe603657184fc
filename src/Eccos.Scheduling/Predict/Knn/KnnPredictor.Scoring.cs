using System.Buffers;

namespace Eccos.Scheduling;

/// <content>Scoring: the search over a snapshot and the aggregation of the neighbours' outcomes with the prior.</content>
public sealed partial class KnnPredictor
{
    /// <summary>Fills <paramref name="result"/> from embedded queries: the search and the aggregation, without the embedding.</summary>
    /// <param name="snapshot">The index view to search.</param>
    /// <param name="queryVectors">L2-normalized query vectors, row-major (may be empty when K or the index is 0).</param>
    /// <param name="queries">The queries (task, input tokens).</param>
    /// <param name="result">The matrix to fill; its models are the columns.</param>
    /// <param name="cancellationToken">Checked between blocks of the search.</param>
    internal void Predict(KnnSnapshot snapshot, ReadOnlySpan<float> queryVectors, IReadOnlyList<SchedulingQuery> queries, PredictionMatrix result, CancellationToken cancellationToken)
    {
        int n = queries.Count;
        int m = result.ModelCount;
        int k = queryVectors.IsEmpty ? 0 : Math.Min(_options.K, snapshot.Count);
        IReadOnlyList<ModelProfile> models = result.Models;
        KnnPriors priors = PriorsOf(snapshot);

        // Stored model index → result column (-1: not asked for), and result column → stored model (-1: never seen).
        Span<int> columnOf = snapshot.Models.Length <= 256 ? stackalloc int[snapshot.Models.Length] : new int[snapshot.Models.Length];
        columnOf.Fill(-1);
        Span<int> storedOf = m <= 256 ? stackalloc int[m] : new int[m];
        for (int c = 0; c < m; c++)
        {
            storedOf[c] = snapshot.ModelIndex.TryGetValue(models[c].Name, out int stored) ? stored : -1;
            if (storedOf[c] >= 0)
            {
                columnOf[storedOf[c]] = c;
            }
        }

        float[]? similarities = null;
        int[]? rows = null;
        if (k > 0)
        {
            similarities = ArrayPool<float>.Shared.Rent(n * k);
            rows = ArrayPool<int>.Shared.Rent(n * k);
            snapshot.Search(queryVectors, k, similarities.AsSpan(0, n * k), rows.AsSpan(0, n * k), cancellationToken);
            for (int i = 0; i < n; i++)
            {
                // Aggregate the neighbours in row order, not in the search's heap order: the same neighbours then give
                // bit-identical predictions whatever found them (exact or clustered search, any batch).
                rows.AsSpan(i * k, k).Sort(similarities.AsSpan(i * k, k));
            }
        }

        try
        {
            double beta = _options.Shrinkage;
            bool pool = _options.PoolDifficulty;
            double poolShrinkage = _options.DifficultyShrinkage;
            double exponent = _options.SimilarityExponent;
            float minSimilarity = (float)_options.MinSimilarity;
            Span<double> acc = m <= 64 ? stackalloc double[4 * m] : new double[4 * m];
            Span<double> graded = acc[..m];
            Span<double> scoreSum = acc.Slice(m, m);
            Span<double> counted = acc.Slice(2 * m, m);
            Span<double> tokenSum = acc.Slice(3 * m, m);
            for (int i = 0; i < n; i++)
            {
                SchedulingQuery query = queries[i];
                int slot = _options.UseTaskPriors && query.Task is { } task && snapshot.TaskIndex.TryGetValue(task, out int t) ? t + 1 : 0;
                acc.Clear();
                double pooledSum = 0, pooledWeight = 0;
                if (k > 0)
                {
                    Touch(snapshot, rows.AsSpan(i * k, k));
                }

                for (int nb = 0; nb < k; nb++)
                {
                    float s = similarities![(i * k) + nb];
                    if (s <= minSimilarity)
                    {
                        continue;
                    }

                    double w = exponent == 1 ? s : Math.Pow(s, exponent);
                    KnnItem item = snapshot.Item(rows![(i * k) + nb]);
                    int itemSlot = _options.UseTaskPriors && item.Task >= 0 ? item.Task + 1 : 0;
                    foreach (KnnOutcome o in item.Outcomes)
                    {
                        if (pool && !float.IsNaN(o.Score))
                        {
                            pooledSum += w * (o.Score - priors.QualityOf(itemSlot, o.Model));
                            pooledWeight += w;
                        }

                        int c = columnOf[o.Model];
                        if (c < 0)
                        {
                            continue;
                        }

                        if (!float.IsNaN(o.Score))
                        {
                            graded[c] += w;
                            scoreSum[c] += w * o.Score;
                        }

                        counted[c] += w;
                        tokenSum[c] += w * o.Tokens;
                    }
                }

                for (int c = 0; c < m; c++)
                {
                    (double priorQuality, double priorTokens) = priors.Of(slot, storedOf[c]);
                    if (pooledWeight + poolShrinkage > 0)
                    {
                        priorQuality = Math.Clamp(priorQuality + (pooledSum / (pooledWeight + poolShrinkage)), 0, 1);
                    }

                    double quality = graded[c] + beta > 0 ? (scoreSum[c] + (beta * priorQuality)) / (graded[c] + beta) : priorQuality;
                    double tokens = counted[c] + beta > 0 ? (tokenSum[c] + (beta * priorTokens)) / (counted[c] + beta) : priorTokens;
                    result.Quality[(i * m) + c] = Math.Clamp(quality, 0, 1);
                    result.OutputTokens[(i * m) + c] = Math.Max(tokens, 0);
                }
            }
        }
        finally
        {
            if (similarities is not null)
            {
                ArrayPool<float>.Shared.Return(similarities);
                ArrayPool<int>.Shared.Return(rows!);
            }
        }

        result.ComputeCosts(queries);
    }

    /// <summary>
    /// Loads every neighbour's outcomes into the cache before they are aggregated: each neighbour is a chain of
    /// dependent loads (its item, then its outcome array) that usually misses the cache. Walked in the aggregation loop,
    /// the misses come one after another; this short loop lets the processor overlap them (docs/knn.md).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int Touch(KnnSnapshot snapshot, ReadOnlySpan<int> rows)
    {
        int sink = 0;
        foreach (int row in rows)
        {
            KnnOutcome[] outcomes = snapshot.Item(row).Outcomes;
            if (outcomes.Length > 0)
            {
                sink += outcomes[^1].Model; // the array's last cache line; its header (the length) is the first
            }
        }

        return sink;
    }


    /// <summary>Returns the priors of <paramref name="snapshot"/>, computed once per snapshot and shared by concurrent predictions.</summary>
    private KnnPriors PriorsOf(KnnSnapshot snapshot)
    {
        KnnPriors? cached = Volatile.Read(ref _priors);
        if (cached is not null && ReferenceEquals(cached.Snapshot, snapshot))
        {
            return cached;
        }

        var table = new KnnPriors(snapshot, _options.PriorPseudoCount);
        Volatile.Write(ref _priors, table);
        return table;
    }

    /// <summary>
    /// The hierarchical prior (<see cref="HierarchicalPrior"/>) of one snapshot, tabulated per slot (0: no task, 1 +
    /// task) and stored model, with one more column for a model the snapshot never saw. Immutable once built.
    /// </summary>
    private sealed class KnnPriors
    {
        /// <summary>Before any answer: the neutral 0.5 and no output.</summary>
        private static readonly PriorLevel Initial = new(0.5, 0, 0);

        private readonly int _columns;
        private readonly double[] _quality;
        private readonly double[] _tokens;

        public KnnPriors(KnnSnapshot snapshot, double pseudoCount)
        {
            Snapshot = snapshot;
            PriorSums sums = snapshot.Statistics;
            int slots = sums.Tasks + 1;
            _columns = sums.Models + 1;
            _quality = new double[slots * _columns];
            _tokens = new double[slots * _columns];
            for (int slot = 0; slot < slots; slot++)
            {
                for (int c = 0; c < _columns; c++)
                {
                    int model = c < sums.Models ? c : -1;
                    PriorLevel level = HierarchicalPrior.Estimate(sums, model, slot - 1, pseudoCount, Initial).Cell;
                    _quality[(slot * _columns) + c] = level.Quality;
                    _tokens[(slot * _columns) + c] = level.Length;
                }
            }
        }

        public KnnSnapshot Snapshot { get; }

        /// <summary>Gets the prior quality of a stored model (which must exist) in a slot.</summary>
        public double QualityOf(int slot, int model) => _quality[(slot * _columns) + model];

        /// <summary>Gets the prior quality and output tokens of a stored model, or of an unseen one (-1), in a slot.</summary>
        public (double Quality, double Tokens) Of(int slot, int model)
        {
            int at = (slot * _columns) + (model < 0 ? _columns - 1 : model);
            return (_quality[at], _tokens[at]);
        }
    }
}
