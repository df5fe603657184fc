using static Eccos.Scheduling.Tests.Predict.Knn.KnnTestData;

namespace Eccos.Scheduling.Tests.Predict.Knn;

public class KnnPredictorTests
{
    private static readonly ModelProfile[] Both = [Cheap, Strong];

    [Test]
    public void Search_returns_the_exact_top_k_of_brute_force_across_chunks()
    {
        const int Dims = 16;
        var rng = new Random(1);
        var index = new KnnIndex(chunkRows: 7);
        var stored = new List<float[]>();
        foreach (int batch in new[] { 5, 30, 1, 64 })
        {
            var vectors = new float[batch * Dims];
            var items = new (string?, IReadOnlyList<ModelOutcome>)[batch];
            for (int i = 0; i < batch; i++)
            {
                float[] v = RandomUnit(rng, Dims);
                for (int d = 0; d < Dims; d++)
                {
                    v[d] *= 3; // stored unnormalized: the index normalizes
                }

                v.CopyTo(vectors, i * Dims);
                stored.Add(v.Select(x => x / 3).ToArray());
                items[i] = (null, [new ModelOutcome("cheap", 1, 1)]);
            }

            index.Add(vectors, Dims, items);
        }

        KnnSnapshot snapshot = index.Snapshot;
        Assert.That(snapshot.Count, Is.EqualTo(100));
        const int Queries = 13;
        float[] queries = Enumerable.Range(0, Queries).SelectMany(_ => RandomUnit(rng, Dims)).ToArray();
        foreach (int k in new[] { 1, 5, 100 })
        {
            var sims = new float[Queries * k];
            var rows = new int[Queries * k];
            snapshot.Search(queries, k, sims, rows, CancellationToken.None);
            for (int q = 0; q < Queries; q++)
            {
                float[] query = queries.AsSpan(q * Dims, Dims).ToArray();
                int[] expected = Enumerable.Range(0, stored.Count)
                    .OrderByDescending(r => Dot(stored[r], query))
                    .Take(k)
                    .Order()
                    .ToArray();
                int[] actual = rows.AsSpan(q * k, k).ToArray().Order().ToArray();
                Assert.That(actual, Is.EqualTo(expected), $"k={k}, query {q}");
                for (int n = 0; n < k; n++)
                {
                    Assert.That(sims[(q * k) + n], Is.EqualTo(Dot(stored[rows[(q * k) + n]], query)).Within(1e-5));
                }
            }
        }
    }

