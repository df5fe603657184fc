using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Evaluation.Tests;

public class ScheduleEvaluatorTests
{
    private static readonly double[] TwoAlphas = [0.6, 0.8];
    private static readonly string[] ExpectedPolicies = ["eccos:task-mean", "threshold:task-mean", "task-mean-lambda", "single:cheap", "single:mid", "single:strong", "cheapest", "random", "round-robin", "oracle"];
    private static readonly double?[] ExpectedAlphas = [0.6, 0.8];
    private static readonly double?[] ExpectedLambdas = [1, 100, 10_000];

    private static EvaluationOptions Options(Action<EvaluationOptions>? configure = null)
    {
        var options = new EvaluationOptions { Alphas = TwoAlphas, BatchSize = 60, LambdaRouterPredictors = ["task-mean"], Lambdas = [1, 100, 10_000], Solver = new GreedyTargetSolver() };
        configure?.Invoke(options);
        return options;
    }

    [Test]
    public async Task Oracle_TakesTheCheapestModelWithTheBestRecordedScore()
    {
        OutcomeDataset data = SyntheticOutcomes.Create();
        EvaluationReport report = await new ScheduleEvaluator().EvaluateAsync(data, [], Options());

        double score = 0, cost = 0;
        foreach (OutcomeRecord r in data.Records.Where(r => r.Split == "test"))
        {
            double best = r.Outputs.Max(o => o.Quality!.Value);
            score += best;
            cost += r.Outputs.Where(o => o.Quality == best).Min(o => data.Catalog.Find(o.Model)!.CostOf(r.InputTokens, o.OutputTokens));
        }

        PolicyRun oracle = report.Runs.Single(r => r.Policy == "oracle");
        Assert.Multiple(() =>
        {
            Assert.That(report.TestQueries, Is.EqualTo(200));
            Assert.That(oracle.Quality, Is.EqualTo(score / 200).Within(1e-12));
            Assert.That(oracle.Cost, Is.EqualTo(cost).Within(1e-12));
            Assert.That(oracle.PredictedQuality, Is.EqualTo(oracle.Quality).Within(1e-12), "the oracle's predictions are the records");
            Assert.That(oracle.Alpha, Is.Null);
            Assert.That(oracle.CapacityViolations, Is.Zero);
        });
    }

    [Test]
    public async Task EveryPolicyRunsOnTheSameBatches_WithAlphaOnlyWhereThereIsATarget()
    {
        OutcomeDataset data = SyntheticOutcomes.Create();
        EvaluationReport report = await new ScheduleEvaluator()
            .EvaluateAsync(data, [EvaluationTestSetup.TaskMean()], Options());

        string[] policies = [.. report.Runs.Select(r => r.Policy).Distinct()];
        Assert.Multiple(() =>
        {
            Assert.That(policies, Is.EqualTo(ExpectedPolicies));
            Assert.That(report.Runs.Where(r => r.Policy == "eccos:task-mean").Select(r => r.Alpha), Is.EqualTo(ExpectedAlphas));
            Assert.That(report.Runs.Where(r => r.Policy == "threshold:task-mean").Select(r => r.Alpha), Is.EqualTo(ExpectedAlphas));
            Assert.That(report.Runs.Where(r => !r.Policy.StartsWith("eccos:", StringComparison.Ordinal) && !r.Policy.StartsWith("threshold:", StringComparison.Ordinal)).Select(r => r.Alpha), Is.All.Null);
            Assert.That(report.Runs.Where(r => r.Policy == "task-mean-lambda").Select(r => r.Lambda), Is.EqualTo(ExpectedLambdas));
            Assert.That(report.Frontiers.Select(f => f.Policy), Is.EquivalentTo(policies));
            Assert.That(report.Predictors.Single().Name, Is.EqualTo("task-mean"));
            Assert.That(report.Predictors.Single().Metrics.Auc, Is.GreaterThan(0.6), "the task means separate easy from hard");
        });

        // C: the dearest single model over the test split, each on every query the log has it for.
        double strong = data.Records.Where(r => r.Split == "test")
            .Sum(r => r.Outputs.Where(o => o.Model == "strong").Sum(o => SyntheticOutcomes.Models[2].CostOf(r.InputTokens, o.OutputTokens)));
        Assert.That(report.MaxSingleModelCost, Is.EqualTo(strong).Within(1e-12));
        Assert.That(report.Runs.Single(r => r.Policy == "single:strong").Cost, Is.EqualTo(strong).Within(1e-12));
    }

