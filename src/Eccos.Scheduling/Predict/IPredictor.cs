namespace Eccos.Scheduling;

/// <summary>
/// Predicts, for each query of a batch and each model of the pool, the probability that the model answers the query
/// well and how long its answer will be — hence what it costs.
/// </summary>
/// <remarks>
/// Implementations must be safe to call from several threads at once. A model the predictor has never seen must get a
/// prior prediction, not an exception. The returned matrix belongs to the caller.
/// </remarks>
public interface IPredictor
{
    /// <summary>Predicts quality, output length and cost for every (query, model) pair.</summary>
    /// <param name="queries">The batch of queries; may be empty.</param>
    /// <param name="models">The models to predict for, in the column order of the result.</param>
    /// <param name="cancellationToken">Cancels the prediction.</param>
    /// <returns>A <see cref="PredictionMatrix"/> with one row per query and one column per model.</returns>
    ValueTask<PredictionMatrix> PredictAsync(
        IReadOnlyList<SchedulingQuery> queries,
        IReadOnlyList<ModelProfile> models,
        CancellationToken cancellationToken = default);
}
