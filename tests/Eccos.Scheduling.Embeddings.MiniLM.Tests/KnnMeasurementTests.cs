using System.Diagnostics;
using System.Globalization;
using Eccos.Scheduling.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Embeddings.MiniLM.Tests;

/// <summary>
/// The kNN predictor with MiniLM embeddings on MMLU-Pro. The subsample test runs in CI (a cold cache costs about a
/// minute); the full table is an explicit measurement:
/// <code>
/// ECCOS_SHARED_DATA=/work/shared/data ECCOS_EMBEDDING_CACHE=/work/cache/embeddings \
///   dotnet test tests/Eccos.Scheduling.Embeddings.MiniLM.Tests -c Release --filter TestCategory=Measurement \
///   --logger "console;verbosity=detailed"
/// </code>
/// Embeddings are cached on disk in <c>ECCOS_EMBEDDING_CACHE</c> (default: a folder in the temp directory), never in
/// the repository: they are derived from the shared data.
/// </summary>
public class KnnMeasurementTests
{
    private static string CacheDirectory =>
        Environment.GetEnvironmentVariable("ECCOS_EMBEDDING_CACHE") is { Length: > 0 } dir ? dir : Path.Combine(Path.GetTempPath(), "eccos-embeddings");

    [Test]
    public async Task MiniLM_retrieves_same_subject_neighbours_and_predicts_on_a_subsample()
    {
        OutcomeDataset dataset = await OutcomeDataset.LoadAsync(SharedData.RequireDataset("mmlu-pro"));
        (IReadOnlyList<OutcomeRecord> train, IReadOnlyList<OutcomeRecord> test) = dataset.Split();

        // Every 24th training query and every 40th test query: about 350 + 90 texts, half a minute of MiniLM when
        // cold. (That little history is too thin for kNN to beat the per-task prior — it needs about 700 training
        // queries for that — so the accuracy comparison is in the measurement below.)
        OutcomeRecord[] trainSample = [.. train.Where((_, i) => i % 24 == 0)];
        OutcomeRecord[] testSample = [.. test.Where((_, i) => i % 40 == 0)];
        using IEmbeddingGenerator<string, Embedding<float>> embedder = new MiniLMEmbeddingGenerator().AsBuilder().UseDiskCache(CacheDirectory).Build();

        // Semantics on real prompts: the nearest stored questions mostly share the query's subject (chance is ~1/14).
        GeneratedEmbeddings<Embedding<float>> stored = await embedder.GenerateAsync([.. trainSample.Select(r => r.Text)]);
        GeneratedEmbeddings<Embedding<float>> queries = await embedder.GenerateAsync([.. testSample.Select(r => r.Text)]);
        const int Neighbours = 5;
        int sameTask = 0;
        for (int q = 0; q < testSample.Length; q++)
        {
            sameTask += Enumerable.Range(0, trainSample.Length)
                .OrderByDescending(s => System.Numerics.Tensors.TensorPrimitives.Dot(queries[q].Vector.Span, stored[s].Vector.Span))
                .Take(Neighbours)
                .Count(s => trainSample[s].Task == testSample[q].Task);
        }

        double share = sameTask / (double)(Neighbours * testSample.Length);
        KnnPredictor knn = await KnnPredictor.CreateAsync(trainSample, embedder);
        PredictionMetrics m = await PredictionMetrics.EvaluateAsync(knn, testSample, dataset.Catalog.Models);
        TestContext.Out.WriteLine($"subsample {trainSample.Length} → {testSample.Length}: same-subject share of the top {Neighbours}: {share:F3}; kNN MiniLM {m}");
        Assert.Multiple(() =>
        {
            Assert.That(share, Is.GreaterThan(0.35), "measured 0.53; chance is about 0.08");
            Assert.That(m.Auc, Is.GreaterThan(0.62), "well above chance and the global prior's discrimination");
            Assert.That(m.Brier, Is.LessThan(0.235), "better than the global prior's 0.234 on the full test set");
        });
    }