    [Test]
    public async Task EccosRuns_ReachTheirTargetsAndPredictWhatTheyRealize()
    {
        OutcomeDataset data = SyntheticOutcomes.Create(train: 2000, test: 800);
        EvaluationReport report = await new ScheduleEvaluator()
            .EvaluateAsync(data, [EvaluationTestSetup.TaskMean()], Options(o => o.Alphas = [0.6, 0.7, 0.8]));

        PolicyRun[] eccos = [.. report.Runs.Where(r => r.Policy == "eccos:task-mean")];
        Assert.Multiple(() =>
        {
            foreach (PolicyRun run in eccos)
            {
                Assert.That(run.Reachable, Is.True);
                Assert.That(run.PredictedQuality, Is.GreaterThanOrEqualTo(run.Target!.Value - 1e-9), "the solver meets the target it was given");
                Assert.That(run.Quality, Is.GreaterThanOrEqualTo(run.Alpha!.Value - 0.015), "the calibrated target makes the realized success reach α");
                Assert.That(run.Quality, Is.EqualTo(run.PredictedQuality).Within(0.05), $"α = {run.Alpha}");
            }

            Assert.That(eccos.Select(r => r.Cost), Is.Ordered.Ascending, "a higher target costs more");
        });
    }

    /// <summary>
    /// A predictor that is right about the training records but pessimistic about the test records' hard task (0.4
    /// lower for every model, same ranking), so that no test batch can reach the calibrated target in prediction.
    /// </summary>
    private static EvaluationPredictor PessimisticOnTest(int trainCount)
    {
        double[][] accuracy = [[0.85, 0.9, 0.95], [0.2, 0.55, 0.9]];
        var predictor = new Eccos.Scheduling.Tests.Predict.Calibration.FuncPredictor((q, m) =>
        {
            int task = q.Task == "easy" ? 0 : 1;
            int model = Array.FindIndex(SyntheticOutcomes.Models, x => x.Name == m.Name);
            bool test = int.Parse(q.Id![1..], System.Globalization.CultureInfo.InvariantCulture) >= trainCount;
            return (test && task == 1 ? Math.Max(0, accuracy[task][model] - 0.4) : accuracy[task][model], 300);
        });
        return new EvaluationPredictor("pessimistic", (_, _) => ValueTask.FromResult<IPredictor>(predictor));
    }

    [Test]
    public async Task A_calibrated_alpha_stays_certified_when_test_batches_cannot_reach_its_internal_target()
    {
        OutcomeDataset data = SyntheticOutcomes.Create(train: 600, test: 300, absentShare: 0);
        EvaluationReport calibrated = await new ScheduleEvaluator()
            .EvaluateAsync(data, [PessimisticOnTest(600)], Options(o => { o.Alphas = [0.85]; o.IncludeBaselines = false; }));
        EvaluationReport direct = await new ScheduleEvaluator()
            .EvaluateAsync(data, [PessimisticOnTest(600)], Options(o => { o.Alphas = [0.85]; o.IncludeBaselines = false; o.FitTargetCurve = false; }));
        PolicyRun c = calibrated.Runs.Single();
        PolicyRun d = direct.Runs.Single();
        Assert.Multiple(() =>
        {
            Assert.That(c.UnreachableBatches, Is.EqualTo(5), "every test batch of 60 falls short of t(α) in prediction");
            Assert.That(c.Reachable, Is.True, "the held-out replay certified α; the batches get the most capable models");
            Assert.That(c.Quality, Is.GreaterThanOrEqualTo(0.85 - 0.015), "and the realized success bears the certificate out");
            Assert.That(d.UnreachableBatches, Is.EqualTo(5));
            Assert.That(d.Reachable, Is.False, "without calibration the solver's verdict on α itself stands");
        });
    }

    [Test]
    public async Task CapacityShares_AreRespected()
    {
        OutcomeDataset data = SyntheticOutcomes.Create();
        EvaluationOptions options = Options(o => o.CapacityShares = new Dictionary<string, double> { ["strong"] = 0.1, ["mid"] = 0.25 });
        var spy = new SpySolver(new GreedyTargetSolver());
        options.Solver = spy;
        EvaluationReport report = await new ScheduleEvaluator().EvaluateAsync(data, [EvaluationTestSetup.TaskMean()], options);

        Assert.Multiple(() =>
        {
            Assert.That(report.Runs.Select(r => r.CapacityViolations), Is.All.Zero);
            Assert.That(spy.Solved, Is.Not.Empty);
            foreach ((int n, int[] load) in spy.Solved)
            {
                Assert.That(load[2], Is.LessThanOrEqualTo((int)Math.Floor(0.1 * n)));
                Assert.That(load[1], Is.LessThanOrEqualTo((int)Math.Floor(0.25 * n)));
            }
        });

        // The high target cannot be met with strong capped at 10%: the run says so, and stays within the caps.
        Assert.That(report.Runs.Single(r => r.Policy == "eccos:task-mean" && r.Alpha == 0.8).Reachable, Is.False);
    }

