using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.ML;

/// <summary>Attaches the ML.NET predictor to recorded outcomes.</summary>
public static class MlPredictorExtensions
{
    /// <summary>Trains an <see cref="MlPredictor"/> on these outcomes (no embeddings).</summary>
    /// <param name="training">The recorded outcomes.</param>
    /// <param name="models">The models to learn.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels training.</param>
    /// <returns>The trained predictor.</returns>
    /// <exception cref="ArgumentException">Bad records, models or options (see <see cref="MlPredictorTrainer.Fit"/>).</exception>
    public static MlPredictor TrainMlPredictor(
        this IEnumerable<OutcomeRecord> training,
        IReadOnlyList<ModelProfile> models,
        MlPredictorOptions? options = null,
        CancellationToken cancellationToken = default) =>
        new MlPredictorTrainer(options).Fit(training, models, cancellationToken);

    /// <summary>Trains an <see cref="MlPredictor"/> on these outcomes, with embeddings from <paramref name="embeddingGenerator"/>.</summary>
    /// <param name="training">The recorded outcomes.</param>
    /// <param name="models">The models to learn.</param>
    /// <param name="embeddingGenerator">The embedding generator; the predictor keeps using it to predict.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels embedding and training.</param>
    /// <returns>The trained predictor.</returns>
    /// <exception cref="ArgumentException">Bad records, models or options (see <see cref="MlPredictorTrainer.FitAsync"/>).</exception>
    public static Task<MlPredictor> TrainMlPredictorAsync(
        this IEnumerable<OutcomeRecord> training,
        IReadOnlyList<ModelProfile> models,
        IEmbeddingGenerator<string, Embedding<float>> embeddingGenerator,
        MlPredictorOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddingGenerator);
        return new MlPredictorTrainer(options, embeddingGenerator).FitAsync(training, models, cancellationToken);
    }

    /// <summary>Makes <paramref name="loader"/> load saved <see cref="MlPredictor"/>s (alone or as components of a hybrid or calibrated predictor).</summary>
    /// <param name="loader">The loader; its <see cref="PredictorLoader.EmbeddingGenerator"/> is given to predictors trained with embeddings.</param>
    /// <returns>The loader.</returns>
    public static PredictorLoader AddMlPredictor(this PredictorLoader loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        return loader.Register(MlPredictor.SavedKind, static (stream, l) => MlPredictor.Load(stream, l.EmbeddingGenerator));
    }
}
