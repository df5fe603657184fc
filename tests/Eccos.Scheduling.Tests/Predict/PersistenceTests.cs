using Eccos.Scheduling.Tests.Predict.Calibration;

namespace Eccos.Scheduling.Tests.Predict;

/// <summary>The one saved-model format: every fitted piece round-trips exactly, and a whole pipeline loads through one loader.</summary>
public class PersistenceTests
{
    private static (Synthetic Data, IReadOnlyList<OutcomeRecord> Train, IReadOnlyList<OutcomeRecord> Validation, SchedulingQuery[] Queries) Setup()
    {
        var data = new Synthetic(600, seed: 3);
        OutcomeRecord[] records = [.. data.Records];
        SchedulingQuery[] queries = [.. new Synthetic(50, seed: 4).Records.Select(r => r.ToQuery())];
        return (data, records[..400], records[400..], queries);
    }

    private static byte[] Saved(ISavablePredictor predictor)
    {
        using var stream = new MemoryStream();
        predictor.Save(stream);
        return stream.ToArray();
    }

    private static async Task AssertSamePredictions(IPredictor expected, IPredictor actual, SchedulingQuery[] queries, IReadOnlyList<ModelProfile> models)
    {
        PredictionMatrix a = await expected.PredictAsync(queries, models);
        PredictionMatrix b = await actual.PredictAsync(queries, models);
        Assert.Multiple(() =>
        {
            Assert.That(b.Quality.ToArray(), Is.EqualTo(a.Quality.ToArray()), "quality, to the last bit");
            Assert.That(b.OutputTokens.ToArray(), Is.EqualTo(a.OutputTokens.ToArray()), "output tokens, to the last bit");
            Assert.That(b.Cost.ToArray(), Is.EqualTo(a.Cost.ToArray()), "cost, to the last bit");
            Assert.That(b.Eligible.ToArray(), Is.EqualTo(a.Eligible.ToArray()));
        });
    }

    [Test]
    public async Task A_task_prior_round_trips_with_its_options_and_keeps_learning()
    {
        var (data, train, validation, queries) = Setup();
        var options = new TaskPriorPredictorOptions { PriorPseudoCount = 3, InitialOutputTokens = 77, ScaleOutputTokensWithInput = true };
        TaskPriorPredictor original = TaskPriorPredictor.Fit(train, options);
        TaskPriorPredictor loaded = TaskPriorPredictor.Load(new MemoryStream(Saved(original)));
        await AssertSamePredictions(original, loaded, queries, data.Models);
        Assert.That(loaded.RecordCount, Is.EqualTo(original.RecordCount));

        foreach (OutcomeRecord r in validation)
        {
            original.Record(r);
            loaded.Record(r);
        }

        await AssertSamePredictions(original, loaded, queries, [.. data.Models, new ModelProfile("unseen", 1, 1)]);
    }

