using Eccos.Scheduling.Tests.Predict.Calibration;

namespace Eccos.Scheduling.Tests.Target;

public class QualityTargetCurveFitTests
{
    private static readonly QualityTargetCurveOptions Grid = new() { MinAlpha = 0.5, MaxAlpha = 0.8, AlphaStep = 0.05, Margin = 0.01, BatchSize = 500 };

    [Test]
    public async Task Over_confident_predictions_get_targets_above_alpha_that_realize_alpha_on_new_queries()
    {
        var validation = new Synthetic(4000, seed: 10);
        var test = new Synthetic(4000, seed: 11);
        Dictionary<(string, string), double> truth = validation.Truth.Concat(test.Truth).ToDictionary();
        // Over-confident and noisy: the solver will buy quality exactly where the predictions err high.
        var noise = new Random(5);
        Dictionary<(string, string), double> predicted = truth.ToDictionary(kv => kv.Key, kv => Math.Clamp(Math.Sqrt(kv.Value) + (0.2 * (noise.NextDouble() - 0.5)), 0, 1));
        var predictor = new FuncPredictor((q, m) => (predicted[(q.Id!, m.Name)], 100));
        var solver = new LambdaTestSolver();

        QualityTargetCurve cal = await QualityTargetCurve.FitAsync(predictor, solver, validation.Records, validation.Models, Grid);
        OutcomeReplay replay = await OutcomeReplay.PrepareAsync(predictor, test.Records, test.Models, 500, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(cal.Alphas, Has.Count.EqualTo(7));
            for (int k = 0; k < cal.Alphas.Count; k++)
            {
                double alpha = cal.Alphas[k];
                if (!cal.IsReachable(alpha))
                {
                    Assert.That(cal.Targets[k], Is.EqualTo(1.0), $"unreachable α={alpha} gets target 1");
                    continue;
                }

                Assert.That(cal.Targets[k], Is.GreaterThan(alpha + 0.05), $"α={alpha}: over-confident predictions need a higher target");
                Assert.That(cal.RealizedQualities[k], Is.GreaterThanOrEqualTo(alpha + cal.Margin), $"α={alpha}: validation realizes α + margin");
                double uncalibrated = replay.Run(solver, alpha, null, 1, null, CancellationToken.None).RealizedQuality;
                double calibrated = replay.Run(solver, cal.Apply(alpha), null, 1, null, CancellationToken.None).RealizedQuality;
                Assert.That(uncalibrated, Is.LessThan(alpha - 0.03), $"α={alpha}: without calibration the target is missed");
                Assert.That(calibrated, Is.GreaterThanOrEqualTo(alpha), $"α={alpha}: with calibration it is met on new queries");
            }

            Assert.That(cal.IsReachable(0.5), Is.True);
            Assert.That(cal.IsReachable(0.8), Is.False, "the best model alone realizes about 0.7 here");
            Assert.That(cal.MaxRealizedQuality, Is.InRange(0.6, 0.8));
        });
    }

    [Test]
    public async Task Targets_are_non_decreasing_even_when_realized_quality_is_not_monotone_in_the_target()
    {
        // Two models: "good" always right, "bad" always wrong. The solver sends a share f(t) of queries to "good",
        // with a dip: f = t except 0.3 on [0.55, 0.65).
        ModelProfile[] models = [new("good", 1, 1), new("bad", 0, 0)];
        var records = Enumerable.Range(0, 1000).Select(i => new OutcomeRecord($"{i}", "q", 10,
            [new ModelOutcome("good", 1, 1), new ModelOutcome("bad", 0, 1)])).ToList();
        var predictor = new FuncPredictor((_, m) => (m.Name == "good" ? 1 : 0, 1));
        var solver = new ShareSolver(t => t is >= 0.55 and < 0.65 ? 0.3 : t);
        QualityTargetCurve cal = await QualityTargetCurve.FitAsync(predictor, solver, records, models,
            new QualityTargetCurveOptions { MinAlpha = 0.3, MaxAlpha = 0.9, AlphaStep = 0.05, Margin = 0, BatchSize = 100 });
        Assert.Multiple(() =>
        {
            for (int k = 1; k < cal.Targets.Count; k++)
            {
                Assert.That(cal.Targets[k], Is.GreaterThanOrEqualTo(cal.Targets[k - 1]));
                Assert.That(cal.RealizedQualities[k], Is.GreaterThanOrEqualTo(cal.Alphas[k] - 1e-9));
            }

            Assert.That(cal.Apply(0.6), Is.GreaterThanOrEqualTo(0.65), "the dip is skipped");
            Assert.That(cal.Apply(0.4), Is.EqualTo(0.4).Within(0.01));
        });
    }

    [Test]
    public async Task The_replay_uses_the_batch_size_and_capacities_given_and_skips_ungraded_models()
    {
        var data = new Synthetic(1050, seed: 12);
        var records = data.Records.Select(r => r with { Outputs = [.. r.Outputs.Where(o => o.Model != "mid" || r.Id.EndsWith('0')), new ModelOutcome("ghost", null, 5)] }).ToList();
        var spy = new SpySolver(new LambdaTestSolver());
        int[] unlimited = [AssignmentConstraints.Unlimited, AssignmentConstraints.Unlimited, AssignmentConstraints.Unlimited];
        await QualityTargetCurve.FitAsync(data.Oracle(p => p), spy, records, data.Models,
            new QualityTargetCurveOptions { BatchSize = 300, Capacities = unlimited, MinAlpha = 0.5, MaxAlpha = 0.6, AlphaStep = 0.05 });
        Assert.Multiple(() =>
        {
            Assert.That(spy.BatchSizes.Distinct().Order(), Is.EqualTo((int[])[150, 300]));
            Assert.That(spy.Capacities, Has.All.SameAs(unlimited));
            Assert.That(spy.IneligibleMid, Is.True, "a model without a recorded score cannot be chosen in the replay");
        });
    }

    [Test]
    public async Task Cross_fitting_replays_every_record_with_a_predictor_that_did_not_see_it()
    {
        var data = new Synthetic(3000, seed: 13);
        var seen = new System.Collections.Concurrent.ConcurrentBag<HashSet<string>>();
        Task<IPredictor> Recipe(IReadOnlyList<OutcomeRecord> train, CancellationToken ct)
        {
            var ids = train.Select(r => r.Id).ToHashSet();
            seen.Add(ids);
            // Over-confident like the hold-out test, and it refuses to predict a query it was trained on.
            return Task.FromResult<IPredictor>(new FuncPredictor((q, m) => ids.Contains(q.Id!)
                ? throw new InvalidOperationException($"query {q.Id} was in this fold's training set")
                : (Math.Sqrt(data.Truth[(q.Id!, m.Name)]), 100)));
        }

        var options = new QualityTargetCurveOptions { MinAlpha = 0.5, MaxAlpha = 0.6, AlphaStep = 0.05, Folds = 4, Seed = 3 };
        QualityTargetCurve cal = await QualityTargetCurve.FitCrossFittedAsync(Recipe, new LambdaTestSolver(), data.Records, data.Models, options);
        Assert.Multiple(() =>
        {
            Assert.That(seen, Has.Count.EqualTo(4));
            Assert.That(seen.Select(s => s.Count), Has.All.EqualTo(2250));
            Assert.That(data.Records.Select(r => seen.Count(s => !s.Contains(r.Id))), Has.All.EqualTo(1), "each record is held out exactly once");
            Assert.That(cal.Targets, Has.All.GreaterThan(0.6));
            Assert.That(cal.RealizedQualities.Select((r, k) => r - cal.Alphas[k]), Has.All.GreaterThanOrEqualTo(options.Margin));
        });

        Assert.That((await Assert.ThrowsAsync<InvalidOperationException>(() => QualityTargetCurve.FitCrossFittedAsync(
            (_, _) => Task.FromResult<IPredictor>(null!), new LambdaTestSolver(), data.Records, data.Models)))!.Message, Does.Contain("fold 0"));
        Assert.That((await Assert.ThrowsAsync<ArgumentException>(() => QualityTargetCurve.FitCrossFittedAsync(
            Recipe, new LambdaTestSolver(), data.Records.Take(3).ToList(), data.Models)))!.ParamName, Is.EqualTo("records"));
        Assert.That((await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => QualityTargetCurve.FitCrossFittedAsync(
            Recipe, new LambdaTestSolver(), data.Records, data.Models, new() { Folds = 1 })))!.Message, Does.Contain("Folds"));
    }

    [Test]
    public async Task Bad_arguments_are_named()
    {
        var data = new Synthetic(20, seed: 1);
        IPredictor p = data.Oracle(x => x);
        var s = new LambdaTestSolver();
        Assert.That((await Assert.ThrowsAsync<ArgumentNullException>(() => QualityTargetCurve.FitAsync(null!, s, data.Records, data.Models)))!.ParamName, Is.EqualTo("predictor"));
        Assert.That((await Assert.ThrowsAsync<ArgumentNullException>(() => QualityTargetCurve.FitAsync(p, null!, data.Records, data.Models)))!.ParamName, Is.EqualTo("solver"));
        Assert.That((await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => QualityTargetCurve.FitAsync(p, s, data.Records, data.Models, new() { Margin = -0.1 })))!.Message, Does.Contain("Margin"));
        Assert.That((await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => QualityTargetCurve.FitAsync(p, s, data.Records, data.Models, new() { MinAlpha = 0.9, MaxAlpha = 0.5 })))!.Message, Does.Contain("MaxAlpha"));
        Assert.That((await Assert.ThrowsAsync<ArgumentException>(() => QualityTargetCurve.FitAsync(p, s, data.Records, data.Models, new() { Capacities = [1] })))!.Message, Does.Contain("Capacities"));
        var ungraded = data.Records.Select(r => r with { Outputs = [.. r.Outputs.Select(o => o with { Quality = null })] }).ToList();
        Assert.That((await Assert.ThrowsAsync<ArgumentException>(() => QualityTargetCurve.FitAsync(p, s, ungraded, data.Models)))!.ParamName, Is.EqualTo("validation"));
        Assert.That(async () => await QualityTargetCurve.FitAsync(p, s, data.Records, data.Models, cancellationToken: new CancellationToken(true)), Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary>Sends the first round(f(t)·n) queries to model 0 and the rest to model 1.</summary>
    private sealed class ShareSolver(Func<double, double> share) : IAssignmentSolver
    {
        public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
        {
            int n = predictions.QueryCount;
            int good = (int)Math.Round(share(constraints.QualityTarget) * n);
            int[] choice = Enumerable.Range(0, n).Select(i => i < good ? 0 : 1).ToArray();
            return new AssignmentResult(choice, 0, (double)good / n, double.NaN, 0, AssignmentStatus.Feasible);
        }
    }

    private sealed class SpySolver(IAssignmentSolver inner) : IAssignmentSolver
    {
        public System.Collections.Concurrent.ConcurrentBag<int> BatchSizes { get; } = [];

        public System.Collections.Concurrent.ConcurrentBag<IReadOnlyList<int>?> Capacities { get; } = [];

        public bool IneligibleMid { get; private set; }

        public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
        {
            BatchSizes.Add(predictions.QueryCount);
            Capacities.Add(constraints.Capacities);
            int mid = predictions.IndexOfModel("mid");
            for (int i = 0; i < predictions.QueryCount; i++)
            {
                IneligibleMid |= !predictions.EligibleRow(i)[mid];
            }

            return inner.Solve(predictions, constraints, cancellationToken);
        }
    }
}
