using Eccos.Scheduling.ML;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Cli;

/// <summary>
/// Fits the library's predictors for one <c>eccos evaluate</c> run, each at most once: the hybrid reuses the kNN, ML
/// and task-prior predictors that are also evaluated on their own.
/// </summary>
/// <remarks>
/// Fits are remembered per run (keyed by the run's training records) and per embedder. The evaluator fits predictors
/// one after the other; the cache is still safe to use from several threads.
/// </remarks>
internal sealed class StandardPredictors(IReadOnlyDictionary<string, Func<PredictorFitContext, EmbedderChoice, IEmbeddingGenerator<string, Embedding<float>>>> embedders)
{
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<IReadOnlyList<OutcomeRecord>, Dictionary<string, Task<IPredictor>>> _runs = [];

    public ValueTask<IPredictor> TaskPriorAsync(PredictorFitContext context) =>
        new(Once(context, "task-prior", () => Task.FromResult<IPredictor>(TaskPriorPredictor.Fit(context.Train))));

    public ValueTask<IPredictor> KnnAsync(PredictorFitContext context, EmbedderChoice embedder, CancellationToken cancellationToken) =>
        new(Once(context, "knn:" + embedder.Name, async () =>
        {
            IEmbeddingGenerator<string, Embedding<float>> generator = context.MeasureEmbedding(embedders[embedder.Name](context, embedder), embedder.Name);
            return await KnnPredictor.CreateAsync(context.Train, generator, cancellationToken: cancellationToken).ConfigureAwait(false);
        }));

    public ValueTask<IPredictor> MlAsync(PredictorFitContext context, CancellationToken cancellationToken) =>
        new(Once(context, "ml", () => Task.Run<IPredictor>(
            () => new MlPredictorTrainer(new MlPredictorOptions { Seed = context.Seed }).Fit(context.Train, context.Catalog.Models, cancellationToken),
            cancellationToken)));

    public ValueTask<IPredictor> HybridAsync(PredictorFitContext context, EmbedderChoice embedder, CancellationToken cancellationToken) =>
        new(Once(context, "hybrid:" + embedder.Name, async () =>
        {
            IPredictor knn = await KnnAsync(context, embedder, cancellationToken).ConfigureAwait(false);
            IPredictor ml = await MlAsync(context, cancellationToken).ConfigureAwait(false);
            IPredictor prior = await TaskPriorAsync(context).ConfigureAwait(false);
            return await HybridPredictor.FitAsync([knn, ml, prior], context.Validation, context.Catalog.Models, cancellationToken: cancellationToken).ConfigureAwait(false);
        }));

    private Task<IPredictor> Once(PredictorFitContext context, string key, Func<Task<IPredictor>> fit)
    {
        Dictionary<string, Task<IPredictor>> fitted = _runs.GetValue(context.Train, static _ => new(StringComparer.Ordinal));
        lock (fitted)
        {
            if (!fitted.TryGetValue(key, out Task<IPredictor>? task))
            {
                task = fit();
                fitted[key] = task;
            }

            return task;
        }
    }
}
