using System.Security.Cryptography;
using static Eccos.Scheduling.Tests.Predict.Knn.KnnTestData;

namespace Eccos.Scheduling.Tests.Predict.Knn;

/// <summary>The clustered (inverted-file) search of <see cref="KnnPredictor"/>: recall, equivalence, concurrency, persistence, determinism.</summary>
public class KnnClusteredSearchTests
{
    private static readonly ModelProfile[] Both = [Cheap, Strong];

    [Test]
    public async Task Probing_every_list_gives_exactly_the_exact_search_and_predictions()
    {
        const int Dims = 24;
        List<OutcomeRecord> history = ClusteredHistory(1_500, Dims, centres: 12, seed: 1);
        var generator = new FakeEmbeddingGenerator(Dims);
        KnnPredictor exact = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 20 });
        KnnPredictor all = await KnnPredictor.CreateAsync(history, generator,
            new KnnPredictorOptions { K = 20, Search = KnnSearch.Clustered, Lists = 12, Probes = 12 });
        KnnClusterLayout layout = all.Index.Snapshot.Clusters!;
        Assert.That(layout.ListCount, Is.EqualTo(12));

        float[] queries = Queries(ClusteredHistory(40, Dims, centres: 12, seed: 2));
        (int[] exactRows, float[] exactSims) = Search(exact, queries, 40, 20);
        (int[] allRows, float[] allSims) = Search(all, queries, 40, 20);
        for (int q = 0; q < 40; q++)
        {
            Assert.That(Sorted(allRows, q, 20), Is.EqualTo(Sorted(exactRows, q, 20)), $"query {q}: the same neighbours");
            Assert.That(allSims.AsSpan(q * 20, 20).ToArray().Order(), Is.EqualTo(exactSims.AsSpan(q * 20, 20).ToArray().Order()), $"query {q}: bit-identical similarities");
        }

        SchedulingQuery[] asked = [.. ClusteredHistory(40, Dims, centres: 12, seed: 2).Select(r => new SchedulingQuery(r.Text, 10))];
        PredictionMatrix expected = await exact.PredictAsync(asked, Both);
        PredictionMatrix actual = await all.PredictAsync(asked, Both);
        Assert.Multiple(() =>
        {
            Assert.That(actual.Quality.ToArray(), Is.EqualTo(expected.Quality.ToArray()), "neighbours are aggregated in row order: bit-identical");
            Assert.That(actual.OutputTokens.ToArray(), Is.EqualTo(expected.OutputTokens.ToArray()));
        });
    }

    [Test]
    public async Task Few_probes_find_nearly_all_neighbours_on_clustered_data()
    {
        const int Dims = 24;
        List<OutcomeRecord> history = ClusteredHistory(3_000, Dims, centres: 16, seed: 3);
        var generator = new FakeEmbeddingGenerator(Dims);
        KnnPredictor exact = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 10 });
        KnnPredictor clustered = await KnnPredictor.CreateAsync(history, generator,
            new KnnPredictorOptions { K = 10, Search = KnnSearch.Clustered, Lists = 16, Probes = 2 });
        float[] queries = Queries(ClusteredHistory(200, Dims, centres: 16, seed: 4));
        (int[] truth, _) = Search(exact, queries, 200, 10);
        (int[] found, _) = Search(clustered, queries, 200, 10);
        int hits = 0;
        for (int q = 0; q < 200; q++)
        {
            hits += Sorted(found, q, 10).Intersect(Sorted(truth, q, 10)).Count();
        }

        double recall = hits / 2000.0;
        KnnClusterLayout layout = clustered.Index.Snapshot.Clusters!;
        Assert.Multiple(() =>
        {
            // 16 separated blobs in 16 lists: the query's own blob is in its 2 nearest lists.
            Assert.That(recall, Is.GreaterThanOrEqualTo(0.97), "recall@10 with 2 of 16 lists probed");
            Assert.That(layout.Counts.Max(), Is.LessThan(3_000 / 4), "k-means++ separated the blobs");
        });
    }

    [Test]
    public async Task Fewer_rows_than_the_threshold_stay_exact_and_too_few_in_the_probed_lists_widen_the_probe()
    {
        const int Dims = 8;
        var generator = new FakeEmbeddingGenerator(Dims);
        var small = await KnnPredictor.CreateAsync(RandomHistory(100, Dims, seed: 5), generator, new KnnPredictorOptions { Search = KnnSearch.Clustered });
        Assert.That(small.Index.Snapshot.Clusters, Is.Null, "100 < 256 rows: exact");

        // 300 rows in 37 lists (one per 8 rows at most), one probe, K = 100: the probe widens until 100 rows are seen.
        KnnPredictor wide = await KnnPredictor.CreateAsync(RandomHistory(300, Dims, seed: 6), generator,
            new KnnPredictorOptions { K = 100, Search = KnnSearch.Clustered, Lists = 1_000, Probes = 1 });
        Assert.That(wide.Index.Snapshot.Clusters!.ListCount, Is.EqualTo(300 / 8));
        (int[] rows, float[] sims) = Search(wide, RandomUnit(new Random(7), Dims), 1, 100);
        Assert.That(rows.Distinct().Count(), Is.EqualTo(100), "100 distinct neighbours");
        Assert.That(sims, Has.All.GreaterThanOrEqualTo(-1.0001f));
    }

    [Test]
    public async Task The_index_is_reclustered_in_the_background_when_it_has_doubled()
    {
        const int Dims = 8;
        var generator = new FakeEmbeddingGenerator(Dims);
        KnnPredictor predictor = await KnnPredictor.CreateAsync(RandomHistory(300, Dims, seed: 8), generator,
            new KnnPredictorOptions { Search = KnnSearch.Clustered });
        KnnClusterLayout first = predictor.Index.Snapshot.Clusters!;
        Assert.That((first.TrainedCount, first.ListCount), Is.EqualTo((300, 35)), "2√300 lists");

        await predictor.AddAsync(RandomHistory(250, Dims, seed: 9).Select(r => r with { Id = "b" + r.Id }));
        await predictor.Index.WaitForClusteringAsync();
        Assert.That(predictor.Index.Snapshot.Clusters!.TrainedCount, Is.EqualTo(300), "550 < 2 × 300: new rows joined their nearest list");
        AssertEveryRowOnce(predictor.Index.Snapshot);

        await predictor.AddAsync(RandomHistory(100, Dims, seed: 10).Select(r => r with { Id = "c" + r.Id }));
        await predictor.Index.WaitForClusteringAsync();
        KnnClusterLayout second = predictor.Index.Snapshot.Clusters!;
        Assert.Multiple(() =>
        {
            Assert.That(second.TrainedCount, Is.InRange(600, 650), "re-clustered once it held twice the rows");
            Assert.That(second.ListCount, Is.EqualTo((int)Math.Round(2 * Math.Sqrt(second.TrainedCount))));
        });
        AssertEveryRowOnce(predictor.Index.Snapshot);
    }

    [Test]
    public async Task Rows_added_while_a_clustering_runs_join_the_new_lists()
    {
        const int Dims = 8;
        var generator = new FakeEmbeddingGenerator(Dims);
        var options = new KnnPredictorOptions { K = 16, Search = KnnSearch.Clustered, Probes = 1_000 };
        List<OutcomeRecord> initial = RandomHistory(300, Dims, seed: 21);
        KnnPredictor predictor = await KnnPredictor.CreateAsync(initial, generator, options);
        using var built = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        predictor.Index.BeforeInstall = () =>
        {
            built.Release();
            release.Wait();
        };

        List<OutcomeRecord> doubling = [.. RandomHistory(300, Dims, seed: 22).Select(r => r with { Id = "d" + r.Id })];
        await predictor.AddAsync(doubling); // 600 rows: a re-clustering of these 600 starts in the background
        Assert.That(await built.WaitAsync(TimeSpan.FromSeconds(30)), Is.True, "the re-clustering ran");
        List<OutcomeRecord> meanwhile = [.. RandomHistory(50, Dims, seed: 23).Select(r => r with { Id = "m" + r.Id })];
        await predictor.AddAsync(meanwhile); // into the old lists, while the new ones wait to be installed
        Assert.That(predictor.Index.Snapshot.Clusters!.TrainedCount, Is.EqualTo(300), "not installed yet");
        release.Release();
        await predictor.Index.WaitForClusteringAsync();

        KnnSnapshot s = predictor.Index.Snapshot;
        Assert.That((s.Count, s.Clusters!.TrainedCount), Is.EqualTo((650, 600)));
        AssertEveryRowOnce(s);
        var rng = new Random(24);
        SchedulingQuery[] queries = [.. Enumerable.Range(0, 10).Select(_ => new SchedulingQuery(FakeEmbeddingGenerator.Text(RandomUnit(rng, Dims)), 10))];
        KnnPredictor exact = await KnnPredictor.CreateAsync([.. initial, .. doubling, .. meanwhile], generator, new KnnPredictorOptions { K = 16 });
        Assert.That((await predictor.PredictAsync(queries, Both)).Quality.ToArray(), Is.EqualTo((await exact.PredictAsync(queries, Both)).Quality.ToArray()),
            "all 650 rows searchable, at the same row numbers");
    }

    [Test]
    public async Task Concurrent_adds_and_predictions_with_the_clustered_layout_lose_no_row()
    {
        const int Dims = 8;
        var generator = new FakeEmbeddingGenerator(Dims) { Delay = TimeSpan.FromMilliseconds(1) };
        // Probes beyond the list count: every search is exact, so the end state can be checked against exact search.
        var options = new KnnPredictorOptions { K = 16, Search = KnnSearch.Clustered, Probes = 1_000 };
        var fewProbes = new KnnPredictorOptions { K = 16, Search = KnnSearch.Clustered, Probes = 2 };
        List<OutcomeRecord> initial = RandomHistory(300, Dims, seed: 11, tasks: ["x", "y"]);
        KnnPredictor predictor = await KnnPredictor.CreateAsync(initial, generator, options);
        KnnPredictor narrow = await KnnPredictor.CreateAsync(initial, generator, fewProbes);
        List<OutcomeRecord>[] perWriter = [.. Enumerable.Range(0, 4).Select(w =>
            RandomHistory(120, Dims, seed: 200 + w, tasks: ["x", "y", $"new{w}"]).Select(r => r with { Id = $"w{w}-{r.Id}" }).ToList())];
        var rng = new Random(12);
        SchedulingQuery[] queries = [.. Enumerable.Range(0, 10).Select(i => new SchedulingQuery(FakeEmbeddingGenerator.Text(RandomUnit(rng, Dims)), 10, i % 2 == 0 ? "x" : "new1"))];

        await RaceAsync(
            predictor,
            [.. perWriter.Select(records => (Func<Task>)(async () =>
            {
                foreach (OutcomeRecord r in records)
                {
                    await predictor.RecordAsync(r);
                    await narrow.RecordAsync(r);
                }
            }))],
            async () =>
            {
                (await predictor.PredictAsync(queries, Both)).Validate();
                (await narrow.PredictAsync(queries, Both)).Validate();
                KnnSnapshot s = narrow.Index.Snapshot;
                Assert.That(s.Clusters!.Counts.Sum(), Is.EqualTo(s.Count), "a snapshot's lists hold exactly its rows");
            });
        await predictor.Index.WaitForClusteringAsync();
        await narrow.Index.WaitForClusteringAsync();

        Assert.That(predictor.Count, Is.EqualTo(300 + (4 * 120)));
        Assert.That(predictor.Index.Snapshot.Clusters!.TrainedCount, Is.GreaterThanOrEqualTo(600), "re-clustered while serving");
        AssertEveryRowOnce(predictor.Index.Snapshot);
        AssertEveryRowOnce(narrow.Index.Snapshot);
        KnnPredictor rebuilt = await KnnPredictor.CreateAsync(initial.Concat(perWriter.SelectMany(r => r)), generator, new KnnPredictorOptions { K = 16 });
        PredictionMatrix expected = await rebuilt.PredictAsync(queries, Both);
        PredictionMatrix actual = await predictor.PredictAsync(queries, Both);
        Assert.Multiple(() =>
        {
            Assert.That(actual.Quality.ToArray(), Is.EqualTo(expected.Quality.ToArray()).Within(1e-9));
            Assert.That(actual.OutputTokens.ToArray(), Is.EqualTo(expected.OutputTokens.ToArray()).Within(1e-6));
        });
    }

    [Test]
    public async Task Building_twice_gives_the_same_clustering_and_predictions()
    {
        const int Dims = 16;
        List<OutcomeRecord> history = ClusteredHistory(1_200, Dims, centres: 10, seed: 13);
        var generator = new FakeEmbeddingGenerator(Dims);
        var options = new KnnPredictorOptions { Search = KnnSearch.Clustered, Probes = 3 };
        KnnPredictor a = await KnnPredictor.CreateAsync(history, generator, options);
        KnnPredictor b = await KnnPredictor.CreateAsync(history, generator, options);
        KnnClusterLayout la = a.Index.Snapshot.Clusters!, lb = b.Index.Snapshot.Clusters!;
        SchedulingQuery[] queries = [.. ClusteredHistory(30, Dims, centres: 10, seed: 14).Select(r => new SchedulingQuery(r.Text, 10))];
        Assert.Multiple(async () =>
        {
            Assert.That(lb.Centroids, Is.EqualTo(la.Centroids));
            Assert.That(Enumerable.Range(0, lb.ListCount).Select(l => lb.Rows[l].Take(lb.Counts[l])),
                Is.EqualTo(Enumerable.Range(0, la.ListCount).Select(l => la.Rows[l].Take(la.Counts[l]))));
            Assert.That((await b.PredictAsync(queries, Both)).Quality.ToArray(), Is.EqualTo((await a.PredictAsync(queries, Both)).Quality.ToArray()));
        });
    }

    [Test]
    public async Task A_clustered_index_round_trips_through_save_and_load()
    {
        const int Dims = 16;
        List<OutcomeRecord> history = ClusteredHistory(800, Dims, centres: 8, seed: 15);
        var generator = new FakeEmbeddingGenerator(Dims);
        var options = new KnnPredictorOptions { Search = KnnSearch.Clustered, Probes = 2 };
        KnnPredictor original = await KnnPredictor.CreateAsync(history, generator, options);
        await original.AddAsync(ClusteredHistory(100, Dims, centres: 8, seed: 16).Select(r => r with { Id = "late" + r.Id }));
        await original.Index.WaitForClusteringAsync();
        using var stream = new MemoryStream();
        original.Save(stream);

        KnnPredictor loaded = KnnPredictor.Load(new MemoryStream(stream.ToArray()), generator, options);
        KnnPredictor asSaved = KnnPredictor.Load(new MemoryStream(stream.ToArray()), generator);
        KnnPredictor asExact = KnnPredictor.Load(new MemoryStream(stream.ToArray()), generator, new KnnPredictorOptions());
        KnnPredictor exact = await KnnPredictor.CreateAsync(history.Concat(ClusteredHistory(100, Dims, centres: 8, seed: 16)), generator);
        KnnClusterLayout before = original.Index.Snapshot.Clusters!, after = loaded.Index.Snapshot.Clusters!;
        SchedulingQuery[] queries = [.. ClusteredHistory(30, Dims, centres: 8, seed: 17).Select(r => new SchedulingQuery(r.Text, 10))];
        PredictionMatrix expected = await original.PredictAsync(queries, Both);
        PredictionMatrix actual = await loaded.PredictAsync(queries, Both);
        Assert.Multiple(async () =>
        {
            Assert.That(after.Centroids, Is.EqualTo(before.Centroids));
            Assert.That(after.TrainedCount, Is.EqualTo(before.TrainedCount));
            Assert.That(Enumerable.Range(0, after.ListCount).Select(l => after.Rows[l].Take(after.Counts[l])),
                Is.EqualTo(Enumerable.Range(0, before.ListCount).Select(l => before.Rows[l].Take(before.Counts[l]))), "the same lists, late rows included");
            Assert.That(actual.Quality.ToArray(), Is.EqualTo(expected.Quality.ToArray()));
            Assert.That(actual.Cost.ToArray(), Is.EqualTo(expected.Cost.ToArray()));
            Assert.That(asSaved.Index.Snapshot.Clusters, Is.Not.Null, "without options: the saved ones (clustered)");
            Assert.That((await asSaved.PredictAsync(queries, Both)).Quality.ToArray(), Is.EqualTo(expected.Quality.ToArray()));
            Assert.That(asExact.Index.Snapshot.Clusters, Is.Null, "loaded with exact search: the rows, in row order");
            Assert.That((await asExact.PredictAsync(queries, Both)).Quality.ToArray(),
                Is.EqualTo((await exact.PredictAsync(queries, Both)).Quality.ToArray()).Within(1e-12));
        });
    }

    [Test]
    public async Task A_corrupt_clustering_is_rejected()
    {
        const int Dims = 8;
        var generator = new FakeEmbeddingGenerator(Dims);
        KnnPredictor predictor = await KnnPredictor.CreateAsync(RandomHistory(300, Dims, seed: 20), generator,
            new KnnPredictorOptions { Search = KnnSearch.Clustered });
        using var stream = new MemoryStream();
        predictor.Save(stream);
        byte[] bytes = stream.ToArray();

        // The last list's last two row numbers sit just before the checksum: make them equal, then re-sign.
        byte[] twice = (byte[])bytes.Clone();
        Array.Copy(twice, twice.Length - 32 - 8, twice, twice.Length - 32 - 4, 4);
        Resign(twice);
        Assert.That(() => KnnPredictor.Load(new MemoryStream(twice), generator),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("twice"));
    }

    [Test]
    public void Bad_search_options_are_rejected_with_the_option_named()
    {
        var generator = new FakeEmbeddingGenerator(2);
        Assert.Multiple(() =>
        {
            Assert.That(async () => await KnnPredictor.CreateAsync([], generator, new KnnPredictorOptions { Search = (KnnSearch)7 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("KnnPredictorOptions.Search").And.Property("ParamName").EqualTo("options"));
            Assert.That(async () => await KnnPredictor.CreateAsync([], generator, new KnnPredictorOptions { Lists = -1 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("KnnPredictorOptions.Lists"));
            Assert.That(async () => await KnnPredictor.CreateAsync([], generator, new KnnPredictorOptions { Probes = 0 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("KnnPredictorOptions.Probes"));
            Assert.That(() => KnnPredictor.Load(new MemoryStream([]), generator, new KnnPredictorOptions { Probes = -3 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("KnnPredictorOptions.Probes"));
        });
    }

    /// <summary>Points around <paramref name="centres"/> random unit centres (noise 0.15 per coordinate), so that the history has real clusters.</summary>
    private static List<OutcomeRecord> ClusteredHistory(int count, int dims, int centres, int seed)
    {
        var centreRng = new Random(1_000 + centres + dims); // the same centres for every seed
        float[][] c = [.. Enumerable.Range(0, centres).Select(_ => RandomUnit(centreRng, dims))];
        var rng = new Random(seed);
        var list = new List<OutcomeRecord>(count);
        for (int i = 0; i < count; i++)
        {
            float[] centre = c[rng.Next(centres)];
            float[] v = [.. centre.Select(x => x + (float)((rng.NextDouble() - 0.5) * 0.3))];
            list.Add(Record($"r{i}", v, null,
                new ModelOutcome("cheap", rng.NextDouble() < 0.4 ? 1 : 0, 10 + rng.Next(20)),
                new ModelOutcome("strong", rng.NextDouble() < 0.8 ? 1 : 0, 100 + rng.Next(50))));
        }

        return list;
    }

    /// <summary>The normalized embeddings of the records' texts, back to back.</summary>
    private static float[] Queries(List<OutcomeRecord> records) =>
        [.. records.SelectMany(r =>
        {
            float[] v = [.. r.Text[2..].Split(',').Select(s => float.Parse(s, System.Globalization.CultureInfo.InvariantCulture))];
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
            return v.Select(x => x / norm);
        })];

    private static (int[] Rows, float[] Sims) Search(KnnPredictor predictor, float[] queries, int count, int k)
    {
        var sims = new float[count * k];
        var rows = new int[count * k];
        predictor.Index.Snapshot.Search(queries, k, sims, rows, CancellationToken.None);
        return (rows, sims);
    }

    private static int[] Sorted(int[] rows, int q, int k) => [.. rows.AsSpan(q * k, k).ToArray().Order()];

    private static void AssertEveryRowOnce(KnnSnapshot s)
    {
        KnnClusterLayout layout = s.Clusters!;
        int[] rows = [.. Enumerable.Range(0, layout.ListCount).SelectMany(l => layout.Rows[l].Take(layout.Counts[l]))];
        Assert.That(rows.Order(), Is.EqualTo(Enumerable.Range(0, s.Count)), "every row in exactly one list");
        for (int row = 0; row < s.Count; row += 37)
        {
            Assert.That(System.Numerics.Tensors.TensorPrimitives.Norm(s.Row(row)), Is.EqualTo(1).Within(1e-5), $"row {row} stored normalized");
        }
    }

    private static void Resign(byte[] file) => SHA256.HashData(file.AsSpan(0, file.Length - 32)).CopyTo(file, file.Length - 32);
}
