using Eccos.Scheduling.ML.Tests.TestSupport;

namespace Eccos.Scheduling.ML.Tests;

[TestFixture]
public sealed class MlPredictorTests
{
    private List<OutcomeRecord> _train = null!;
    private List<OutcomeRecord> _test = null!;
    private MlPredictor _predictor = null!;

    [OneTimeSetUp]
    public void TrainOnce()
    {
        _train = SyntheticOutcomes.Generate(600, seed: 1);
        _test = SyntheticOutcomes.Generate(300, seed: 2, idPrefix: "t");
        _predictor = _train.TrainMlPredictor(SyntheticOutcomes.Models);
    }

    [Test]
    public async Task Learns_the_signal_that_the_features_carry()
    {
        PredictionMetrics metrics = await PredictionMetrics.EvaluateAsync(_predictor, _test, SyntheticOutcomes.Models);
        PredictionMatrix p = await _predictor.PredictAsync(Queries(_test), SyntheticOutcomes.Models);
        double trickyQuality = MeanQuality(p, _test, tricky: true);
        double plainQuality = MeanQuality(p, _test, tricky: false);
        double verboseTokens = MeanColumn(p.OutputTokens, p.ModelCount, 2);
        double strongTokens = MeanColumn(p.OutputTokens, p.ModelCount, 0);

        Assert.Multiple(() =>
        {
            // The text keyword alone separates hard from easy queries; the task and the model add to it. The true
            // probabilities of the generator score a pooled AUC of 0.84; the task priors alone about 0.66.
            Assert.That(metrics.Auc, Is.GreaterThan(0.77), "pooled AUC");
            Assert.That(metrics.MeanPerModelAuc, Is.GreaterThan(0.75), "mean per-model AUC");
            Assert.That(metrics.Ece, Is.LessThan(0.1), "calibration");
            Assert.That(trickyQuality, Is.LessThan(plainQuality - 0.3), "queries marked tricky look harder");
            Assert.That(MeanColumn(p.Quality, p.ModelCount, 0), Is.GreaterThan(MeanColumn(p.Quality, p.ModelCount, 1) + 0.15), "strong beats weak");
            Assert.That(verboseTokens, Is.GreaterThan(5 * strongTokens), "the verbose model answers longer");
            Assert.That(metrics.OutputTokensMae, Is.LessThan(60), "length error");
        });
        Predictions.AssertValid(p);
    }

    [Test]
    public async Task Every_trainer_and_layout_learns_and_round_trips([Values] MlTrainer trainer, [Values] MlModelLayout layout)
    {
        var options = new MlPredictorOptions { Trainer = trainer, Layout = layout, NumberOfTrees = 60 };
        MlPredictor predictor = _train.TrainMlPredictor(SyntheticOutcomes.Models, options);

        PredictionMetrics metrics = await PredictionMetrics.EvaluateAsync(predictor, _test, SyntheticOutcomes.Models);
        MlPredictor loaded = RoundTrip(predictor);
        PredictionMatrix before = await predictor.PredictAsync(Queries(_test), SyntheticOutcomes.Models);
        PredictionMatrix after = await loaded.PredictAsync(Queries(_test), SyntheticOutcomes.Models);

        Assert.Multiple(() =>
        {
            Assert.That(metrics.Auc, Is.GreaterThan(0.77));
            Assert.That(loaded.Options.Trainer, Is.EqualTo(trainer));
            Assert.That(loaded.Options.Layout, Is.EqualTo(layout));
            Assert.That(after.Quality.ToArray(), Is.EqualTo(before.Quality.ToArray()));
            Assert.That(after.OutputTokens.ToArray(), Is.EqualTo(before.OutputTokens.ToArray()));
            Assert.That(after.Cost.ToArray(), Is.EqualTo(before.Cost.ToArray()));
        });
    }

