namespace Eccos.Scheduling.Tests.Predict.Calibration;

public class HybridPredictorTests
{
    private static readonly ModelProfile[] Models = [new("x", 1, 2), new("y", 3, 4)];
    private static readonly bool[] EligibleThenNot = [true, false];

    /// <summary>
    /// Two components with independent random predictions; the truth is 0.3·first + 0.7·second for quality and
    /// exactly 0.6·first + 0.4·second for output tokens.
    /// </summary>
    private static (IPredictor First, IPredictor Second, List<OutcomeRecord> Records) KnownBlend(int queries, int seed)
    {
        var rng = new Random(seed);
        var a = new Dictionary<(string, string), (double Q, double T)>();
        var b = new Dictionary<(string, string), (double Q, double T)>();
        var records = new List<OutcomeRecord>();
        for (int i = 0; i < queries; i++)
        {
            string id = $"{seed}-{i}";
            var outputs = new List<ModelOutcome>();
            foreach (ModelProfile m in Models)
            {
                (double Q, double T) pa = (rng.NextDouble(), rng.Next(10, 500));
                (double Q, double T) pb = (rng.NextDouble(), rng.Next(10, 500));
                a[(id, m.Name)] = pa;
                b[(id, m.Name)] = pb;
                double p = (0.3 * pa.Q) + (0.7 * pb.Q);
                outputs.Add(new ModelOutcome(m.Name, rng.NextDouble() < p ? 1 : 0, (int)Math.Round((0.6 * pa.T) + (0.4 * pb.T))));
            }

            records.Add(new OutcomeRecord(id, "q", 10, outputs));
        }

        return (new FuncPredictor((q, m) => a[(q.Id!, m.Name)]), new FuncPredictor((q, m) => b[(q.Id!, m.Name)]), records);
    }

    [TestCase(HybridQualityLoss.Brier)]
    [TestCase(HybridQualityLoss.LogLoss)]
    [TestCase(HybridQualityLoss.WithinQuery)]
    public async Task Fitting_recovers_a_known_blend(HybridQualityLoss loss)
    {
        (IPredictor first, IPredictor second, List<OutcomeRecord> records) = KnownBlend(15000, seed: 1);
        var noise = new FuncPredictor((_, _) => (0.5, 250)); // a useless third component gets (almost) no weight
        HybridPredictor h = await HybridPredictor.FitAsync([first, second, noise], records, Models, new HybridPredictorOptions { QualityLoss = loss });
        Assert.Multiple(() =>
        {
            Assert.That(h.QualityWeights[0], Is.EqualTo(0.3).Within(0.04));
            Assert.That(h.QualityWeights[1], Is.EqualTo(0.7).Within(0.04));
            Assert.That(h.QualityWeights[2], Is.LessThan(0.04));
            Assert.That(h.OutputTokenWeights[0], Is.EqualTo(0.6).Within(0.005));
            Assert.That(h.OutputTokenWeights[1], Is.EqualTo(0.4).Within(0.005));
            Assert.That(h.QualityWeights.Sum(), Is.EqualTo(1).Within(1e-12));
            Assert.That(h.OutputTokenWeights.Sum(), Is.EqualTo(1).Within(1e-12));
        });
    }

    /// <summary>
    /// Per query a level b and a contrast d: model x succeeds with b + d, model y with b − d. One component knows
    /// every level but no contrast, the other every contrast around a wrong, constant level.
    /// </summary>
    private static (IPredictor Level, IPredictor Contrast, List<OutcomeRecord> Records) LevelOrContrast(int queries, int seed, bool gradeBoth = true)
    {
        var rng = new Random(seed);
        var level = new Dictionary<string, double>();
        var contrast = new Dictionary<string, double>();
        var records = new List<OutcomeRecord>();
        for (int i = 0; i < queries; i++)
        {
            string id = $"{seed}-{i}";
            double b = 0.2 + (0.6 * rng.NextDouble());
            double d = 0.15 * ((2 * rng.NextDouble()) - 1);
            level[id] = b;
            contrast[id] = d;
            bool gradeX = gradeBoth || i % 2 == 0;
            records.Add(new OutcomeRecord(id, "q", 10,
            [
                new ModelOutcome("x", gradeX ? (rng.NextDouble() < b + d ? 1 : 0) : null, 10),
                new ModelOutcome("y", gradeBoth || !gradeX ? (rng.NextDouble() < b - d ? 1 : 0) : null, 10),
            ]));
        }

        return (new FuncPredictor((q, _) => (level[q.Id!], 10)),
                new FuncPredictor((q, m) => (m.Name == "x" ? 0.5 + contrast[q.Id!] : 0.5 - contrast[q.Id!], 10)),
                records);
    }

    [Test]
    public async Task Within_query_loss_weighs_the_component_that_ranks_the_models_of_a_query()
    {
        (IPredictor level, IPredictor contrast, List<OutcomeRecord> records) = LevelOrContrast(20000, seed: 3);
        HybridPredictor routing = await HybridPredictor.FitAsync([level, contrast], records, Models);
        HybridPredictor brier = await HybridPredictor.FitAsync([level, contrast], records, Models, new HybridPredictorOptions { QualityLoss = HybridQualityLoss.Brier });
        Assert.Multiple(() =>
        {
            Assert.That(new HybridPredictorOptions().QualityLoss, Is.EqualTo(HybridQualityLoss.WithinQuery), "the default is the routing loss");
            Assert.That(routing.QualityWeights[1], Is.GreaterThan(0.95), "only the contrast component separates x from y within a query");
            Assert.That(brier.QualityWeights[0], Is.GreaterThan(0.5), "Brier rewards the levels, which vary more than the contrasts");
        });
    }

