using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Predict.Knn;

/// <summary>
/// The kNN predictor on the recorded MMLU-Pro outcomes (train → test of the fixed split) with the offline hashing
/// embedder: a few seconds for all 12,032 queries. MiniLM numbers: see the Measurement tests of the MiniLM package.
/// </summary>
public class KnnPredictorMmluProTests
{
    [Test]
    public async Task Hashing_knn_beats_the_per_task_prior_on_mmlu_pro()
    {
        OutcomeDataset dataset = await OutcomeDataset.LoadAsync(SharedData.RequireDataset("mmlu-pro"));
        (IReadOnlyList<OutcomeRecord> train, IReadOnlyList<OutcomeRecord> test) = dataset.Split();
        IReadOnlyList<ModelProfile> models = dataset.Catalog.Models;
        using HashingEmbeddingGenerator embedder = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text));

        KnnPredictor taskPrior = await KnnPredictor.CreateAsync(train, embedder, new KnnPredictorOptions { K = 0 });
        KnnPredictor knn = await KnnPredictor.CreateAsync(train, embedder);
        PredictionMetrics prior = await PredictionMetrics.EvaluateAsync(taskPrior, test, models);
        PredictionMetrics metrics = await PredictionMetrics.EvaluateAsync(knn, test, models);
        TestContext.Out.WriteLine($"per-task prior: {prior}");
        TestContext.Out.WriteLine($"kNN (hashing): {metrics}");

        Assert.Multiple(() =>
        {
            // Measured: per-task prior AUC 0.700, per-model 0.642; kNN on the fitted hashing embedder 0.721 / 0.676.
            Assert.That(prior.Auc, Is.EqualTo(0.700).Within(0.005), "the per-task prior the team measured");
            Assert.That(metrics.Auc, Is.GreaterThanOrEqualTo(prior.Auc + 0.015));
            Assert.That(metrics.Auc, Is.GreaterThanOrEqualTo(0.715));
            Assert.That(metrics.MeanPerModelAuc, Is.GreaterThanOrEqualTo(prior.MeanPerModelAuc + 0.025));
            Assert.That(metrics.Brier, Is.LessThan(prior.Brier));
            Assert.That(metrics.Ece, Is.LessThan(0.03));
            Assert.That(metrics.OutputTokensMae, Is.LessThan(prior.OutputTokensMae));
            Assert.That(metrics.Pairs, Is.EqualTo(prior.Pairs).And.GreaterThan(40_000));
        });
    }
}
