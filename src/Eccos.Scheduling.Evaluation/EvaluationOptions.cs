using System.Globalization;

namespace Eccos.Scheduling.Evaluation;

/// <summary>Options of a <see cref="ScheduleEvaluator"/> run: targets, batching, capacities, seeds and baselines.</summary>
/// <remarks>A plain options object: not thread-safe while being modified; the evaluator copies what it needs when a run starts.</remarks>
public sealed class EvaluationOptions
{
    /// <summary>The default quality targets: 0.30 to 0.95 in steps of 0.025 (27 values).</summary>
    public static IReadOnlyList<double> DefaultAlphas { get; } = Sweep(0.30, 0.95, 0.025);

    /// <summary>
    /// The default λ grid of the RouterBench λ-router: 29 values from 10⁻⁶ to 10 (four per decade), in currency per
    /// unit of quality per query — per-query LLM costs run from about 10⁻⁵ to 10⁻² USD, so the crossovers between
    /// models lie well below 1.
    /// </summary>
    public static IReadOnlyList<double> DefaultLambdas { get; } = LogGrid(1e-6, 10, 29);

    /// <summary>Gets or sets the quality targets α, each in [0, 1]. Default <see cref="DefaultAlphas"/>.</summary>
    public IReadOnlyList<double> Alphas { get; set; } = DefaultAlphas;

    /// <summary>Gets or sets the number of test queries solved together (the last batch may be smaller). Default 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Gets or sets per-model capacity shares: a share s caps the model at <c>floor(s·n)</c> queries of each batch of
    /// n queries. Models without a share are unlimited. Default: none.
    /// </summary>
    public IReadOnlyDictionary<string, double> CapacityShares { get; set; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>
    /// Gets or sets a value indicating whether the test split is replayed in a seeded random order (as queries of all
    /// kinds would arrive) rather than in file order. Recorded datasets are often stored grouped by task; replayed in
    /// file order, each batch then holds one or two tasks and must meet α on its own. Default <see langword="true"/>.
    /// </summary>
    public bool ShuffleTest { get; set; } = true;

    /// <summary>
    /// Gets or sets the solver of the <c>eccos:*</c> policies, which also fits their target curves. Default a
    /// <see cref="LagrangianAssignmentSolver"/> with default options. It must be thread-safe (batches are solved in
    /// parallel while a target curve is fitted).
    /// </summary>
    public IAssignmentSolver Solver { get; set; } = new LagrangianAssignmentSolver();

    /// <summary>
    /// Gets or sets the seed of the train/test split (when the log has none), of the validation slice and of the
    /// random baseline. Default 0.
    /// </summary>
    public int Seed { get; set; }

    /// <summary>
    /// Gets or sets the share of the training records held out as the validation slice (for calibration and
    /// blending, and for the target curve); predictors are fitted on the rest. In [0, 1). Default 0.2.
    /// </summary>
    public double ValidationFraction { get; set; } = 0.2;

    /// <summary>
    /// Gets or sets a value indicating whether the <c>eccos:*</c> policies solve for the target t(α) of a
    /// <see cref="QualityTargetCurve"/> fitted on held-out training folds (so that realized quality meets α) instead of
    /// α itself. Default <see langword="true"/>.
    /// </summary>
    public bool FitTargetCurve { get; set; } = true;

    /// <summary>
    /// Gets or sets how many held-out folds of the training split t(α) is learned on: the validation slice and
    /// <c>TargetCurveFolds − 1</c> further slices of the rest of the training split, each replayed by the predictor
    /// refitted without it (cross-fitting; a predictor given by <see cref="EvaluationPredictor.Fitted"/> is not refitted
    /// and its curve is fitted on the validation slice only). More folds mean a less noisy t(α) and reachability, for
    /// <c>TargetCurveFolds − 1</c> extra fits of each predictor; 1 fits on the validation slice alone. At least 1.
    /// Default 5.
    /// </summary>
    public int TargetCurveFolds { get; set; } = 5;

    /// <summary>
    /// Gets or sets the safety margin of the target curve: t(α) is learned so that validation realizes α plus this
    /// margin. In [0, 0.5). Default <see cref="QualityTargetCurveOptions.DefaultMargin"/>.
    /// </summary>
    public double TargetCurveMargin { get; set; } = QualityTargetCurveOptions.DefaultMargin;

    /// <summary>Gets or sets a value indicating whether the baselines run (threshold, λ-router, single models, cheapest, random, round-robin, oracle). Default <see langword="true"/>.</summary>
    public bool IncludeBaselines { get; set; } = true;

    /// <summary>
    /// Gets or sets the predictors whose predictions feed the RouterBench λ-router (<c>&lt;name&gt;-lambda</c>:
    /// argmax_j λ·a_ij − c_ij); names not evaluated are skipped. Default <c>["knn"]</c>.
    /// </summary>
    public IReadOnlyList<string> LambdaRouterPredictors { get; set; } = ["knn"];

    /// <summary>Gets or sets the λ grid of the λ-router; values positive and finite. Default <see cref="DefaultLambdas"/>.</summary>
    public IReadOnlyList<double> Lambdas { get; set; } = DefaultLambdas;

    /// <summary>Returns <c>from, from+step, …</c> up to and including <paramref name="to"/> (within rounding).</summary>
    /// <param name="from">First value.</param>
    /// <param name="to">Last value, ≥ <paramref name="from"/>.</param>
    /// <param name="step">Positive step.</param>
    /// <returns>The values, each rounded to 10 decimals.</returns>
    public static IReadOnlyList<double> Sweep(double from, double to, double step)
    {
        if (!(step > 0) || !double.IsFinite(step))
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, "The step must be positive and finite.");
        }

