namespace Eccos.Scheduling.Tests.Predict;

public class TaskPriorPredictorTests
{
    private static readonly ModelProfile A = new("a", 1, 2);
    private static readonly ModelProfile B = new("b", 3, 4);
    private static readonly ModelProfile Unseen = new("never-seen", 5, 6);

    private static OutcomeRecord Rec(string id, string? task, int input, params (string Model, double? Score, int Out)[] outputs) =>
        new(id, "q " + id, input, outputs.Select(o => new ModelOutcome(o.Model, o.Score, o.Out)).ToList(), task);

    private static readonly OutcomeRecord[] Data =
    [
        Rec("1", "math", 10, ("a", 1, 100), ("b", 0, 10)),
        Rec("2", "math", 10, ("a", 1, 300), ("b", 0, 30)),
        Rec("3", "law", 10, ("a", 0, 50), ("b", 1, 20)),
        Rec("4", "law", 10, ("a", 0, 50), ("b", null, 40)), // ungraded: length only
    ];

    private static TaskPriorPredictorOptions Options(double k) =>
        new() { PriorPseudoCount = k, ScaleOutputTokensWithInput = false };

    [Test]
    public async Task Without_shrinkage_predictions_are_the_per_task_rates_and_mean_lengths()
    {
        var p = TaskPriorPredictor.Fit(Data, Options(0));
        PredictionMatrix m = await p.PredictAsync([new("x", 20, "math"), new("y", 20, "law")], [A, B]);
        Assert.Multiple(() =>
        {
            Assert.That(m.QualityRow(0).ToArray(), Is.EqualTo(Values(1.0, 0.0)));
            Assert.That(m.QualityRow(1).ToArray(), Is.EqualTo(Values(0.0, 1.0))); // b's ungraded law answer is not a 0
            Assert.That(m.OutputTokensRow(0).ToArray(), Is.EqualTo(Values(200.0, 20.0)));
            Assert.That(m.OutputTokensRow(1).ToArray(), Is.EqualTo(Values(50.0, 30.0))); // …but counts for length
            Assert.That(m.CostRow(0).ToArray(), Is.EqualTo(Values(A.CostOf(20, 200), B.CostOf(20, 20))));
            Assert.That(p.RecordCount, Is.EqualTo(4));
        });
    }

    [Test]
    public async Task Shrinkage_follows_the_documented_formula()
    {
        const double k = 2;
        var p = TaskPriorPredictor.Fit(Data, Options(k));
        // Pool: 7 graded answers, 3 right → 3 / 7 (the pool is not shrunk). Model a: 4 graded, 2 right. a in math: 2 of 2.
        double pool = 3.0 / 7;
        double aGlobal = (2 + (k * pool)) / (4 + k);
        double aMath = (2 + (k * aGlobal)) / (2 + k);
        double poolTokens = (100 + 10 + 300 + 30 + 50 + 20 + 50 + 40) / 8.0;
        double aTokens = (500 + (k * poolTokens)) / (4 + k);
        double aMathTokens = (400 + (k * aTokens)) / (2 + k);
        PredictionMatrix m = await p.PredictAsync([new("x", 5, "math"), new("y", 5), new("z", 5, "unknown task")], [A]);
        Assert.Multiple(() =>
        {
            Assert.That(m.Quality[0], Is.EqualTo(aMath).Within(1e-12));
            Assert.That(m.OutputTokens[0], Is.EqualTo(aMathTokens).Within(1e-9));
            Assert.That(m.Quality[1], Is.EqualTo(aGlobal).Within(1e-12), "no task → the model's global rate");
            Assert.That(m.Quality[2], Is.EqualTo(aGlobal).Within(1e-12), "unknown task → the model's global rate");
            Assert.That(m.OutputTokens[2], Is.EqualTo(aTokens).Within(1e-9));
        });
    }

    [Test]
    public async Task A_model_never_seen_gets_the_pool_rate_in_the_task_and_an_empty_predictor_the_initial_values()
    {
        var p = TaskPriorPredictor.Fit(Data, Options(0));
        PredictionMatrix m = await p.PredictAsync([new("x", 1, "math"), new("y", 1)], [Unseen, A]);
        var empty = new TaskPriorPredictor(new TaskPriorPredictorOptions { InitialQuality = 0.4, InitialOutputTokens = 99 });
        PredictionMatrix e = await empty.PredictAsync([new("x", 1000, "math")], [Unseen]);
        Assert.Multiple(() =>
        {
            Assert.That(m.Quality[0], Is.EqualTo(0.5), "pool in math: 2 right of 4");
            Assert.That(m.OutputTokens[0], Is.EqualTo(110.0).Within(1e-9), "pool in math: (100+10+300+30)/4");
            Assert.That(m.Quality[2], Is.EqualTo(3.0 / 7), "pool overall: 3 right of 7 graded");
            Assert.That(e.Quality[0], Is.EqualTo(0.4));
            Assert.That(e.OutputTokens[0], Is.EqualTo(99.0));
            Assert.That(e.Cost[0], Is.EqualTo(Unseen.CostOf(1000, 99)));
        });
    }

