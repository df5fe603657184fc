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
    private static readonly bool[] CrossFitModes = [true, false];
    private static readonly double[] Margins = [0.0, 0.005, 0.01];

    [Test]
    public async Task Task_prior_options()
    {
        MmluPro d = await MmluPro.LoadAsync();
        foreach (double k in new[] { 0.0, 2, 5, 10, 20, 50, 200 })
        {
            foreach (bool scale in new[] { false, true })
            {
                var p = TaskPriorPredictor.Fit(d.Fit, new TaskPriorPredictorOptions { PriorPseudoCount = k, ScaleOutputTokensWithInput = scale });
                PredictionMetrics v = await PredictionMetrics.EvaluateAsync(p, d.Validation, d.Models);
                Print($"fit→validation k={k} scale={scale}", v);
            }
        }
    }

    [Test]
    public async Task Predictors()
    {
        MmluPro d = await MmluPro.LoadAsync();
        TestContext.Out.WriteLine("| predictor | AUC | mean per-model AUC | Brier | ECE | output-token MAE |");
        Print("task prior (train)", await PredictionMetrics.EvaluateAsync(TaskPriorPredictor.Fit(d.Train), d.Test, d.Models));
        Print("task prior (train), no length slope", await PredictionMetrics.EvaluateAsync(
            TaskPriorPredictor.Fit(d.Train, new TaskPriorPredictorOptions { ScaleOutputTokensWithInput = false }), d.Test, d.Models));
        var fit = TaskPriorPredictor.Fit(d.Fit);
        Print("task prior (fit slice)", await PredictionMetrics.EvaluateAsync(fit, d.Test, d.Models));
        var cal = await CalibratedPredictor.FitAsync(fit, d.Validation, d.Models);
        Print("task prior (fit) + isotonic (validation)", await PredictionMetrics.EvaluateAsync(cal, d.Test, d.Models));
        var calTokens = await CalibratedPredictor.FitAsync(fit, d.Validation, d.Models, new CalibratedPredictorOptions { CalibrateOutputTokens = true });
        Print("… + isotonic output tokens", await PredictionMetrics.EvaluateAsync(calTokens, d.Test, d.Models));
        var cells = new LengthCellPrior(d.Fit);
        Print("length-cell prior (fit slice)", await PredictionMetrics.EvaluateAsync(cells, d.Test, d.Models));
        HybridPredictor hybrid = await HybridPredictor.FitAsync([fit, cells], d.Validation, d.Models);
        Print(string.Create(CultureInfo.InvariantCulture, $"hybrid γ=({hybrid.QualityWeights[0]:F3}, {hybrid.QualityWeights[1]:F3}) δ=({hybrid.OutputTokenWeights[0]:F3}, {hybrid.OutputTokenWeights[1]:F3})"),
            await PredictionMetrics.EvaluateAsync(hybrid, d.Test, d.Models));
        var hybridCal = await CalibratedPredictor.FitAsync(hybrid, d.Validation, d.Models);
        Print("hybrid + isotonic (validation, in-sample weights)", await PredictionMetrics.EvaluateAsync(hybridCal, d.Test, d.Models));
    }

    [Test]
    public async Task Target_calibration()
    {
        MmluPro d = await MmluPro.LoadAsync();
        double[] alphas = [0.6, 0.65, 0.7, 0.75];
        var recipes = new (string, Func<IReadOnlyList<OutcomeRecord>, CancellationToken, Task<IPredictor>>)[]
        {
            ("task prior", RoutingExperiment.TaskPrior),
            ("task prior + isotonic", RoutingExperiment.CalibratedTaskPrior),
        };
        var solvers = new (string, IAssignmentSolver)[] { ("Lagrangian solver", new LagrangianAssignmentSolver()), ("single-λ test solver", new LambdaTestSolver()) };
        var runs = from solver in solvers from recipe in recipes from crossFit in CrossFitModes from margin in Margins select (solver, recipe, crossFit, margin);
        foreach (((string solverName, IAssignmentSolver solver), (string name, var recipe), bool crossFit, double margin) in runs)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            RoutingExperiment.Outcome o = await RoutingExperiment.RunAsync(d, recipe, crossFit, solver, alphas, new QualityTargetCurveOptions { Margin = margin });
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{solverName}, {name}, {(crossFit ? "5-fold cross-fit on train" : "hold-out validation slice")}, margin {margin}: {sw.ElapsedMilliseconds} ms, max realized {o.Calibration.MaxRealizedQuality:F3}; reference {o.ReferenceQuality:F3} at ${o.ReferenceCost:F3}"));
            for (int k = 0; k < alphas.Length; k++)
            {
                RoutingExperiment.Row u = o.Uncalibrated[k], c = o.Calibrated[k];
                TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {alphas[k]:F2} | {u.Realized:F3} | {u.RelativeCost:P1} | {c.Target:F3} | {c.Realized:F3} | {c.RelativeCost:P1} |"));
            }
        }
    }

    internal static void Print(string label, PredictionMetrics m) =>
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {m.Auc:F3} | {m.MeanPerModelAuc:F3} | {m.Brier:F4} | {m.Ece:F4} | {m.OutputTokensMae:F1} |"));
}