    [Test]
    public async Task A_handful_of_records_is_enough_to_train([Values] MlTrainer trainer, [Values] MlModelLayout layout)
    {
        var options = new MlPredictorOptions { Trainer = trainer, Layout = layout, NumberOfTrees = 10 };

        MlPredictor predictor = _train.Take(8).TrainMlPredictor(SyntheticOutcomes.Models, options);
        PredictionMatrix p = await predictor.PredictAsync(Queries(_test.Take(5)), SyntheticOutcomes.Models);

        Predictions.AssertValid(p);
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task Fewer_records_than_folds_still_train(int count)
    {
        MlPredictor predictor = _train.Take(count).TrainMlPredictor(SyntheticOutcomes.Models);
        PredictionMatrix p = await predictor.PredictAsync(Queries(_test.Take(5)), SyntheticOutcomes.Models);

        Predictions.AssertValid(p);
    }

    [Test]
    public async Task Feature_groups_can_be_turned_off()
    {
        var priorsOnly = new MlPredictorOptions { Features = MlFeatures.TaskPrior, NumberOfTrees = 60 };
        MlPredictor predictor = _train.TrainMlPredictor(SyntheticOutcomes.Models, priorsOnly);

        PredictionMetrics withoutText = await PredictionMetrics.EvaluateAsync(predictor, _test, SyntheticOutcomes.Models);
        PredictionMetrics withText = await PredictionMetrics.EvaluateAsync(_predictor, _test, SyntheticOutcomes.Models);

        // Without the text the keyword is invisible: per-model discrimination collapses to the task's.
        Assert.That(withoutText.MeanPerModelAuc, Is.LessThan(withText.MeanPerModelAuc - 0.1));
    }

    [Test]
    public async Task Save_and_load_give_identical_predictions()
    {
        using var stream = new MemoryStream();
        _predictor.Save(stream);
        stream.Position = 0;
        MlPredictor loaded = MlPredictor.Load(stream);

        PredictionMatrix before = await _predictor.PredictAsync(Queries(_test), SyntheticOutcomes.Models);
        PredictionMatrix after = await loaded.PredictAsync(Queries(_test), SyntheticOutcomes.Models);

        Assert.Multiple(() =>
        {
            Assert.That(after.Quality.ToArray(), Is.EqualTo(before.Quality.ToArray()));
            Assert.That(after.OutputTokens.ToArray(), Is.EqualTo(before.OutputTokens.ToArray()));
            Assert.That(after.Cost.ToArray(), Is.EqualTo(before.Cost.ToArray()));
            Assert.That(loaded.TrainedModels, Is.EqualTo(_predictor.TrainedModels));
            Assert.That(loaded.Tasks, Is.EqualTo((string[])["history", "physics"]));
        });
    }

    [Test]
    public void Load_rejects_what_is_not_a_saved_predictor()
    {
        using var empty = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(empty, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            zip.CreateEntry("something-else.txt");
        }

        empty.Position = 0;
        using var prior = new MemoryStream();
        TaskPriorPredictor.Fit([]).Save(prior);
        prior.Position = 0;
        Assert.Multiple(() =>
        {
            Assert.That(() => MlPredictor.Load(empty), Throws.TypeOf<InvalidDataException>().With.Message.Contains("magic"));
            Assert.That(() => MlPredictor.Load(prior), Throws.TypeOf<InvalidDataException>().With.Message.Contains("'eccos.task-prior', not a 'eccos.ml'"));
        });
    }

    [Test]
    public void Load_rejects_another_version_and_a_corrupt_file()
    {
        using var saved = new MemoryStream();
        _predictor.Save(saved);
        byte[] bytes = saved.ToArray();
        byte[] future = (byte[])bytes.Clone();
        future[8 + 4 + 1 + "eccos.ml".Length] = 99; // magic, format version, kind: then the kind's version
        byte[] flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0x10;
        Assert.Multiple(() =>
        {
            Assert.That(() => MlPredictor.Load(new MemoryStream(future)), Throws.TypeOf<InvalidDataException>().With.Message.Contains("version 99"));
            Assert.That(() => MlPredictor.Load(new MemoryStream(flipped)), Throws.TypeOf<InvalidDataException>().With.Message.Contains("checksum"));
            Assert.That(() => MlPredictor.Load(new MemoryStream(bytes[..(bytes.Length - 10)])), Throws.TypeOf<InvalidDataException>().With.Message.Contains("truncated"));
        });
    }

    [Test]
    public async Task A_hybrid_with_an_ml_component_loads_through_a_loader_that_knows_it()
    {
        var hybrid = new HybridPredictor([_predictor, TaskPriorPredictor.Fit(_train)], [0.7, 0.3]);
        using var saved = new MemoryStream();
        hybrid.Save(saved);

        saved.Position = 0;
        Assert.That(() => new PredictorLoader().Load(saved), Throws.TypeOf<InvalidDataException>().With.Message.Contains("'eccos.ml'"), "the core loader does not know ML.NET");
        saved.Position = 0;
        IPredictor loaded = new PredictorLoader().AddMlPredictor().Load(saved);

        IReadOnlyList<SchedulingQuery> queries = Queries(_test);
        PredictionMatrix expected = await hybrid.PredictAsync(queries, SyntheticOutcomes.Models);
        PredictionMatrix actual = await loaded.PredictAsync(queries, SyntheticOutcomes.Models);
        Assert.Multiple(() =>
        {
            Assert.That(actual.Quality.ToArray(), Is.EqualTo(expected.Quality.ToArray()));
            Assert.That(actual.Cost.ToArray(), Is.EqualTo(expected.Cost.ToArray()));
        });
    }

    [Test]
    public async Task Save_and_load_work_on_streams_that_cannot_seek()
    {
        using var buffer = new MemoryStream();
        using (var forwardOnly = new ForwardOnlyStream(buffer))
        {
            _predictor.Save(forwardOnly);
        }

        using var reading = new ForwardOnlyStream(new MemoryStream(buffer.ToArray()));
        MlPredictor loaded = MlPredictor.Load(reading);

        PredictionMatrix before = await _predictor.PredictAsync(Queries(_test.Take(20)), SyntheticOutcomes.Models);
        PredictionMatrix after = await loaded.PredictAsync(Queries(_test.Take(20)), SyntheticOutcomes.Models);
        Assert.Multiple(() =>
        {
            Assert.That(after.Quality.ToArray(), Is.EqualTo(before.Quality.ToArray()));
            Assert.That(() => _predictor.Save(new MemoryStream([], writable: false)),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("stream"));
        });
    }

    [Test]
    public async Task Training_is_deterministic_for_a_seed()
    {
        var options = new MlPredictorOptions { NumberOfTrees = 40, Seed = 7 };
        MlPredictor a = _train.TrainMlPredictor(SyntheticOutcomes.Models, options);
        MlPredictor b = _train.TrainMlPredictor(SyntheticOutcomes.Models, options);

        PredictionMatrix pa = await a.PredictAsync(Queries(_test), SyntheticOutcomes.Models);
        PredictionMatrix pb = await b.PredictAsync(Queries(_test), SyntheticOutcomes.Models);

        Assert.That(pb.Quality.ToArray(), Is.EqualTo(pa.Quality.ToArray()));
    }

    [Test]
    public async Task Concurrent_predictions_equal_sequential_ones()
    {
        SchedulingQuery[] queries = Queries(_test);
        var batches = Enumerable.Range(0, 8).Select(b => queries.Skip(b * 37).Take(60).ToArray()).ToArray();
        var expected = new PredictionMatrix[batches.Length];
        for (int b = 0; b < batches.Length; b++)
        {
            expected[b] = await _predictor.PredictAsync(batches[b], SyntheticOutcomes.Models);
        }

        PredictionMatrix[] actual = await Task.WhenAll(Enumerable.Range(0, 4 * batches.Length).Select(k =>
            Task.Run(async () => await _predictor.PredictAsync(batches[k % batches.Length], SyntheticOutcomes.Models))));

        Assert.Multiple(() =>
        {
            for (int k = 0; k < actual.Length; k++)
            {
                Assert.That(actual[k].Quality.ToArray(), Is.EqualTo(expected[k % batches.Length].Quality.ToArray()), $"call {k}");
                Assert.That(actual[k].OutputTokens.ToArray(), Is.EqualTo(expected[k % batches.Length].OutputTokens.ToArray()), $"call {k}");
            }
        });
    }

    [Test]
    public async Task An_unseen_model_gets_the_pool_prior_and_its_own_cost()
    {
        var newcomer = new ModelProfile("newcomer", 2.0, 10.0);
        ModelProfile[] models = [SyntheticOutcomes.Strong, newcomer];
        SchedulingQuery[] queries = Queries(_test.Take(50));

        PredictionMatrix p = await _predictor.PredictAsync(queries, models);

        double poolRate = _train.SelectMany(r => r.Outputs).Average(o => o.Quality!.Value);
        Assert.Multiple(() =>
        {
            for (int i = 0; i < queries.Length; i++)
            {
                double q = p.QualityRow(i)[1];
                double tokens = p.OutputTokensRow(i)[1];
                Assert.That(q, Is.EqualTo(poolRate).Within(0.2), $"query {i}: the task's pool rate");
                Assert.That(tokens, Is.GreaterThan(0), $"query {i}");
                Assert.That(p.CostRow(i)[1], Is.EqualTo(newcomer.CostOf(queries[i].InputTokens, tokens)).Within(1e-15));
            }

            // The same task gives the same prior, whatever the text.
            var physics = Enumerable.Range(0, queries.Length).Where(i => queries[i].Task == "physics").Select(i => p.QualityRow(i)[1]).Distinct();
            Assert.That(physics.Count(), Is.EqualTo(1));
        });
        Predictions.AssertValid(p);
    }

    [Test]
    public async Task Unseen_task_and_plain_text_still_predict()
    {
        SchedulingQuery[] queries = [new("What is the capital of France?", 8, "geography"), new(string.Empty, 0)];

        PredictionMatrix p = await _predictor.PredictAsync(queries, SyntheticOutcomes.Models);

        Predictions.AssertValid(p);
        Assert.That(p.QueryCount, Is.EqualTo(2));
    }

    [Test]
    public async Task Training_without_any_text_still_works()
    {
        List<OutcomeRecord> textless = [.. _train.Take(200).Select(r => r with { Text = string.Empty })];

        MlPredictor predictor = textless.TrainMlPredictor(SyntheticOutcomes.Models, new MlPredictorOptions { NumberOfTrees = 20 });
        PredictionMatrix p = await predictor.PredictAsync(Queries(_test.Take(10)), SyntheticOutcomes.Models);

        Predictions.AssertValid(p);
    }

    [Test]
    public async Task Outputs_without_a_score_count_for_length_only()
    {
        var unscored = new ModelProfile("unscored", 0.2, 0.2);
        List<OutcomeRecord> train = [.. _train.Select(r => r with
        {
            Outputs = [.. r.Outputs, new ModelOutcome(unscored.Name, null, 1000)],
        })];
        ModelProfile[] models = [.. SyntheticOutcomes.Models, unscored];
        MlPredictor predictor = train.TrainMlPredictor(models, new MlPredictorOptions { NumberOfTrees = 60 });

        PredictionMatrix p = await predictor.PredictAsync(Queries(_test.Take(40)), models);

        Assert.Multiple(() =>
        {
            Assert.That(MeanColumn(p.OutputTokens, p.ModelCount, 3), Is.EqualTo(1000).Within(150), "length learned from unscored outputs");
            var quality = Enumerable.Range(0, p.QueryCount).Select(i => p.QualityRow(i)[3]).ToArray();
            Assert.That(quality, Is.All.InRange(0.0, 1.0));
            Assert.That(quality.Distinct().Count(), Is.LessThanOrEqualTo(2), "no graded data: the (per-task) prior");
        });
    }

    [Test]
    public void Bad_training_input_names_the_argument_and_the_record()
    {
        var trainer = new MlPredictorTrainer(new MlPredictorOptions { NumberOfTrees = 5 });
        OutcomeRecord good = _train[0];
        OutcomeRecord badScore = good with { Id = "bad-score", Outputs = [new ModelOutcome("weak", 1.5, 10)] };
        OutcomeRecord badTokens = good with { Id = "bad-tokens", Outputs = [new ModelOutcome("strong", 1, -3)] };
        OutcomeRecord twice = good with { Id = "twice", Outputs = [new ModelOutcome("strong", 1, 3), new ModelOutcome("strong", 0, 3)] };

        Assert.Multiple(() =>
        {
            Assert.That(() => trainer.Fit([], SyntheticOutcomes.Models),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("training"));
            Assert.That(() => trainer.Fit([good, null!], SyntheticOutcomes.Models),
                Throws.ArgumentException.With.Message.Contains("Record 1").And.Property("ParamName").EqualTo("training"));
            Assert.That(() => trainer.Fit([good, badScore], SyntheticOutcomes.Models),
                Throws.ArgumentException.With.Message.Contains("bad-score").And.Message.Contains("'weak'").And.Message.Contains("score"));
            Assert.That(() => trainer.Fit([badTokens], SyntheticOutcomes.Models),
                Throws.ArgumentException.With.Message.Contains("bad-tokens").And.Message.Contains("'strong'").And.Message.Contains("output tokens"));
            Assert.That(() => trainer.Fit([twice], SyntheticOutcomes.Models),
                Throws.ArgumentException.With.Message.Contains("twice"));
            Assert.That(() => trainer.Fit([good, good with { InputTokens = -1 }], SyntheticOutcomes.Models),
                Throws.ArgumentException.With.Message.Contains("input tokens"));
            Assert.That(() => trainer.Fit([good], [SyntheticOutcomes.Strong, SyntheticOutcomes.Strong]),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("models").And.Message.Contains("'strong'"));
            Assert.That(() => trainer.Fit([good], []),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("models"));
            Assert.That(() => trainer.Fit(null!, SyntheticOutcomes.Models), Throws.ArgumentNullException);
        });
    }

    [Test]
    public void Bad_options_name_the_property()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new MlPredictorTrainer(new MlPredictorOptions { NumberOfTrees = 0 }),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("options").And.Message.Contains("NumberOfTrees"));
            Assert.That(() => new MlPredictorTrainer(new MlPredictorOptions { LearningRate = 2 }),
                Throws.ArgumentException.With.Message.Contains("LearningRate"));
            Assert.That(() => new MlPredictorTrainer(new MlPredictorOptions { NumberOfFolds = 1 }),
                Throws.ArgumentException.With.Message.Contains("NumberOfFolds"));
            Assert.That(() => new MlPredictorTrainer(new MlPredictorOptions { PriorPseudoCount = double.NaN }),
                Throws.ArgumentException.With.Message.Contains("PriorPseudoCount"));
            Assert.That(() => new MlPredictorTrainer(new MlPredictorOptions { Trainer = (MlTrainer)42 }),
                Throws.ArgumentException.With.Message.Contains("Trainer"));
        });
    }

    [Test]
    public void Bad_queries_name_their_index()
    {
        SchedulingQuery[] queries = [new("fine", 3), null!];

        Assert.Multiple(() =>
        {
            Assert.That(async () => await _predictor.PredictAsync(queries, SyntheticOutcomes.Models),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("queries").And.Message.Contains("Query 1"));
            Assert.That(async () => await _predictor.PredictAsync([null!], SyntheticOutcomes.Models),
                Throws.ArgumentException.With.Message.Contains("Query 0"));
            Assert.That(async () => await _predictor.PredictAsync(queries[..1], [SyntheticOutcomes.Weak, SyntheticOutcomes.Weak]),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("models"));
        });
    }

    [Test]
    public void Cancellation_stops_training_and_prediction()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.Multiple(() =>
        {
            Assert.That(() => new MlPredictorTrainer().Fit(_train, SyntheticOutcomes.Models, cancelled.Token),
                Throws.InstanceOf<OperationCanceledException>());
            Assert.That(async () => await _predictor.PredictAsync(Queries(_test), SyntheticOutcomes.Models, cancelled.Token),
                Throws.InstanceOf<OperationCanceledException>());
        });
    }

    [Test]
    public void Cancellation_during_training_is_observed_between_steps()
    {
        using var cts = new CancellationTokenSource();
        IEnumerable<OutcomeRecord> CancelWhileReading()
        {
            foreach (OutcomeRecord r in _train)
            {
                yield return r;
            }

            cts.Cancel(); // the records are read; training has not started
        }

        Assert.That(() => new MlPredictorTrainer().Fit(CancelWhileReading(), SyntheticOutcomes.Models, cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Empty_batch_gives_an_empty_matrix()
    {
        PredictionMatrix p = await _predictor.PredictAsync([], SyntheticOutcomes.Models);

        Assert.That(p.QueryCount, Is.Zero);
    }

    [Test]
    public async Task Embeddings_join_the_features_and_are_needed_to_load()
    {
        using var generator = new KeywordEmbeddingGenerator();
        var options = new MlPredictorOptions { Features = MlFeatures.TaskPrior, NumberOfTrees = 60 };
        MlPredictor predictor = await _train.TrainMlPredictorAsync(SyntheticOutcomes.Models, generator, options);
        PredictionMetrics metrics = await PredictionMetrics.EvaluateAsync(predictor, _test, SyntheticOutcomes.Models);

        using var stream = new MemoryStream();
        predictor.Save(stream);
        stream.Position = 0;
        Assert.That(() => MlPredictor.Load(stream), Throws.ArgumentException.With.Property("ParamName").EqualTo("embeddingGenerator"));
        stream.Position = 0;
        MlPredictor loaded = MlPredictor.Load(stream, generator);
        PredictionMatrix before = await predictor.PredictAsync(Queries(_test), SyntheticOutcomes.Models);
        PredictionMatrix after = await loaded.PredictAsync(Queries(_test), SyntheticOutcomes.Models);

        Assert.Multiple(() =>
        {
            // The keyword reaches the model only through the embedding here (text n-grams are off).
            Assert.That(predictor.EmbeddingDimension, Is.EqualTo(4));
            Assert.That(metrics.MeanPerModelAuc, Is.GreaterThan(0.75));
            Assert.That(after.Quality.ToArray(), Is.EqualTo(before.Quality.ToArray()));
            Assert.That(() => new MlPredictorTrainer(options, generator).Fit(_train, SyntheticOutcomes.Models),
                Throws.InvalidOperationException.With.Message.Contains(nameof(MlPredictorTrainer.FitAsync)));
        });
    }

    /// <summary>A stream that can only move forward, like a network or a pipe.</summary>
    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }

    private static MlPredictor RoundTrip(MlPredictor predictor)
    {
        using var stream = new MemoryStream();
        predictor.Save(stream);
        stream.Position = 0;
        return MlPredictor.Load(stream);
    }

    private static SchedulingQuery[] Queries(IEnumerable<OutcomeRecord> records) => [.. records.Select(r => r.ToQuery())];

    private static double MeanColumn(Span<double> values, int columns, int column)
    {
        double sum = 0;
        int n = values.Length / columns;
        for (int i = 0; i < n; i++)
        {
            sum += values[(i * columns) + column];
        }

        return sum / n;
    }

    private static double MeanQuality(PredictionMatrix p, List<OutcomeRecord> records, bool tricky)
    {
        double sum = 0;
        int count = 0;
        for (int i = 0; i < records.Count; i++)
        {
            if (records[i].Text.Contains("tricky", StringComparison.Ordinal) == tricky)
            {
                foreach (double q in p.QualityRow(i))
                {
                    sum += q;
                    count++;
                }
            }
        }

        return sum / count;
    }
}
