namespace Eccos.Scheduling.Tests.Predict.Calibration;

public class CalibratedPredictorTests
{
    [Test]
    public async Task Over_confident_predictions_become_calibrated_and_keep_their_ranking()
    {
        var fit = new Synthetic(4000, seed: 1);
        var test = new Synthetic(4000, seed: 2);
        var truth = fit.Truth.Concat(test.Truth).ToDictionary();
        // Over-confident: pushes every probability toward 0 or 1.
        var inner = new FuncPredictor((q, m) => (Math.Pow(truth[(q.Id!, m.Name)], 0.4), 100));
        CalibratedPredictor calibrated = await CalibratedPredictor.FitAsync(inner, fit.Records, fit.Models);

        PredictionMetrics before = await PredictionMetrics.EvaluateAsync(inner, test.Records, test.Models);
        PredictionMetrics after = await PredictionMetrics.EvaluateAsync(calibrated, test.Records, test.Models);
        Assert.Multiple(() =>
        {
            Assert.That(before.Ece, Is.GreaterThan(0.15));
            Assert.That(after.Ece, Is.LessThan(0.03));
            Assert.That(after.Brier, Is.LessThan(before.Brier - 0.02));
            Assert.That(after.Auc, Is.EqualTo(before.Auc).Within(0.01));
            Assert.That(calibrated.QualityCalibrators.Keys, Is.EquivalentTo(fit.Models.Select(m => m.Name)));
            Assert.That(calibrated.OutputTokenCalibrators, Is.Empty);
        });
    }

    [Test]
    public async Task Concurrent_predictions_agree_and_cancellation_reaches_the_inner_predictor()
    {
        var data = new Synthetic(800, seed: 6);
        CalibratedPredictor c = await CalibratedPredictor.FitAsync(data.Oracle(p => p * p), data.Records, data.Models);
        SchedulingQuery[] queries = data.Records.Select(r => r.ToQuery()).ToArray();
        double[] expected = (await c.PredictAsync(queries, data.Models)).Quality.ToArray();
        double[][] results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () => (await c.PredictAsync(queries, data.Models)).Quality.ToArray())));
        Assert.That(results, Has.All.EqualTo(expected));
        Assert.That(async () => await c.PredictAsync(queries, data.Models, new CancellationToken(true)), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await CalibratedPredictor.FitAsync(c, data.Records, data.Models, cancellationToken: new CancellationToken(true)), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Models_without_enough_validation_data_pass_through()
    {
        var data = new Synthetic(100, seed: 3);
        var inner = new FuncPredictor((_, m) => (m.Name == "cheap" ? 0.9 : 0.8, 10));
        var newcomer = new ModelProfile("newcomer", 1, 1);
        CalibratedPredictor c = await CalibratedPredictor.FitAsync(inner, data.Records, data.Models, new CalibratedPredictorOptions { MinSamplesPerModel = 100 });
        CalibratedPredictor strict = await CalibratedPredictor.FitAsync(inner, data.Records, data.Models, new CalibratedPredictorOptions { MinSamplesPerModel = 101 });
        PredictionMatrix p = await c.PredictAsync([new("x", 5)], [.. data.Models, newcomer]);
        PredictionMatrix s = await strict.PredictAsync([new("x", 5)], [.. data.Models, newcomer]);
        double cheapRate = data.Records.Average(r => r.Outputs.Single(o => o.Model == "cheap").Quality!.Value);
        Assert.Multiple(() =>
        {
            Assert.That(p.Quality[0], Is.EqualTo(cheapRate).Within(1e-12), "one distinct score: calibrates to the model's rate");
            Assert.That(p.Quality[3], Is.EqualTo(0.8), "a model absent from validation passes through");
            Assert.That(s.Quality.ToArray(), Is.EqualTo(Values(0.9, 0.8, 0.8, 0.8)), "too few samples: everything passes through");
            Assert.That(strict.QualityCalibrators, Is.Empty);
        });
    }

    [Test]
    public async Task Output_token_calibration_rescales_lengths_and_recomputes_cost()
    {
        var data = new Synthetic(600, seed: 4);
        // Predicts half the recorded length scale: calibration must map it back up.
        var inner = new FuncPredictor((_, m) => (0.5, m.Name == "cheap" ? 10 : 40));
        CalibratedPredictor c = await CalibratedPredictor.FitAsync(inner, data.Records, data.Models, new CalibratedPredictorOptions { CalibrateOutputTokens = true });
        PredictionMatrix p = await c.PredictAsync([new("x", 1000)], data.Models);
        double cheapMean = data.Records.Average(r => r.Outputs.Single(o => o.Model == "cheap").OutputTokens);
        Assert.Multiple(() =>
        {
            Assert.That(p.OutputTokens[0], Is.EqualTo(cheapMean).Within(1e-9));
            Assert.That(p.Cost[0], Is.EqualTo(data.Models[0].CostOf(1000, cheapMean)).Within(1e-15));
            Assert.That(c.OutputTokenCalibrators, Has.Count.EqualTo(3));
        });
    }

    [Test]
    public async Task Loaded_maps_build_the_same_decorator_and_bad_arguments_are_named()
    {
        var data = new Synthetic(500, seed: 5);
        var inner = data.Oracle(p => p * p);
        CalibratedPredictor c = await CalibratedPredictor.FitAsync(inner, data.Records, data.Models);
        var reloaded = new Dictionary<string, IsotonicCalibrator>();
        foreach ((string name, IsotonicCalibrator cal) in c.QualityCalibrators)
        {
            using var s = new MemoryStream();
            cal.Save(s);
            s.Position = 0;
            reloaded[name] = IsotonicCalibrator.Load(s);
        }

        var again = new CalibratedPredictor(inner, reloaded);
        SchedulingQuery[] queries = data.Records.Take(50).Select(r => r.ToQuery()).ToArray();
        Assert.That((await again.PredictAsync(queries, data.Models)).Quality.ToArray(), Is.EqualTo((await c.PredictAsync(queries, data.Models)).Quality.ToArray()));
        Assert.That((await Assert.ThrowsAsync<ArgumentNullException>(() => CalibratedPredictor.FitAsync(null!, data.Records, data.Models)))!.ParamName, Is.EqualTo("inner"));
        Assert.That((await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CalibratedPredictor.FitAsync(inner, data.Records, data.Models, new CalibratedPredictorOptions { BatchSize = 0 })))!.ParamName, Is.EqualTo("options"));
        Assert.That(Assert.Throws<ArgumentException>(() => new CalibratedPredictor(inner, new Dictionary<string, IsotonicCalibrator> { ["m"] = null! }))!.Message, Does.Contain("'m'"));
    }

    private static double[] Values(params double[] values) => values;
}
