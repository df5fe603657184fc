namespace Eccos.Scheduling;

/// <summary>How a <see cref="KnnPredictor"/> finds the nearest stored queries.</summary>
public enum KnnSearch
{
    /// <summary>
    /// Exact search: every stored query is compared with the query. Cost grows linearly with the history; results need
    /// no training and are exact.
    /// </summary>
    Exact = 0,

    /// <summary>
    /// Approximate search over an inverted-file index: the stored embeddings are clustered by spherical k-means into
    /// <see cref="KnnPredictorOptions.Lists"/> lists (2√n by default), and a query compares itself only with the queries of the
    /// <see cref="KnnPredictorOptions.Probes"/> lists whose centroids are most similar to it. Much faster on a large
    /// history, at the price of sometimes missing a neighbour (see docs/knn.md for the measured recall and accuracy).
    /// </summary>
    Clustered = 1,
}