    [Test]
    public async Task Prediction_is_the_similarity_weighted_mean_shrunk_toward_the_prior()
    {
        var generator = new FakeEmbeddingGenerator(2);
        OutcomeRecord[] history =
        [
            Record("a", [1, 0], null, new ModelOutcome("cheap", 1, 10)),
            Record("b", [0.6f, 0.8f], null, new ModelOutcome("cheap", 0, 30)),
            Record("c", [-1, 0], null, new ModelOutcome("cheap", 1, 50)), // similarity -1: never counts
        ];
        SchedulingQuery[] query = [new(FakeEmbeddingGenerator.Text(1, 0), 100)];

        KnnPredictor plain = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 3, Shrinkage = 0, PoolDifficulty = false });
        PredictionMatrix p = await plain.PredictAsync(query, [Cheap]);
        Assert.Multiple(() =>
        {
            Assert.That(p.Quality[0], Is.EqualTo(1.0 / 1.6).Within(1e-6));
            Assert.That(p.OutputTokens[0], Is.EqualTo((10 + (0.6 * 30)) / 1.6).Within(1e-4));
            Assert.That(p.Cost[0], Is.EqualTo(Cheap.CostOf(100, p.OutputTokens[0])).Within(1e-15));
        });

        // Prior of "cheap": 2 of 3 right, 30 tokens on average (one model only, so shrinking toward the mean over models changes nothing).
        KnnPredictor shrunk = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 3, Shrinkage = 2, PoolDifficulty = false });
        p = await shrunk.PredictAsync(query, [Cheap]);
        Assert.Multiple(() =>
        {
            Assert.That(p.Quality[0], Is.EqualTo((1 + (2 * (2.0 / 3))) / 3.6).Within(1e-6));
            Assert.That(p.OutputTokens[0], Is.EqualTo((28 + (2 * 30.0)) / 3.6).Within(1e-4));
        });
    }

    [Test]
    public async Task Stronger_shrinkage_moves_the_prediction_monotonically_to_the_prior()
    {
        var generator = new FakeEmbeddingGenerator(2);
        OutcomeRecord[] history =
        [
            Record("a", [1, 0], null, new ModelOutcome("cheap", 1, 10)),
            Record("b", [0, 1], null, new ModelOutcome("cheap", 0, 10)),
            Record("c", [0, 1], null, new ModelOutcome("cheap", 0, 10)),
            Record("d", [0, 1], null, new ModelOutcome("cheap", 0, 10)),
        ];
        SchedulingQuery[] query = [new(FakeEmbeddingGenerator.Text(1, 0), 10)];
        double previous = double.PositiveInfinity;
        foreach (double beta in new[] { 0.0, 0.5, 2, 8, 1e6 })
        {
            KnnPredictor predictor = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 1, Shrinkage = beta, PoolDifficulty = false });
            double q = (await predictor.PredictAsync(query, [Cheap])).Quality[0];
            Assert.That(q, Is.LessThan(previous), $"shrinkage {beta}");
            previous = q;
        }

        Assert.That(previous, Is.EqualTo(0.25).Within(1e-4), "an overwhelming shrinkage gives the prior (1 of 4 right)");
    }

    [Test]
    public async Task Neighbours_without_a_model_do_not_count_for_it_and_unseen_models_get_the_mean_prior()
    {
        var generator = new FakeEmbeddingGenerator(2);
        OutcomeRecord[] history =
        [
            Record("a", [1, 0], null, new ModelOutcome("cheap", 1, 10)),
            Record("b", [0.6f, 0.8f], null, new ModelOutcome("strong", 0, 100)),
            Record("d", [-1, 0], null, new ModelOutcome("cheap", 0, 30), new ModelOutcome("strong", 1, 200)),
        ];
        var options = new KnnPredictorOptions { K = 3, Shrinkage = 1, PriorPseudoCount = 0, PoolDifficulty = false };
        KnnPredictor predictor = await KnnPredictor.CreateAsync(history, generator, options);
        var unseen = new ModelProfile("never-seen", 1, 1);
        PredictionMatrix p = await predictor.PredictAsync([new(FakeEmbeddingGenerator.Text(1, 0), 50)], [Cheap, Strong, unseen]);
        Assert.Multiple(() =>
        {
            // cheap: only "a" (similarity 1) has it; prior 1/2.
            Assert.That(p.Quality[0], Is.EqualTo((1 + 0.5) / 2).Within(1e-6));
            Assert.That(p.OutputTokens[0], Is.EqualTo((10 + 20.0) / 2).Within(1e-4));
            // strong: only "b" (similarity 0.6) has it; prior 1/2.
            Assert.That(p.Quality[1], Is.EqualTo(0.5 / 1.6).Within(1e-6));
            Assert.That(p.OutputTokens[1], Is.EqualTo(((0.6 * 100) + 150) / 1.6).Within(1e-4));
            // never seen: the mean over models of their rates and of their lengths.
            Assert.That(p.Quality[2], Is.EqualTo(0.5).Within(1e-9));
            Assert.That(p.OutputTokens[2], Is.EqualTo((20 + 150) / 2.0).Within(1e-9));
            Assert.That(p.Cost[2], Is.EqualTo(unseen.CostOf(50, 85)).Within(1e-15));
        });
    }

    [Test]
    public async Task Pooled_difficulty_from_all_models_of_the_neighbours_shifts_the_prior()
    {
        var generator = new FakeEmbeddingGenerator(2);
        OutcomeRecord[] history =
        [
            Record("a", [1, 0], null, new ModelOutcome("cheap", 1, 10), new ModelOutcome("strong", 1, 10)),
            Record("b", [-1, 0], null, new ModelOutcome("cheap", 0, 10), new ModelOutcome("strong", 0, 10)),
        ];
        SchedulingQuery[] query = [new(FakeEmbeddingGenerator.Text(1, 0), 10)];
        var options = new KnnPredictorOptions { K = 2, Shrinkage = 1, PriorPseudoCount = 0, DifficultyShrinkage = 2 };
        KnnPredictor pooled = await KnnPredictor.CreateAsync(history, generator, options);
        options.PoolDifficulty = false;
        KnnPredictor plain = await KnnPredictor.CreateAsync(history, generator, options);

        // Priors 0.5 each. Neighbour "a" (similarity 1) beat both priors by 0.5: difficulty = (0.5 + 0.5) / (2 + 2) = 0.25,
        // so cheap shrinks toward 0.75 instead of 0.5 — even though only cheap is asked for.
        Assert.Multiple(async () =>
        {
            Assert.That((await pooled.PredictAsync(query, [Cheap])).Quality[0], Is.EqualTo((1 + 0.75) / 2).Within(1e-9));
            Assert.That((await plain.PredictAsync(query, [Cheap])).Quality[0], Is.EqualTo((1 + 0.5) / 2).Within(1e-9));
        });
    }

    [Test]
    public async Task Outputs_without_a_score_count_for_length_only()
    {
        var generator = new FakeEmbeddingGenerator(2);
        OutcomeRecord[] history =
        [
            Record("a", [1, 0], null, new ModelOutcome("cheap", null, 40)),
            Record("e", [0.6f, 0.8f], null, new ModelOutcome("cheap", 1, 10)),
        ];
        KnnPredictor predictor = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 2, Shrinkage = 0, PoolDifficulty = false });
        PredictionMatrix p = await predictor.PredictAsync([new(FakeEmbeddingGenerator.Text(1, 0), 0)], [Cheap]);
        Assert.Multiple(() =>
        {
            Assert.That(p.Quality[0], Is.EqualTo(1.0).Within(1e-9));
            Assert.That(p.OutputTokens[0], Is.EqualTo(((1 * 40) + (0.6 * 10)) / 1.6).Within(1e-4));
        });
    }

    [Test]
    public async Task Task_priors_apply_to_known_tasks_only_and_can_be_turned_off()
    {
        var generator = new FakeEmbeddingGenerator(2);
        var history = new List<OutcomeRecord>();
        int id = 0;
        foreach (int score in new[] { 0, 0, 0, 1 })
        {
            history.Add(Record($"m{id++}", [1, 0], "math", new ModelOutcome("cheap", score, 10)));
        }

        for (int i = 0; i < 4; i++)
        {
            history.Add(Record($"l{id++}", [0, 1], "law", new ModelOutcome("cheap", 1, 10)));
        }

        static SchedulingQuery Q(string? task) => new(FakeEmbeddingGenerator.Text(1, 1), 10, task);
        SchedulingQuery[] queries = [Q("math"), Q("law"), Q("biology"), Q(null)];

        KnnPredictor raw = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 0, PriorPseudoCount = 0 });
        PredictionMatrix p = await raw.PredictAsync(queries, [Cheap]);
        Assert.That(p.Quality.ToArray(), Is.EqualTo((double[])[0.25, 1, 0.625, 0.625]).Within(1e-9));

        KnnPredictor noTasks = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 0, PriorPseudoCount = 0, UseTaskPriors = false });
        p = await noTasks.PredictAsync(queries, [Cheap]);
        Assert.That(p.Quality.ToArray(), Is.EqualTo((double[])[0.625, 0.625, 0.625, 0.625]).Within(1e-9));

        // With 4 pseudo-records, "math" (1 of 4) shrinks halfway toward the overall 5/8.
        KnnPredictor pseudo = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 0, PriorPseudoCount = 4 });
        p = await pseudo.PredictAsync(queries, [Cheap]);
        Assert.That(p.Quality[0], Is.EqualTo((1 + (4 * 0.625)) / 8).Within(1e-9));
    }

    [Test]
    public async Task Empty_history_predicts_the_neutral_prior()
    {
        var generator = new FakeEmbeddingGenerator(2);
        KnnPredictor predictor = await KnnPredictor.CreateAsync([], generator);
        PredictionMatrix p = await predictor.PredictAsync([new("anything", 30)], Both);
        Assert.Multiple(() =>
        {
            Assert.That(predictor.Count, Is.Zero);
            Assert.That(p.Quality.ToArray(), Is.EqualTo((double[])[0.5, 0.5]));
            Assert.That(p.OutputTokens.ToArray(), Is.EqualTo((double[])[0.0, 0.0]));
            Assert.That(p.Cost[1], Is.EqualTo(Strong.CostOf(30, 0)));
            Assert.That(generator.Calls, Is.Zero, "nothing to search: no embedding needed");
        });
        Assert.That(() => p.Validate(), Throws.Nothing);
    }

    [Test]
    public async Task A_history_without_grades_predicts_neutral_quality_and_recorded_lengths()
    {
        var generator = new FakeEmbeddingGenerator(2);
        OutcomeRecord[] history =
        [
            Record("a", [1, 0], "t", new ModelOutcome("cheap", null, 40)),
            Record("b", [0, 1], "t", new ModelOutcome("cheap", null, 20)),
        ];
        KnnPredictor predictor = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 0 });
        PredictionMatrix p = await predictor.PredictAsync([new("x", 1, "t"), new("y", 1)], [Cheap, Strong]);
        Assert.Multiple(() =>
        {
            Assert.That(p.Quality.ToArray(), Is.EqualTo((double[])[0.5, 0.5, 0.5, 0.5]));
            Assert.That(p.OutputTokens[0], Is.EqualTo(30).Within(1e-9));
            Assert.That(p.OutputTokens[1], Is.EqualTo(30).Within(1e-9), "an unseen model gets the mean length over models");
        });
    }

    [Test]
    public async Task A_batch_is_embedded_in_one_call()
    {
        var generator = new FakeEmbeddingGenerator(8);
        KnnPredictor predictor = await KnnPredictor.CreateAsync(RandomHistory(50, 8, seed: 3), generator, new KnnPredictorOptions { EmbeddingBatchSize = 16 });
        Assert.That(generator.Calls, Is.EqualTo(4), "50 records in batches of 16");
        var rng = new Random(4);
        SchedulingQuery[] queries = Enumerable.Range(0, 20).Select(_ => new SchedulingQuery(FakeEmbeddingGenerator.Text(RandomUnit(rng, 8)), 10)).ToArray();
        PredictionMatrix p = await predictor.PredictAsync(queries, Both);
        Assert.That(generator.Calls, Is.EqualTo(5));
        Assert.That(() => p.Validate(), Throws.Nothing);
    }

    [Test]
    public async Task Save_and_load_round_trip_gives_the_same_predictions()
    {
        var generator = new FakeEmbeddingGenerator(8);
        List<OutcomeRecord> history = RandomHistory(300, 8, seed: 5, tasks: ["a", "b", "c"]);
        history.Add(Record("ungraded", RandomUnit(new Random(9), 8), "a", new ModelOutcome("cheap", null, 7)));
        KnnPredictor original = await KnnPredictor.CreateAsync(history, generator, new KnnPredictorOptions { K = 10 });
        using var stream = new MemoryStream();
        original.Save(stream);
        stream.Position = 0;
        KnnPredictor loaded = KnnPredictor.Load(stream, generator, new KnnPredictorOptions { K = 10 });

        var rng = new Random(6);
        SchedulingQuery[] queries = Enumerable.Range(0, 25).Select(i => new SchedulingQuery(FakeEmbeddingGenerator.Text(RandomUnit(rng, 8)), 10, i % 2 == 0 ? "b" : null)).ToArray();
        PredictionMatrix before = await original.PredictAsync(queries, Both);
        PredictionMatrix after = await loaded.PredictAsync(queries, Both);
        Assert.Multiple(() =>
        {
            Assert.That(loaded.Count, Is.EqualTo(original.Count));
            Assert.That(loaded.Dimensions, Is.EqualTo(8));
            Assert.That(after.Quality.ToArray(), Is.EqualTo(before.Quality.ToArray()));
            Assert.That(after.OutputTokens.ToArray(), Is.EqualTo(before.OutputTokens.ToArray()));
            Assert.That(after.Cost.ToArray(), Is.EqualTo(before.Cost.ToArray()));
        });
    }

    [Test]
    public async Task Loading_a_corrupt_truncated_or_foreign_stream_fails_clearly()
    {
        var generator = new FakeEmbeddingGenerator(8);
        KnnPredictor original = await KnnPredictor.CreateAsync(RandomHistory(40, 8, seed: 7), generator);
        using var stream = new MemoryStream();
        original.Save(stream);
        byte[] bytes = stream.ToArray();

        byte[] flipped = (byte[])bytes.Clone();
        flipped[bytes.Length - 100] ^= 0x40; // inside the vectors
        Assert.That(() => KnnPredictor.Load(new MemoryStream(flipped), generator),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("checksum"));
        Assert.That(() => KnnPredictor.Load(new MemoryStream(bytes[..(bytes.Length / 2)]), generator),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("truncated"));
        Assert.That(() => KnnPredictor.Load(new MemoryStream("not an index at all"u8.ToArray()), generator),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("magic"));
        // The header: magic 8, format version 4, kind "eccos.knn" 1 + 9, kind version 4; then the options (62 bytes),
        // has-hashing-embedder 1, has-model-id 1, "fake" 1 + 4, dimensions 4, the row count 4.
        const int KindVersion = 8 + 4 + 1 + 9;
        const int Dimensions = KindVersion + 4 + 62 + 1 + 1 + 1 + 4;
        byte[] future = (byte[])bytes.Clone();
        future[KindVersion] = 99;
        Assert.That(() => KnnPredictor.Load(new MemoryStream(future), generator),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("version 99"));
        byte[] other = (byte[])bytes.Clone();
        "eccos.xyz"u8.CopyTo(other.AsSpan(8 + 4 + 1));
        Assert.That(() => KnnPredictor.Load(new MemoryStream(other), generator),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("holds a saved 'eccos.xyz', not a 'eccos.knn'"));
        byte[] huge = (byte[])bytes.Clone();
        BitConverter.GetBytes(int.MaxValue).CopyTo(huge, Dimensions + 4);
        Assert.That(() => KnnPredictor.Load(new MemoryStream(huge), generator),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("corrupt at row 40"), "reads into the vectors, never allocates 2^31 rows");
        byte[] wideRows = (byte[])bytes.Clone();
        BitConverter.GetBytes(1 << 20).CopyTo(wideRows, Dimensions);
        Assert.That(() => KnnPredictor.Load(new MemoryStream(wideRows), new FakeEmbeddingGenerator(1 << 20)),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("corrupt"));
        Assert.That(() => KnnPredictor.Load(new MemoryStream(bytes), new FakeEmbeddingGenerator(8, "other-model")),
            Throws.ArgumentException.With.Message.Contains("other-model").And.Message.Contains("fake"));
        Assert.That(() => KnnPredictor.Load(new MemoryStream(bytes), new FakeEmbeddingGenerator(16)),
            Throws.ArgumentException.With.Message.Contains("16"));
    }

    [Test]
    public async Task Concurrent_adds_and_predictions_see_consistent_snapshots()
    {
        const int Dims = 8;
        var generator = new FakeEmbeddingGenerator(Dims) { Delay = TimeSpan.FromMilliseconds(1) };
        List<OutcomeRecord> initial = RandomHistory(50, Dims, seed: 8, tasks: ["x", "y"]);
        KnnPredictor predictor = await KnnPredictor.CreateAsync(initial, generator, new KnnPredictorOptions { K = 16 }, chunkRows: 16, CancellationToken.None);
        List<OutcomeRecord>[] perWriter = [.. Enumerable.Range(0, 4).Select(w =>
            RandomHistory(60, Dims, seed: 100 + w, tasks: ["x", "y", $"new{w}"]).Select(r => r with { Id = $"w{w}-{r.Id}" }).ToList())];
        var rng = new Random(10);
        SchedulingQuery[] queries = Enumerable.Range(0, 10).Select(i => new SchedulingQuery(FakeEmbeddingGenerator.Text(RandomUnit(rng, Dims)), 10, i % 2 == 0 ? "x" : "new1")).ToArray();
        ModelProfile late = new("late-model", 1, 1);

        await RaceAsync(
            predictor,
            [.. perWriter.Select((records, w) => (Func<Task>)(async () =>
            {
                foreach (OutcomeRecord r in records)
                {
                    // Writer 3 also brings a model the history never had.
                    OutcomeRecord record = w == 3 ? r with { Outputs = [.. r.Outputs, new ModelOutcome("late-model", 1, 5)] } : r;
                    await predictor.RecordAsync(record);
                }
            }))],
            async () => (await predictor.PredictAsync(queries, [Cheap, Strong, late])).Validate());

        Assert.That(predictor.Count, Is.EqualTo(50 + (4 * 60)));
        IEnumerable<OutcomeRecord> all = initial.Concat(perWriter.SelectMany((records, w) => w == 3
            ? records.Select(r => r with { Outputs = [.. r.Outputs, new ModelOutcome("late-model", 1, 5)] })
            : records));
        KnnPredictor rebuilt = await KnnPredictor.CreateAsync(all, generator, new KnnPredictorOptions { K = 16 });
        PredictionMatrix expected = await rebuilt.PredictAsync(queries, [Cheap, Strong, late]);
        PredictionMatrix actual = await predictor.PredictAsync(queries, [Cheap, Strong, late]);
        Assert.Multiple(() =>
        {
            Assert.That(actual.Quality.ToArray(), Is.EqualTo(expected.Quality.ToArray()).Within(1e-9));
            Assert.That(actual.OutputTokens.ToArray(), Is.EqualTo(expected.OutputTokens.ToArray()).Within(1e-6));
        });
    }

    [Test]
    public async Task Cancellation_stops_building_and_predicting()
    {
        var generator = new FakeEmbeddingGenerator(8);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        Assert.That(async () => await KnnPredictor.CreateAsync(RandomHistory(10, 8, 1), generator, null, cancelled.Token),
            Throws.InstanceOf<OperationCanceledException>());

        KnnPredictor predictor = await KnnPredictor.CreateAsync(RandomHistory(10, 8, 1), generator);
        SchedulingQuery[] queries = [new(FakeEmbeddingGenerator.Text(RandomUnit(new Random(2), 8)), 1)];
        Assert.That(async () => await predictor.PredictAsync(queries, Both, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await predictor.RecordAsync(RandomHistory(1, 8, 3)[0], cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(predictor.Count, Is.EqualTo(10));

        // The search itself checks the token too.
        var result = new PredictionMatrix(1, Both);
        float[] vector = RandomUnit(new Random(2), 8);
        Assert.That(() => predictor.Predict(predictor.Index.Snapshot, vector, queries, result, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Bad_input_is_rejected_with_the_record_and_model_named()
    {
        var generator = new FakeEmbeddingGenerator(2);
        OutcomeRecord bad = Record("q7", [1, 0], null, new ModelOutcome("cheap", 1.5, 3));
        Assert.That(async () => await KnnPredictor.CreateAsync([bad], generator),
            Throws.ArgumentException.With.Message.Contains("q7").And.Message.Contains("cheap").And.Property("ParamName").EqualTo("history"));
        OutcomeRecord negative = Record("q8", [1, 0], null, new ModelOutcome("strong", 1, -3));
        KnnPredictor predictor = await KnnPredictor.CreateAsync([], generator);
        Assert.That(async () => await predictor.RecordAsync(negative), Throws.ArgumentException.With.Message.Contains("q8").And.Message.Contains("negative"));
        Assert.That(async () => await KnnPredictor.CreateAsync([], generator, new KnnPredictorOptions { K = -1 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("K"));
        Assert.That(async () => await KnnPredictor.CreateAsync([], generator, new KnnPredictorOptions { MinSimilarity = 1 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("MinSimilarity"));

        // An embedder that changes its dimensions is reported, not silently mixed.
        await predictor.RecordAsync(Record("ok", [1, 0], null, new ModelOutcome("cheap", 1, 3)));
        Assert.That(async () => await predictor.PredictAsync([new SchedulingQuery(FakeEmbeddingGenerator.Text(1, 0, 0), 1)], Both),
            Throws.InvalidOperationException.With.Message.Contains("3 dimensions"));
    }

    private static float Dot(float[] a, float[] b) => a.Zip(b, (x, y) => x * y).Sum();
}