    [Test]
    public async Task Failed_calls_count_for_nothing()
    {
        var p = TaskPriorPredictor.Fit(
            [Rec("1", "t", 10, ("a", 1, 10)), new OutcomeRecord("2", "q", 10, [new ModelOutcome("a", null, 0) { Error = "timeout" }], "t")],
            Options(0));
        PredictionMatrix m = await p.PredictAsync([new("x", 1, "t")], [A]);
        Assert.That((m.Quality[0], m.OutputTokens[0]), Is.EqualTo((1.0, 10.0)));
    }

    [Test]
    public async Task Output_tokens_follow_input_tokens_with_the_within_task_slope()
    {
        // Output = 2·input + task offset, exactly; the within-task slope is 2 in both tasks.
        var records = new List<OutcomeRecord>();
        for (int i = 0; i < 20; i++)
        {
            records.Add(Rec($"m{i}", "math", 10 + i, ("a", 1, (2 * (10 + i)) + 100)));
            records.Add(Rec($"l{i}", "law", 50 + i, ("a", 1, 2 * (50 + i))));
        }

        var p = TaskPriorPredictor.Fit(records, new TaskPriorPredictorOptions { PriorPseudoCount = 0, ScaleOutputTokensWithInput = true });
        PredictionMatrix m = await p.PredictAsync([new("x", 40, "math"), new("y", 0, "law")], [A]);
        Assert.Multiple(() =>
        {
            Assert.That(m.OutputTokens[0], Is.EqualTo(180.0).Within(1e-9));
            Assert.That(m.OutputTokens[1], Is.EqualTo(0.0).Within(1e-9));
        });
    }

    [Test]
    public async Task Concurrent_records_and_predictions_end_where_a_sequential_fit_ends()
    {
        var rng = new Random(4);
        var records = Enumerable.Range(0, 4000).Select(i => Rec($"{i}", $"t{i % 7}", rng.Next(1, 500),
            ("a", rng.Next(2), rng.Next(1, 900)), ("b", rng.NextDouble(), rng.Next(1, 900)))).ToArray();
        var concurrent = new TaskPriorPredictor();
        SchedulingQuery[] queries = Enumerable.Range(0, 7).Select(t => new SchedulingQuery("q", 100, $"t{t}")).ToArray();
        Task predicting = Task.Run(async () =>
        {
            for (int r = 0; r < 200; r++)
            {
                PredictionMatrix m = await concurrent.PredictAsync(queries, [A, B, Unseen]);
                m.Validate();
            }
        });
        await Parallel.ForEachAsync(records, new ParallelOptions { MaxDegreeOfParallelism = 4 }, (r, ct) => concurrent.RecordAsync(r, ct));
        await predicting;

        PredictionMatrix expected = await TaskPriorPredictor.Fit(records).PredictAsync(queries, [A, B, Unseen]);
        PredictionMatrix actual = await concurrent.PredictAsync(queries, [A, B, Unseen]);
        Assert.Multiple(() =>
        {
            Assert.That(concurrent.RecordCount, Is.EqualTo(records.Length));
            Assert.That(actual.Quality.ToArray(), Is.EqualTo(expected.Quality.ToArray()).Within(1e-9));
            Assert.That(actual.OutputTokens.ToArray(), Is.EqualTo(expected.OutputTokens.ToArray()).Within(1e-6));
        });
    }

    [Test]
    public async Task Bad_input_names_the_argument_record_and_model()
    {
        var p = new TaskPriorPredictor();
        Assert.Multiple(() =>
        {
            var score = Assert.Throws<ArgumentException>(() => p.Record(Rec("r7", "t", 1, ("a", 1.5, 1))))!;
            Assert.That(score.ParamName, Is.EqualTo("record"));
            Assert.That(score.Message, Does.Contain("'r7'").And.Contain("'a'"));
            Assert.That(Assert.Throws<ArgumentException>(() => p.Record(Rec("r8", "t", 1, ("b", 1, -3))))!.Message, Does.Contain("'b'"));
            Assert.That(Assert.Throws<ArgumentException>(() => p.Record(Rec("r9", "t", -1)))!.Message, Does.Contain("'r9'"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new TaskPriorPredictor(new TaskPriorPredictorOptions { PriorPseudoCount = -1 }))!.ParamName, Is.EqualTo("options"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new TaskPriorPredictor(new TaskPriorPredictorOptions { InitialQuality = 2 }))!.ParamName, Is.EqualTo("options"));
        });
        Assert.That((await Assert.ThrowsAsync<ArgumentException>(async () => await p.PredictAsync([new("q", 1), null!], [A])))!.Message, Does.Contain("Query 1"));
        await Assert.ThrowsAsync<OperationCanceledException>(async () => await p.PredictAsync([new("q", 1)], [A], new CancellationToken(true)));
        Assert.That(p.RecordCount, Is.Zero, "rejected records leave no trace");
    }

    private static double[] Values(params double[] values) => values;
}