        if (!(to >= from) || !double.IsFinite(from) || !double.IsFinite(to))
        {
            throw new ArgumentOutOfRangeException(nameof(to), to, "The range must be finite with to ≥ from.");
        }

        int count = (int)Math.Floor(((to - from) / step) + 1e-9) + 1;
        var values = new double[count];
        for (int k = 0; k < count; k++)
        {
            values[k] = Math.Round(from + (k * step), 10);
        }

        return values;
    }

    internal static double[] LogGrid(double from, double to, int count)
    {
        var values = new double[count];
        double a = Math.Log(from);
        double b = Math.Log(to);
        for (int k = 0; k < count; k++)
        {
            values[k] = Math.Exp(a + ((b - a) * k / (count - 1)));
        }

        return values;
    }

    internal void Validate(ModelCatalog catalog, string paramName)
    {
        if (Alphas is null || Alphas.Count == 0)
        {
            throw new ArgumentException("Alphas: give at least one quality target.", paramName);
        }

        foreach (double alpha in Alphas)
        {
            if (!double.IsFinite(alpha) || alpha < 0 || alpha > 1)
            {
                throw new ArgumentOutOfRangeException(paramName, alpha, "Alphas: every quality target must lie in [0, 1].");
            }
        }

        if (!(TargetCurveMargin >= 0 && TargetCurveMargin < 0.5))
        {
            throw new ArgumentOutOfRangeException(paramName, TargetCurveMargin, "TargetCurveMargin must lie in [0, 0.5).");
        }

        if (TargetCurveFolds < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, TargetCurveFolds, "TargetCurveFolds must be at least 1.");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, BatchSize, "BatchSize must be at least 1.");
        }

        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(paramName, ValidationFraction, "ValidationFraction must lie in [0, 1).");
        }

        ArgumentNullException.ThrowIfNull(CapacityShares, paramName);
        foreach ((string model, double share) in CapacityShares)
        {
            if (catalog.IndexOf(model) < 0)
            {
                throw new ArgumentException($"CapacityShares: model '{model}' is not in the catalog.", paramName);
            }

            if (!double.IsFinite(share) || share < 0 || share > 1)
            {
                throw new ArgumentOutOfRangeException(paramName, share, string.Create(CultureInfo.InvariantCulture, $"CapacityShares: model '{model}' has share {share}; it must lie in [0, 1]."));
            }
        }

        if (Solver is null)
        {
            throw new ArgumentException("Solver: set a solver.", paramName);
        }

        ArgumentNullException.ThrowIfNull(LambdaRouterPredictors, paramName);
        ArgumentNullException.ThrowIfNull(Lambdas, paramName);
        foreach (double lambda in Lambdas)
        {
            if (!double.IsFinite(lambda) || lambda <= 0)
            {
                throw new ArgumentOutOfRangeException(paramName, lambda, "Lambdas: every λ must be positive and finite.");
            }
        }
    }
}