    [Test]
    public async Task CapacityViolations_OfABrokenSolver_AreCounted()
    {
        OutcomeDataset data = SyntheticOutcomes.Create(absentShare: 0);
        EvaluationOptions options = Options(o =>
        {
            o.Solver = new StubbornSolver(0);
            o.IncludeBaselines = false;
            o.CapacityShares = new Dictionary<string, double> { ["cheap"] = 0.1 };
        });
        EvaluationReport report = await new ScheduleEvaluator().EvaluateAsync(data, [EvaluationTestSetup.TaskMean()], options);

        // Batches of 60, 60, 60, 20: each puts every query on 'cheap', which may take floor(0.1·n).
        int expected = (60 - 6) * 3 + (20 - 2);
        Assert.That(report.Runs.Select(r => r.CapacityViolations), Is.All.EqualTo(expected));
    }

    [Test]
    public async Task AbsentModels_AreNeverChosen_AndASolverThatPicksOneFailsLoudly()
    {
        OutcomeDataset data = SyntheticOutcomes.Create(absentShare: 0.3);
        int absent = data.Records.Count(r => r.Split == "test" && r.Outputs.All(o => o.Model != "mid"));
        Assert.That(absent, Is.GreaterThan(20));

        // A predictor that claims 'mid' is perfect and free: every policy wants it, and must not take it where it is absent
        // (the replay throws on a pick of an absent model, so a completed run of every policy is the check).
        var lure = EvaluationPredictor.Fitted("lure", new LurePredictor("mid"));
        EvaluationReport report = await new ScheduleEvaluator()
            .EvaluateAsync(data, [lure], Options(o => o.LambdaRouterPredictors = ["lure"]));
        Assert.That(report.Runs.Select(r => r.Policy).Distinct(), Has.Exactly(10).Items);
        Assert.That(report.Runs.Single(r => r.Policy == "single:mid").Deferred, Is.Zero, "where 'mid' is absent the single-model baseline takes another model");

        Assert.That(
            () => new ScheduleEvaluator()
                .EvaluateAsync(data, [lure], Options(o => { o.Solver = new StubbornSolver(1); o.IncludeBaselines = false; o.FitTargetCurve = false; })),
            Throws.InvalidOperationException.With.Message.Contains("ineligible model 'mid'"));
    }

    [Test]
    public async Task TargetCalibration_MakesAnOverconfidentPredictorRealizeItsTargets()
    {
        OutcomeDataset data = SyntheticOutcomes.Create(train: 1500, test: 4000, absentShare: 0);
        var biased = new EvaluationPredictor("biased", (context, _) => ValueTask.FromResult<IPredictor>(new BiasedPredictor(new TaskMeanPredictor(context.Train), 0.15)));
        double[] alphas = [0.6, 0.7, 0.8];
        EvaluationReport calibrated = await new ScheduleEvaluator()
            .EvaluateAsync(data, [biased], Options(o => { o.Alphas = alphas; o.IncludeBaselines = false; o.BatchSize = 100; }));
        EvaluationReport raw = await new ScheduleEvaluator()
            .EvaluateAsync(data, [biased], Options(o => { o.Alphas = alphas; o.IncludeBaselines = false; o.BatchSize = 100; o.FitTargetCurve = false; }));

        Assert.Multiple(() =>
        {
            foreach (PolicyRun run in calibrated.Runs)
            {
                Assert.That(run.Reachable, Is.True, $"α = {run.Alpha}");
                Assert.That(run.Target, Is.GreaterThan(run.Alpha!.Value + 0.05), "t(α) corrects the optimism");
                Assert.That(run.Quality, Is.GreaterThanOrEqualTo(run.Alpha.Value - 0.015), $"α = {run.Alpha}");
            }

            foreach (PolicyRun run in raw.Runs)
            {
                Assert.That(run.Target, Is.EqualTo(run.Alpha));
                Assert.That(run.Quality, Is.LessThan(run.Alpha!.Value - 0.05), $"uncalibrated α = {run.Alpha} falls short");
            }
        });
    }

