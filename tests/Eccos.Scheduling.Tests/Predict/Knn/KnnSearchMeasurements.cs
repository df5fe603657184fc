using System.Diagnostics;
using System.Globalization;
using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Predict.Knn;

/// <summary>
/// Exact against clustered (IVF) search on MMLU-Pro, train → test, fitted hashing embedder, default options otherwise:
/// recall@K of the neighbours and the prediction metrics, for several (lists, probes). Prints the table of docs/knn.md.
/// Run: <c>ECCOS_SHARED_DATA=/work/shared/data dotnet test tests/Eccos.Scheduling.Tests -c Release
/// --filter "TestCategory=Measurement&amp;FullyQualifiedName~KnnSearchMeasurements" --logger "console;verbosity=detailed"</c>.
/// </summary>
[Explicit("Measurement: prints the clustered-search table of docs/knn.md")]
[Category("Measurement")]
public class KnnSearchMeasurements
{
    [Test]
    public async Task Clustered_search_recall_and_accuracy_on_mmlu_pro()
    {
        OutcomeDataset dataset = await OutcomeDataset.LoadAsync(SharedData.RequireDataset("mmlu-pro"));
        (IReadOnlyList<OutcomeRecord> train, IReadOnlyList<OutcomeRecord> test) = dataset.Split();
        IReadOnlyList<ModelProfile> models = dataset.Catalog.Models;
        using HashingEmbeddingGenerator embedder = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text));
        const int K = 32;
        int d = embedder.Dimensions;
        float[] queries = new float[test.Count * d];
        for (int i = 0; i < test.Count; i++)
        {
            embedder.Embed(test[i].Text, queries.AsSpan(i * d, d));
        }

        KnnPredictor exact = await KnnPredictor.CreateAsync(train, embedder);
        int[] truth = Neighbours(exact, queries, test.Count, K);
        PredictionMetrics exactMetrics = await PredictionMetrics.EvaluateAsync(exact, test, models);
        TestContext.Out.WriteLine($"{train.Count} stored, {test.Count} queries, K = {K}");
        TestContext.Out.WriteLine("| search | lists | probes | rows scanned (mean) | recall@32 | AUC | mean per-model AUC | Brier | ECE | output-token MAE | build |");
        TestContext.Out.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        TestContext.Out.WriteLine($"| exact | – | – | {train.Count:N0} | 1.000 | {Row(exactMetrics)} | – |");

        foreach ((int lists, int[] probeCounts) in new (int, int[])[] { (46, [2, 4, 8, 16]), (92, [1, 2, 4, 8, 16, 32]), (0, [2, 4, 8, 16, 32]), (368, [8, 16, 32, 64]) })
        {
            foreach (int probes in probeCounts)
            {
                var options = new KnnPredictorOptions { Search = KnnSearch.Clustered, Lists = lists, Probes = probes };
                var clock = Stopwatch.StartNew();
                KnnPredictor clustered = await KnnPredictor.CreateAsync(train, embedder, options);
                TimeSpan build = clock.Elapsed;
                KnnClusterLayout layout = clustered.Index.Snapshot.Clusters!;
                int[] found = Neighbours(clustered, queries, test.Count, K);
                PredictionMetrics metrics = await PredictionMetrics.EvaluateAsync(clustered, test, models);
                TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| clustered | {layout.ListCount} | {probes} | {Scanned(layout, queries, test.Count):N0} | {Recall(truth, found, K):F3} | {Row(metrics)} | {build.TotalSeconds:F2} s |"));
            }
        }
    }

    private static string Row(PredictionMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"{m.Auc:F3} | {m.MeanPerModelAuc:F3} | {m.Brier:F4} | {m.Ece:F4} | {m.OutputTokensMae:F1}");

    private static int[] Neighbours(KnnPredictor predictor, float[] queries, int count, int k)
    {
        var sims = new float[count * k];
        var rows = new int[count * k];
        predictor.Index.Snapshot.Search(queries, k, sims, rows, CancellationToken.None);
        return rows;
    }

    private static double Recall(int[] truth, int[] found, int k)
    {
        long hits = 0;
        for (int q = 0; q < truth.Length / k; q++)
        {
            var expected = new HashSet<int>(truth.AsSpan(q * k, k).ToArray());
            foreach (int row in found.AsSpan(q * k, k))
            {
                hits += expected.Contains(row) ? 1 : 0;
            }
        }

        return (double)hits / truth.Length;
    }

    /// <summary>Mean rows compared per query: the rows of the lists of the `Probes` nearest centroids.</summary>
    private static double Scanned(KnnClusterLayout layout, float[] queries, int count)
    {
        int d = layout.Dimensions;
        long total = 0;
        var sims = new float[layout.ListCount];
        for (int q = 0; q < count; q++)
        {
            SimilarityKernel.DotRows(queries.AsSpan(q * d, d), layout.Centroids, layout.ListCount, sims);
            int[] order = [.. Enumerable.Range(0, layout.ListCount).OrderByDescending(l => sims[l])];
            for (int p = 0; p < Math.Min(layout.Probes, layout.ListCount); p++)
            {
                total += layout.Counts[order[p]];
            }
        }

        return (double)total / count;
    }
}