    [Test]
    [Explicit("Measurement: embeds all 12,032 MMLU-Pro queries with MiniLM (about 15 minutes on 2 cores when the cache is cold).")]
    [Category("Measurement")]
    public async Task Measure_knn_configurations_on_mmlu_pro()
    {
        OutcomeDataset dataset = await OutcomeDataset.LoadAsync(SharedData.RequireDataset("mmlu-pro"));
        (IReadOnlyList<OutcomeRecord> train, IReadOnlyList<OutcomeRecord> test) = dataset.Split();
        IReadOnlyList<ModelProfile> models = dataset.Catalog.Models;
        using var naive = new HashingEmbeddingGenerator(new HashingEmbeddingGeneratorOptions { MaxWordNGram = 2, CharNGramWeight = 0.5f });
        using HashingEmbeddingGenerator hashing = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text));
        using HashingEmbeddingGenerator idf = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text), new HashingEmbeddingGeneratorOptions { UseIdf = true });
        using HashingEmbeddingGenerator wide = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text), new HashingEmbeddingGeneratorOptions { Dimensions = 4096 });
        using var miniLM = new MiniLMEmbeddingGenerator();

        // All embeddings once: MiniLM through the disk cache, then everything from memory.
        var sw = Stopwatch.StartNew();
        using var miniLMCached = new MemoryEmbeddingGenerator(miniLM.AsBuilder().UseDiskCache(CacheDirectory).Build());
        await miniLMCached.GenerateAsync([.. train.Concat(test).Select(r => r.Text)]);
        TestContext.Progress.WriteLine($"MiniLM embeddings ready in {sw.Elapsed.TotalSeconds:F0} s (cache: {CacheDirectory})");

        var rows = new List<string>
        {
            "| configuration | K | shrinkage | task priors | pooled difficulty | AUC | mean per-model AUC | Brier | ECE | output-token MAE |",
            "|---|---|---|---|---|---|---|---|---|---|",
        };

        async Task Row(string name, IEmbeddingGenerator<string, Embedding<float>> embedder, KnnPredictorOptions options)
        {
            KnnPredictor predictor = await KnnPredictor.CreateAsync(train, embedder, options);
            PredictionMetrics m = await PredictionMetrics.EvaluateAsync(predictor, test, models);
            string row = string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {options.K} | {options.Shrinkage} | {YesNo(options.UseTaskPriors)} | {YesNo(options.PoolDifficulty && options.K > 0)} | {m.Auc:F3} | {m.MeanPerModelAuc:F3} | {m.Brier:F4} | {m.Ece:F4} | {m.OutputTokensMae:F1} |");
            rows.Add(row);
            TestContext.Progress.WriteLine(row);
        }

        static string YesNo(bool value) => value ? "yes" : "no";
        static KnnPredictorOptions Plain(int k) => new() { K = k, Shrinkage = 0, UseTaskPriors = false, PoolDifficulty = false };

        await Row("global prior (no retrieval)", hashing, new KnnPredictorOptions { K = 0, UseTaskPriors = false });
        await Row("per-task prior (no retrieval)", hashing, new KnnPredictorOptions { K = 0 });
        await Row("hashing, unfitted (naive)", naive, Plain(16));
        await Row("hashing, fitted with IDF", idf, Plain(32));
        foreach ((string name, IEmbeddingGenerator<string, Embedding<float>> embedder) in new (string, IEmbeddingGenerator<string, Embedding<float>>)[]
        {
            ("hashing, fitted stop list (384)", hashing),
            ("hashing, fitted stop list (4096)", wide),
            ("MiniLM", miniLMCached),
        })
        {
            foreach (int k in new[] { 16, 32, 64 })
            {
                await Row(name, embedder, Plain(k));
            }

            foreach (int k in new[] { 16, 32, 64, 128 })
            {
                await Row(name, embedder, new KnnPredictorOptions { K = k });
            }

            await Row(name, embedder, new KnnPredictorOptions { PoolDifficulty = false });
            foreach (double shrinkage in new[] { 4.0, 8, 32 })
            {
                await Row(name, embedder, new KnnPredictorOptions { Shrinkage = shrinkage });
            }
        }

        TestContext.Out.WriteLine(string.Join(Environment.NewLine, rows));
        Assert.That(rows, Has.Count.GreaterThan(2));
    }

    /// <summary>Keeps every embedding in memory after the first call, so a table of configurations embeds once.</summary>
    private sealed class MemoryEmbeddingGenerator(IEmbeddingGenerator<string, Embedding<float>> inner)
        : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        private readonly Dictionary<string, Embedding<float>> _memory = new(StringComparer.Ordinal);

        public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            string[] texts = [.. values];
            string[] missing = [.. texts.Where(t => !_memory.ContainsKey(t)).Distinct()];
            if (missing.Length > 0)
            {
                GeneratedEmbeddings<Embedding<float>> fresh = await base.GenerateAsync(missing, options, cancellationToken);
                for (int i = 0; i < missing.Length; i++)
                {
                    _memory[missing[i]] = fresh[i];
                }
            }

            return [.. texts.Select(t => _memory[t])];
        }
    }
}