    [Test]
    public async Task QueriesBeyondTheCapacities_AreDeferredAndCounted()
    {
        OutcomeDataset data = SyntheticOutcomes.Create(absentShare: 0);
        EvaluationOptions options = Options(o => o.CapacityShares = new Dictionary<string, double> { ["cheap"] = 0.2, ["mid"] = 0.2, ["strong"] = 0.2 });
        EvaluationReport report = await new ScheduleEvaluator().EvaluateAsync(data, [EvaluationTestSetup.TaskMean()], options);

        // Batches 60, 60, 60, 20 place 3·12 and 3·4 queries.
        int expected = (3 * (60 - 36)) + (20 - 12);
        PolicyRun oracle = report.Runs.Single(r => r.Policy == "oracle");
        Assert.Multiple(() =>
        {
            Assert.That(oracle.Deferred, Is.EqualTo(expected));
            Assert.That(report.Runs.Where(r => r.Policy == "eccos:task-mean").Select(r => r.Deferred), Is.All.EqualTo(expected));
            Assert.That(report.Runs.Select(r => r.CapacityViolations), Is.All.Zero);
            Assert.That(oracle.Quality, Is.LessThanOrEqualTo((200.0 - expected) / 200), "deferred queries score 0");
        });
    }

    [Test]
    public async Task Overhead_CountsPredictionAndSolving_ButNotEmbedding()
    {
        var time = new FakeTimeProvider();
        OutcomeDataset data = SyntheticOutcomes.Create();
        var predictor = new EvaluationPredictor("slow", (context, _) =>
        {
            IEmbeddingGenerator<string, Embedding<float>> embedder = context.MeasureEmbedding(new SlowEmbedder(time, TimeSpan.FromMilliseconds(4)), "fake");
            return ValueTask.FromResult<IPredictor>(new SlowPredictor(time, TimeSpan.FromMilliseconds(6), embedder));
        });
        EvaluationReport report = await new ScheduleEvaluator(time)
            .EvaluateAsync(data, [predictor], Options(o => { o.BatchSize = 100; o.IncludeBaselines = false; o.Alphas = [0.5]; o.Solver = new SlowSolver(time, TimeSpan.FromMilliseconds(2)); }));

        // Two batches: prediction 2 × (6 + 4) ms of which 2 × 4 ms embedding; solving 2 × 2 ms; 200 queries.
        PredictorEvaluation p = report.Predictors.Single();
        Assert.Multiple(() =>
        {
            Assert.That(report.Runs.Single().OverheadMsPerQuery, Is.EqualTo((12.0 + 4.0) / 200).Within(1e-9));
            Assert.That(p.Embedder, Is.EqualTo("fake"));
            Assert.That(p.EmbeddingMsPerQuery, Is.EqualTo(8.0 / 200).Within(1e-9));
            Assert.That(p.PredictionMsPerQuery, Is.EqualTo(12.0 / 200).Within(1e-9));
        });
    }

    [Test]
    public void BadOptions_AreRejectedNamingTheProblem()
    {
        OutcomeDataset data = SyntheticOutcomes.Create();
        var evaluator = new ScheduleEvaluator();
        Assert.Multiple(() =>
        {
            Assert.That(() => evaluator.EvaluateAsync(data, [], Options(o => o.CapacityShares = new Dictionary<string, double> { ["nope"] = 0.1 })),
                Throws.ArgumentException.With.Message.Contains("'nope'").And.Property("ParamName").EqualTo("options"));
            Assert.That(() => evaluator.EvaluateAsync(data, [], Options(o => o.Solver = null!)),
                Throws.ArgumentException.With.Message.Contains("Solver").And.Property("ParamName").EqualTo("options"));
            Assert.That(() => evaluator.EvaluateAsync(data, [], Options(o => o.Alphas = [1.2])),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("Alphas"));
            Assert.That(() => evaluator.EvaluateAsync(data, [], Options(o => o.BatchSize = 0)),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("BatchSize"));
            Assert.That(() => evaluator.EvaluateAsync(data, [], Options(o => o.TargetCurveFolds = 0)),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("TargetCurveFolds"));
            Assert.That(() => evaluator.EvaluateAsync(data, [EvaluationTestSetup.TaskMean(), EvaluationTestSetup.TaskMean()], Options()),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("predictors"));
        });
    }