    [Test]
    public async Task Within_query_loss_falls_back_to_brier_when_no_record_has_two_graded_answers()
    {
        (IPredictor level, IPredictor contrast, List<OutcomeRecord> records) = LevelOrContrast(4000, seed: 4, gradeBoth: false);
        HybridPredictor routing = await HybridPredictor.FitAsync([level, contrast], records, Models);
        HybridPredictor brier = await HybridPredictor.FitAsync([level, contrast], records, Models, new HybridPredictorOptions { QualityLoss = HybridQualityLoss.Brier });
        Assert.That(routing.QualityWeights, Is.EqualTo(brier.QualityWeights));
    }

    [Test]
    public async Task Hand_set_weights_blend_quality_and_tokens_and_recompute_cost()
    {
        var a = new FuncPredictor((_, _) => (0.2, 100));
        var b = new FuncPredictor((_, _) => (0.8, 300));
        var unused = new FuncPredictor((_, _) => throw new InvalidOperationException("a component with zero weights must not be called"));
        var h = new HybridPredictor([a, b, unused], [1, 3, 0], [3, 1, 0]); // normalized to (0.25, 0.75) and (0.75, 0.25)
        PredictionMatrix p = await h.PredictAsync([new("q", 1000)], Models);
        Assert.Multiple(() =>
        {
            Assert.That(h.QualityWeights, Is.EqualTo(Values(0.25, 0.75, 0)));
            Assert.That(p.Quality[0], Is.EqualTo(0.65).Within(1e-12));
            Assert.That(p.OutputTokens[0], Is.EqualTo(150).Within(1e-12));
            Assert.That(p.Cost[1], Is.EqualTo(Models[1].CostOf(1000, 150)).Within(1e-15));
            Assert.That(unused.Calls, Is.Zero);
        });
    }

    [Test]
    public async Task Components_predict_concurrently_and_eligibility_is_their_conjunction()
    {
        int started = 0;
        var bothStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        IPredictor Waiting(bool eligibleY) => new DelegatePredictor(async (queries, models, ct) =>
        {
            if (Interlocked.Increment(ref started) == 2)
            {
                bothStarted.SetResult();
            }

            // Blocks its thread until the other component has started too: only concurrent calls get past this.
            if (!bothStarted.Task.Wait(TimeSpan.FromSeconds(10), ct))
            {
                throw new TimeoutException("The other component never started: components were not called concurrently.");
            }

            var p = new PredictionMatrix(queries.Count, models);
            p.Set(0, 0, 0.5, 0);
            p.EligibleRow(0)[1] = eligibleY;
            return await Task.FromResult(p);
        });

        var h = new HybridPredictor([Waiting(true), Waiting(false)], [1, 1]);
        PredictionMatrix result = await h.PredictAsync([new("q", 1)], Models).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Multiple(() =>
        {
            Assert.That(bothStarted.Task.IsCompleted, Is.True);
            Assert.That(result.EligibleRow(0).ToArray(), Is.EqualTo(EligibleThenNot));
        });
    }

    [Test]
    public async Task Concurrent_predictions_agree_with_sequential_ones()
    {
        var data = new Synthetic(300, seed: 8);
        var h = new HybridPredictor([data.Oracle(p => p), TaskPriorPredictor.Fit(data.Records)], [0.4, 0.6]);
        SchedulingQuery[] queries = data.Records.Select(r => r.ToQuery()).ToArray();
        double[] expected = (await h.PredictAsync(queries, data.Models)).Quality.ToArray();
        double[][] results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () => (await h.PredictAsync(queries, data.Models)).Quality.ToArray())));
        Assert.That(results, Has.All.EqualTo(expected));
        Assert.That(async () => await h.PredictAsync(queries, data.Models, new CancellationToken(true)), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Bad_arguments_are_named()
    {
        var a = new FuncPredictor((_, _) => (0.5, 1));
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentException>(() => new HybridPredictor([], [1]))!.ParamName, Is.EqualTo("components"));
            Assert.That(Assert.Throws<ArgumentException>(() => new HybridPredictor([a, null!], [1, 1]))!.Message, Does.Contain("Component 1"));
            Assert.That(Assert.Throws<ArgumentException>(() => new HybridPredictor([a], [1, 1]))!.ParamName, Is.EqualTo("qualityWeights"));
            Assert.That(Assert.Throws<ArgumentException>(() => new HybridPredictor([a, a], [1, -1]))!.Message, Does.Contain("Weight 1"));
            Assert.That(Assert.Throws<ArgumentException>(() => new HybridPredictor([a, a], [1, 1], [0, 0]))!.ParamName, Is.EqualTo("outputTokenWeights"));
        });
        var data = new Synthetic(10, seed: 1);
        Assert.That((await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => HybridPredictor.FitAsync([a], data.Records, data.Models, new HybridPredictorOptions { GridResolution = 0 })))!.ParamName, Is.EqualTo("options"));
        Assert.That((await Assert.ThrowsAsync<ArgumentException>(() => HybridPredictor.FitAsync([a, a], data.Records, Models)))!.ParamName, Is.EqualTo("validation"));
    }

    private static double[] Values(params double[] values) => values;

    private sealed class DelegatePredictor(Func<IReadOnlyList<SchedulingQuery>, IReadOnlyList<ModelProfile>, CancellationToken, Task<PredictionMatrix>> predict) : IPredictor
    {
        public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default) =>
            new(predict(queries, models, cancellationToken));
    }
}
