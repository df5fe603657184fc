namespace Eccos.Scheduling;

/// <summary>Options of a <see cref="KnnPredictor"/>. How the defaults were chosen: docs/knn.md.</summary>
/// <remarks>
/// A plain mutable object, not thread-safe. The predictor validates and copies it when created or loaded, so changing
/// it afterwards does not affect that predictor.
/// </remarks>
public sealed class KnnPredictorOptions
{
    /// <summary>
    /// Gets or sets the number of nearest neighbours each query looks at. 0 turns the retrieval off: predictions are
    /// the (per-task) priors alone. Default: 32.
    /// </summary>
    public int K { get; set; } = 32;

    /// <summary>
    /// Gets or sets the weight of the prior in the neighbour average, in units of one neighbour at similarity 1:
    /// a = (Σ w·score + Shrinkage·prior) / (Σ w + Shrinkage), where the sums run over the neighbours that have a
    /// graded output of the model. Predicted output tokens shrink the same way. 0 means no shrinkage (the prior is
    /// used only when no neighbour has the model). Default: 16.
    /// </summary>
    public double Shrinkage { get; set; } = 16;

    /// <summary>
    /// Gets or sets the pseudo-count of the hierarchical prior: a model's overall success rate (and mean output
    /// length) shrinks toward the mean over models with this many virtual records, and its rate within a task toward
    /// its overall rate. Default: 10.
    /// </summary>
    public double PriorPseudoCount { get; set; } = 10;

    /// <summary>
    /// Gets or sets a value indicating whether a query with a <see cref="SchedulingQuery.Task"/> tag seen in the
    /// history shrinks toward each model's rate within that task rather than its overall rate. Default: <see langword="true"/>.
    /// </summary>
    public bool UseTaskPriors { get; set; } = true;

    /// <summary>
    /// Gets or sets the exponent p of the neighbour weight w = similarity^p: above 1 sharpens the weighting toward the
    /// closest neighbours. Default: 1.
    /// </summary>
    public double SimilarityExponent { get; set; } = 1;