    [Test]
    public async Task TestRecordWithoutAnyGradedOutcome_IsLeftOut()
    {
        OutcomeDataset data = SyntheticOutcomes.Create();
        var records = data.Records.ToList();
        records.Add(new OutcomeRecord("ungraded", "q", 10, [new ModelOutcome("cheap", null, 5)], Split: "test"));
        var withUngraded = new OutcomeDataset("ungraded", data.Catalog, records);
        EvaluationReport report = await new ScheduleEvaluator().EvaluateAsync(withUngraded, [], Options());
        Assert.That(report.TestQueries, Is.EqualTo(200));
    }

    [Test]
    public void TestSplitWithoutAnyGradedOutcome_IsRejected()
    {
        OutcomeDataset data = SyntheticOutcomes.Create();
        OutcomeRecord[] records = [.. data.Records.Where(r => r.Split == "train"), new OutcomeRecord("ungraded", "q", 10, [new ModelOutcome("cheap", null, 5)], Split: "test")];
        Assert.That(() => new ScheduleEvaluator().EvaluateAsync(new OutcomeDataset("bad", data.Catalog, records), [], Options()),
            Throws.ArgumentException.With.Message.Contains("no test record with a graded answer"));
    }

    [Test]
    public void Cancellation_StopsTheRun()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.That(() => new ScheduleEvaluator().EvaluateAsync(SyntheticOutcomes.Create(), [], Options(), cancellationToken: cts.Token),
            Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void ValidationSlice_IsSeededDisjointAndKeepsFileOrder()
    {
        OutcomeRecord[] train = [.. SyntheticOutcomes.Create().Records.Where(r => r.Split == "train")];
        var (fit, validation) = ScheduleEvaluator.SliceValidation(train, 0.2, seed: 3);
        var (fit2, validation2) = ScheduleEvaluator.SliceValidation(train, 0.2, seed: 3);
        var (_, validation3) = ScheduleEvaluator.SliceValidation(train, 0.2, seed: 4);
        Assert.Multiple(() =>
        {
            Assert.That(validation, Has.Count.EqualTo(60));
            Assert.That(fit.Concat(validation), Is.EquivalentTo(train));
            Assert.That(validation2, Is.EqualTo(validation));
            Assert.That(fit2, Is.EqualTo(fit));
            Assert.That(validation3, Is.Not.EqualTo(validation));
            Assert.That(validation.Select(r => Array.IndexOf(train, r)), Is.Ordered);
        });
    }

    [Test]
    public void TargetCurveFolds_StartWithTheValidationSlice_AndPartitionTheTrainingSplit()
    {
        OutcomeRecord[] train = [.. SyntheticOutcomes.Create().Records.Where(r => r.Split == "train")];
        var (fit, validation) = ScheduleEvaluator.SliceValidation(train, 0.2, seed: 3);
        var folds = ScheduleEvaluator.TargetCurveFolds(train, 0.2, 5, seed: 3);
        Assert.Multiple(() =>
        {
            Assert.That(folds, Has.Count.EqualTo(5));
            Assert.That(folds[0].Validation, Is.EqualTo(validation), "fold 0 is the validation slice the predictors are fitted beside");
            Assert.That(folds[0].Fit, Is.EqualTo(fit));
            Assert.That(folds.SelectMany(f => f.Validation), Is.EquivalentTo(train), "every training record is held out exactly once");
            foreach (var (foldFit, held) in folds)
            {
                Assert.That(held, Has.Count.InRange(59, 61));
                Assert.That(foldFit.Concat(held), Is.EquivalentTo(train));
                Assert.That(foldFit.Intersect(held), Is.Empty);
                Assert.That(held.Select(r => Array.IndexOf(train, r)), Is.Ordered);
            }
        });
    }

    [Test]
    public async Task CrossFittedCalibration_RefitsThePredictorOnEveryFold_AndStillMeetsTheTargets()
    {
        OutcomeDataset data = SyntheticOutcomes.Create(train: 1500, test: 1000, absentShare: 0);
        var fits = new List<(int Train, int Validation)>();
        var biased = new EvaluationPredictor("biased", (context, _) =>
        {
            lock (fits)
            {
                fits.Add((context.Train.Count, context.Validation.Count));
            }

            return ValueTask.FromResult<IPredictor>(new BiasedPredictor(new TaskMeanPredictor(context.Train), 0.15));
        });
        double[] alphas = [0.6, 0.7, 0.8];
        EvaluationReport report = await new ScheduleEvaluator()
            .EvaluateAsync(data, [biased], Options(o => { o.Alphas = alphas; o.IncludeBaselines = false; o.BatchSize = 100; o.TargetCurveFolds = 4; }));

        Assert.Multiple(() =>
        {
            Assert.That(fits, Has.Count.EqualTo(4), "one fit for the test, three more for the other folds");
            Assert.That(fits.Select(f => f.Train + f.Validation), Is.All.EqualTo(1500), "each fold's fit and held-out part make up the training split");
            foreach (PolicyRun run in report.Runs)
            {
                Assert.That(run.Reachable, Is.True, $"α = {run.Alpha}");
                Assert.That(run.Target, Is.GreaterThan(run.Alpha!.Value + 0.05), "t(α) corrects the optimism");
                Assert.That(run.Quality, Is.GreaterThanOrEqualTo(run.Alpha.Value - 0.015), $"α = {run.Alpha}");
            }
        });
    }

    [Test]
    public async Task CrossFittedCalibration_OfAPrefittedPredictor_UsesTheValidationSliceOnly()
    {
        OutcomeDataset data = SyntheticOutcomes.Create(train: 1500, test: 1000, absentShare: 0);
        var prefitted = new BiasedPredictor(new TaskMeanPredictor([.. data.Records.Where(r => r.Split == "train")]), 0.15);
        EvaluationOptions Folds(int folds) => Options(o => { o.Alphas = [0.6, 0.7]; o.IncludeBaselines = false; o.BatchSize = 100; o.TargetCurveFolds = folds; });
        EvaluationReport one = await new ScheduleEvaluator().EvaluateAsync(data, [EvaluationPredictor.Fitted("p", prefitted)], Folds(1));
        EvaluationReport five = await new ScheduleEvaluator().EvaluateAsync(data, [EvaluationPredictor.Fitted("p", prefitted)], Folds(5));
        Assert.That(five.Runs.Select(r => r.Target), Is.EqualTo(one.Runs.Select(r => r.Target)), "a predictor that is not refitted has seen the other folds");
    }

    private sealed class SpySolver(IAssignmentSolver inner) : IAssignmentSolver
    {
        public List<(int N, int[] Load)> Solved { get; } = [];

        public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
        {
            AssignmentResult result = inner.Solve(predictions, constraints, cancellationToken);
            var load = new int[predictions.ModelCount];
            foreach (int j in result.Assignments.Where(j => j >= 0))
            {
                load[j]++;
            }

            lock (Solved)
            {
                Solved.Add((predictions.QueryCount, load));
            }
            return result;
        }
    }

    private sealed class LurePredictor(string model) : IPredictor
    {
        public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
        {
            var p = new PredictionMatrix(queries.Count, models);
            for (int i = 0; i < queries.Count; i++)
            {
                for (int j = 0; j < models.Count; j++)
                {
                    bool lure = models[j].Name == model;
                    p.Set(i, j, lure ? 1 : 0.5, lure ? 0 : 1, 10);
                }
            }

            return ValueTask.FromResult(p);
        }
    }

    private sealed class BiasedPredictor(IPredictor inner, double bias) : IPredictor
    {
        public async ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
        {
            PredictionMatrix p = await inner.PredictAsync(queries, models, cancellationToken);
            Span<double> quality = p.Quality;
            for (int k = 0; k < quality.Length; k++)
            {
                quality[k] = Math.Min(1, quality[k] + bias);
            }

            return p;
        }
    }

    private sealed class SlowEmbedder(FakeTimeProvider time, TimeSpan delay) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            time.Advance(delay);
            return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(_ => new Embedding<float>(new float[] { 1 }))));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class SlowPredictor(FakeTimeProvider time, TimeSpan delay, IEmbeddingGenerator<string, Embedding<float>> embedder) : IPredictor
    {
        public async ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
        {
            await embedder.GenerateAsync(queries.Select(q => q.Text), cancellationToken: cancellationToken);
            time.Advance(delay);
            var p = new PredictionMatrix(queries.Count, models);
            p.Quality.Fill(0.5);
            return p;
        }
    }

    private sealed class SlowSolver(FakeTimeProvider time, TimeSpan delay) : IAssignmentSolver
    {
        public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
        {
            time.Advance(delay);
            return new GreedyTargetSolver().Solve(predictions, constraints, cancellationToken);
        }
    }
}