    [Test]
    public async Task A_hybrid_of_a_calibrated_knn_and_a_task_prior_loads_as_one_pipeline_through_the_loader()
    {
        var (data, train, validation, queries) = Setup();
        using HashingEmbeddingGenerator embedder = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text));
        KnnPredictor knn = await KnnPredictor.CreateAsync(train, embedder, new KnnPredictorOptions { K = 7, Shrinkage = 3 });
        CalibratedPredictor calibrated = await CalibratedPredictor.FitAsync(knn, validation, data.Models, new CalibratedPredictorOptions { CalibrateOutputTokens = true });
        TaskPriorPredictor prior = TaskPriorPredictor.Fit(train);
        HybridPredictor hybrid = await HybridPredictor.FitAsync([calibrated, prior], validation, data.Models);

        IPredictor loaded = new PredictorLoader().Load(new MemoryStream(Saved(hybrid)));

        Assert.That(loaded, Is.InstanceOf<HybridPredictor>());
        var h = (HybridPredictor)loaded;
        Assert.Multiple(() =>
        {
            Assert.That(h.QualityWeights, Is.EqualTo(hybrid.QualityWeights));
            Assert.That(h.OutputTokenWeights, Is.EqualTo(hybrid.OutputTokenWeights));
            Assert.That(h.Components[0], Is.InstanceOf<CalibratedPredictor>());
            Assert.That(((CalibratedPredictor)h.Components[0]).Inner, Is.InstanceOf<KnnPredictor>(), "the kNN came back with its hashing embedder");
            Assert.That(h.Components[1], Is.InstanceOf<TaskPriorPredictor>());
        });
        await AssertSamePredictions(hybrid, loaded, queries, data.Models);
    }

    [Test]
    public async Task A_knn_saves_its_options_and_a_loaded_one_predicts_exactly_as_the_original()
    {
        var (data, train, _, queries) = Setup();
        using HashingEmbeddingGenerator embedder = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text));
        var options = new KnnPredictorOptions { K = 5, Shrinkage = 9, PriorPseudoCount = 2, PoolDifficulty = false, Search = KnnSearch.Exact };
        KnnPredictor original = await KnnPredictor.CreateAsync(train, embedder, options);
        KnnPredictor selfContained = KnnPredictor.Load(new MemoryStream(Saved(original)));
        await AssertSamePredictions(original, selfContained, queries, data.Models);

        var fake = new Knn.FakeEmbeddingGenerator(4);
        KnnPredictor external = await KnnPredictor.CreateAsync(Knn.KnnTestData.RandomHistory(30, 4, seed: 1), fake);
        Assert.That(() => KnnPredictor.Load(new MemoryStream(Saved(external))),
            Throws.ArgumentException.With.Message.Contains("'fake'").And.Message.Contains("pass that embedding generator"));
    }

    [Test]
    public void Unknown_kinds_and_components_that_cannot_be_saved_fail_clearly()
    {
        using var curve = new MemoryStream();
        QualityTargetCurve.Identity.Save(curve);
        curve.Position = 0;
        var notSavable = new HybridPredictor([new FuncPredictor((_, _) => (0.5, 10))], [1]);
        Assert.Multiple(() =>
        {
            Assert.That(() => new PredictorLoader().Load(curve),
                Throws.TypeOf<InvalidDataException>().With.Message.Contains("'eccos.target-curve', which no loader is registered for").And.Message.Contains("eccos.knn"));
            Assert.That(() => notSavable.Save(new MemoryStream()),
                Throws.TypeOf<NotSupportedException>().With.Message.Contains("FuncPredictor").And.Message.Contains("ISavablePredictor"));
            Assert.That(() => new PredictorLoader().Load(new MemoryStream("hello"u8.ToArray())),
                Throws.TypeOf<InvalidDataException>().With.Message.Contains("magic"));
        });
    }

    [Test]
    public void Every_saved_piece_detects_corruption_and_truncation()
    {
        var (_, train, _, _) = Setup();
        using HashingEmbeddingGenerator embedder = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text));
        IsotonicCalibrator isotonic = IsotonicCalibrator.Fit([0.1, 0.5, 0.9], [0, 1, 1]);
        var curve = new QualityTargetCurve([0.5, 0.8], [0.55, 0.9]);
        (string Name, byte[] Bytes, Func<Stream, object> Load)[] pieces =
        [
            ("task prior", Saved(TaskPriorPredictor.Fit(train)), s => TaskPriorPredictor.Load(s)),
            ("hashing embedder", Bytes(embedder.Save), s => HashingEmbeddingGenerator.Load(s)),
            ("isotonic", Bytes(isotonic.Save), s => IsotonicCalibrator.Load(s)),
            ("target curve", Bytes(curve.Save), s => QualityTargetCurve.Load(s)),
        ];
        Assert.Multiple(() =>
        {
            foreach ((string name, byte[] bytes, Func<Stream, object> load) in pieces)
            {
                byte[] flipped = (byte[])bytes.Clone();
                flipped[^40] ^= 0x01;
                Assert.That(() => load(new MemoryStream(flipped)), Throws.TypeOf<InvalidDataException>(), name);
                Assert.That(() => load(new MemoryStream(bytes[..^5])), Throws.TypeOf<InvalidDataException>().With.Message.Contains("truncated"), name);
                Assert.That(() => load(new MemoryStream(bytes)), Throws.Nothing, name);
            }
        });

        static byte[] Bytes(Action<Stream> save)
        {
            using var stream = new MemoryStream();
            save(stream);
            return stream.ToArray();
        }
    }

    [Test]
    public void Model_files_follow_each_other_in_one_stream()
    {
        using var stream = new MemoryStream();
        var curve = new QualityTargetCurve([0.5, 0.8], [0.55, 0.9]);
        curve.Save(stream);
        IsotonicCalibrator.Fit([0.1, 0.9], [0, 1]).Save(stream);
        stream.Position = 0;
        Assert.Multiple(() =>
        {
            Assert.That(QualityTargetCurve.Load(stream).Targets, Is.EqualTo(curve.Targets));
            Assert.That(IsotonicCalibrator.Load(stream).Apply(0.9), Is.EqualTo(1));
            Assert.That(stream.Position, Is.EqualTo(stream.Length));
        });
    }
}
