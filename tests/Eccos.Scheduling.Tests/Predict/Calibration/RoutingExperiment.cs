namespace Eccos.Scheduling.Tests.Predict.Calibration;

/// <summary>
/// The target-calibration experiment on mmlu-pro: learn t(α) on the validation slice, then replay the test split
/// with and without it, and compare with sending everything to one model.
/// </summary>
internal static class RoutingExperiment
{
    public const string Reference = "gemini-1.5-pro-002";

    public sealed record Row(double Alpha, double Target, double Realized, double PredictedQuality, double Cost, double RelativeCost);

    public sealed record Outcome(QualityTargetCurve Calibration, IReadOnlyList<Row> Uncalibrated, IReadOnlyList<Row> Calibrated, double ReferenceQuality, double ReferenceCost);

    /// <summary>Mean score and total recorded cost of one model alone over the test records it answered.</summary>
    public static (double Quality, double Cost) Alone(MmluPro d, string model)
    {
        ModelProfile profile = d.Dataset.Catalog.Find(model)!;
        var answered = d.Test.Select(r => (r, o: r.Outputs.FirstOrDefault(o => o.Model == model && o.Quality is not null))).Where(x => x.o is not null).ToList();
        return (answered.Average(x => x.o!.Quality!.Value), answered.Sum(x => x.o!.Cost ?? profile.CostOf(x.r.InputTokens, x.o.OutputTokens)));
    }

    /// <summary>
    /// Runs the experiment with a predictor recipe. Hold-out: the predictor is fitted on the fit slice and t(α) is
    /// learned on the validation slice. Cross-fit: the predictor is fitted on all of train and t(α) is learned by
    /// cross-fitting the recipe over train.
    /// </summary>
    public static async Task<Outcome> RunAsync(
        MmluPro d,
        Func<IReadOnlyList<OutcomeRecord>, CancellationToken, Task<IPredictor>> recipe,
        bool crossFit,
        IAssignmentSolver solver,
        IReadOnlyList<double> alphas,
        QualityTargetCurveOptions options)
    {
        IPredictor predictor;
        QualityTargetCurve cal;
        if (crossFit)
        {
            predictor = await recipe(d.Train, CancellationToken.None);
            cal = await QualityTargetCurve.FitCrossFittedAsync(recipe, solver, d.Train, d.Models, options);
        }
        else
        {
            predictor = await recipe(d.Fit, CancellationToken.None);
            cal = await QualityTargetCurve.FitAsync(predictor, solver, d.Validation, d.Models, options);
        }

        OutcomeReplay test = await OutcomeReplay.PrepareAsync(predictor, d.Test, d.Models, options.BatchSize, CancellationToken.None);
        (double refQuality, double refCost) = Alone(d, Reference);
        Row Replay(double alpha, double target)
        {
            ReplayResult r = test.Run(solver, target, _ => options.Capacities, options.MaxDegreeOfParallelism, null, CancellationToken.None);
            return new Row(alpha, target, r.RealizedQuality, r.PredictedQuality, r.Cost, r.Cost / refCost);
        }

        return new Outcome(
            cal,
            alphas.Select(a => Replay(a, a)).ToList(),
            alphas.Select(a => Replay(a, cal.Apply(a))).ToList(),
            refQuality,
            refCost);
    }

    /// <summary>The task prior fitted on all the records.</summary>
    public static Task<IPredictor> TaskPrior(IReadOnlyList<OutcomeRecord> records, CancellationToken cancellationToken) =>
        Task.FromResult<IPredictor>(TaskPriorPredictor.Fit(records));

    /// <summary>The task prior fitted on a seeded 80% of the records and isotonic-calibrated on the other 20%.</summary>
    public static async Task<IPredictor> CalibratedTaskPrior(IReadOnlyList<OutcomeRecord> records, CancellationToken cancellationToken)
    {
        (List<OutcomeRecord> fit, List<OutcomeRecord> validation) = Split(records, 0.8, seed: 23);
        return await CalibratedPredictor.FitAsync(TaskPriorPredictor.Fit(fit), validation, Models(records), cancellationToken: cancellationToken);
    }

    /// <summary>A seeded random split.</summary>
    public static (List<OutcomeRecord> First, List<OutcomeRecord> Second) Split(IReadOnlyList<OutcomeRecord> records, double fraction, int seed)
    {
        int[] order = Enumerable.Range(0, records.Count).ToArray();
        new Random(seed).Shuffle(order);
        var first = new HashSet<int>(order.Take((int)Math.Round(records.Count * fraction)));
        return (records.Where((_, i) => first.Contains(i)).ToList(), records.Where((_, i) => !first.Contains(i)).ToList());
    }

    private static IReadOnlyList<ModelProfile> Models(IReadOnlyList<OutcomeRecord> records) =>
        MmluProModels ?? throw new InvalidOperationException("Load MmluPro first.");

    /// <summary>The catalog's models, set when the dataset is loaded.</summary>
    public static IReadOnlyList<ModelProfile>? MmluProModels { get; set; }
}
