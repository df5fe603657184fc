using System.Globalization;

namespace Eccos.Scheduling.Tests.Predict.Calibration;

/// <summary>
/// Reproducible measurements on mmlu-pro for docs/calibration.md. Run with
/// <c>ECCOS_SHARED_DATA=/work/shared/data dotnet test -c Release --filter TestCategory=Measurement</c>.
/// </summary>
[Explicit("Measurement: prints the tables of docs/calibration.md")]
[Category("Measurement")]
public class CalibrationMeasurements
{
    [Test]
    public async Task Task_prior_options()
    {
        MmluPro d = await MmluPro.LoadAsync();
        foreach (double k in new[] { 0.0, 2, 5, 10, 20, 50, 200 })
        {
            foreach (bool scale in new[] { false, true })
            {
                var p = TaskPriorPredictor.Fit(d.Fit, new TaskPriorPredictorOptions { QualityPseudoCount = k, OutputTokensPseudoCount = k, ScaleOutputTokensWithInput = scale });
                PredictionMetrics v = await PredictionMetrics.EvaluateAsync(p, d.Validation, d.Models);
                Print($"fit→validation k={k} scale={scale}", v);
            }
        }
    }

    [Test]
    public async Task Task_prior_calibration()
    {
        MmluPro d = await MmluPro.LoadAsync();
        var train = TaskPriorPredictor.Fit(d.Train);
        Print("prior fitted on train → test", await PredictionMetrics.EvaluateAsync(train, d.Test, d.Models));
        var fit = TaskPriorPredictor.Fit(d.Fit);
        Print("prior fitted on fit slice → test", await PredictionMetrics.EvaluateAsync(fit, d.Test, d.Models));
        var cal = await CalibratedPredictor.FitAsync(fit, d.Validation, d.Models);
        Print("calibrated (quality) → test", await PredictionMetrics.EvaluateAsync(cal, d.Test, d.Models));
        var cal2 = await CalibratedPredictor.FitAsync(fit, d.Validation, d.Models, new CalibratedPredictorOptions { CalibrateOutputTokens = true });
        Print("calibrated (quality+tokens) → test", await PredictionMetrics.EvaluateAsync(cal2, d.Test, d.Models));
    }

    internal static void Print(string label, PredictionMetrics m) =>
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {m.Auc:F3} | {m.MeanPerModelAuc:F3} | {m.Brier:F4} | {m.Ece:F4} | {m.OutputTokensMae:F1} |"));
}