    /// <summary>
    /// Gets or sets the cosine similarity at or below which a neighbour carries no weight. Must lie in [-1, 1).
    /// Default: 0 (neighbours pointing away from the query never count).
    /// </summary>
    public double MinSimilarity { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the neighbours' results for every model give the query a difficulty
    /// that shifts each model's prior before the per-model shrinkage: the similarity-weighted mean, over all graded
    /// outputs of the neighbours (any model), of score − that model's prior for the neighbour's task, shrunk by
    /// <see cref="DifficultyShrinkage"/>. A model then borrows evidence from the other models' results on similar
    /// queries. Default: <see langword="true"/>.
    /// </summary>
    public bool PoolDifficulty { get; set; } = true;

    /// <summary>
    /// Gets or sets the shrinkage of the pooled difficulty toward 0, in units of one graded output of a neighbour at
    /// similarity 1. Default: 8.
    /// </summary>
    public double DifficultyShrinkage { get; set; } = 8;

    /// <summary>
    /// Gets or sets how many texts go to the embedding generator per call when building or extending the index.
    /// (A <see cref="KnnPredictor.PredictAsync"/> batch is always embedded in one call.) Default: 256.
    /// </summary>
    public int EmbeddingBatchSize { get; set; } = 256;

    /// <summary>
    /// Gets or sets how the nearest neighbours are found: <see cref="KnnSearch.Exact"/> compares the query with every
    /// stored query; <see cref="KnnSearch.Clustered"/> searches only the <see cref="Probes"/> most similar of
    /// <see cref="Lists"/> clusters (an inverted-file index), for low latency on a large history. Default:
    /// <see cref="KnnSearch.Exact"/> (predictions that do not depend on when the index was clustered). What the
    /// clustered search costs in accuracy is measured in docs/knn.md.
    /// </summary>
    /// <remarks>
    /// With <see cref="KnnSearch.Clustered"/>, the index is clustered once it holds 256 queries (below that, search is
    /// exact) and re-clustered in the background whenever it has doubled since the last clustering; queries added in
    /// between go to the list of their nearest centroid. Clustering is seeded, so the same history gives the same
    /// index.
    /// </remarks>
    public KnnSearch Search { get; set; } = KnnSearch.Exact;

    /// <summary>
    /// Gets or sets the number of clusters (inverted lists) of a <see cref="KnnSearch.Clustered"/> index; 0 chooses
    /// 2√n for n stored queries at each clustering (200 lists of about 50 queries at 10,000). A clustering never makes
    /// more lists than one per 8 stored queries. Ignored by <see cref="KnnSearch.Exact"/>. Default: 0 (2√n).
    /// </summary>
    public int Lists { get; set; }

    /// <summary>
    /// Gets or sets how many lists of a <see cref="KnnSearch.Clustered"/> index a query searches: those whose centroids
    /// are most similar to it (more when they hold fewer than <see cref="K"/> queries). Probes equal to the number of
    /// lists give exactly the exact search. The search cost grows linearly with it (8 probes of 2√n lists compare a
    /// query with about 4√n stored queries: 400 of 10,000). Ignored by <see cref="KnnSearch.Exact"/>. Default: 8.
    /// </summary>
    public int Probes { get; set; } = 8;

    internal KnnPredictorOptions Validated()
    {
        const string Name = "options";
        if (K < 0)
        {
            throw new ArgumentOutOfRangeException(Name, K, "KnnPredictorOptions.K must not be negative.");
        }

        if (!double.IsFinite(Shrinkage) || Shrinkage < 0)
        {
            throw new ArgumentOutOfRangeException(Name, Shrinkage, "KnnPredictorOptions.Shrinkage must be a finite, non-negative number.");
        }

        if (!double.IsFinite(PriorPseudoCount) || PriorPseudoCount < 0)
        {
            throw new ArgumentOutOfRangeException(Name, PriorPseudoCount, "KnnPredictorOptions.PriorPseudoCount must be a finite, non-negative number.");
        }

        if (!double.IsFinite(SimilarityExponent) || SimilarityExponent <= 0)
        {
            throw new ArgumentOutOfRangeException(Name, SimilarityExponent, "KnnPredictorOptions.SimilarityExponent must be a finite, positive number.");
        }

        if (!(MinSimilarity >= -1 && MinSimilarity < 1))
        {
            throw new ArgumentOutOfRangeException(Name, MinSimilarity, "KnnPredictorOptions.MinSimilarity must lie in [-1, 1).");
        }

        if (!double.IsFinite(DifficultyShrinkage) || DifficultyShrinkage < 0)
        {
            throw new ArgumentOutOfRangeException(Name, DifficultyShrinkage, "KnnPredictorOptions.DifficultyShrinkage must be a finite, non-negative number.");
        }

        if (EmbeddingBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(Name, EmbeddingBatchSize, "KnnPredictorOptions.EmbeddingBatchSize must be at least 1.");
        }

        if (!Enum.IsDefined(Search))
        {
            throw new ArgumentOutOfRangeException(Name, Search, "KnnPredictorOptions.Search must be KnnSearch.Exact or KnnSearch.Clustered.");
        }

        if (Lists < 0)
        {
            throw new ArgumentOutOfRangeException(Name, Lists, "KnnPredictorOptions.Lists must not be negative (0 chooses √n).");
        }

        if (Probes < 1)
        {
            throw new ArgumentOutOfRangeException(Name, Probes, "KnnPredictorOptions.Probes must be at least 1.");
        }

        return new KnnPredictorOptions
        {
            Search = Search,
            Lists = Lists,
            Probes = Probes,
            K = K,
            Shrinkage = Shrinkage,
            PriorPseudoCount = PriorPseudoCount,
            UseTaskPriors = UseTaskPriors,
            SimilarityExponent = SimilarityExponent,
            MinSimilarity = MinSimilarity,
            PoolDifficulty = PoolDifficulty,
            DifficultyShrinkage = DifficultyShrinkage,
            EmbeddingBatchSize = EmbeddingBatchSize,
        };
    }
}
