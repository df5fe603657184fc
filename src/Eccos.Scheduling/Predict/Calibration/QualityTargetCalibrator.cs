namespace Eccos.Scheduling;

/// <summary>
/// Learns the internal quality target t(α) that makes the <em>realized</em> mean quality reach α: replays the whole
/// pipeline — a predictor, an <see cref="IAssignmentSolver"/>, the batch size and capacities — over validation
/// outcomes and, for each α of a grid, bisects on the target handed to the solver until the recorded scores of the
/// models it picks average α plus a safety margin.
/// </summary>
/// <remarks>
/// <para>
/// Why: even calibrated predictions overstate the quality of what the solver picks (the optimizer's curse). The
/// solver buys predicted quality where it is cheap relative to the prediction, which is exactly where predictions
/// err high; solving for α therefore realizes less than α. The calibrator measures that shortfall end to end.
/// </para>
/// <para>
/// The predictor predicts each validation batch once; every bisection step re-solves the batches (in parallel, up to
/// <see cref="QualityTargetCalibratorOptions.MaxDegreeOfParallelism"/>). Realized quality is nearly but not exactly
/// monotone in the target, so the targets found are made non-decreasing in α afterwards. An α whose goal exceeds what
/// the replay realizes at target 1 is unreachable: its target is 1.
/// </para>
/// <para>
/// Thread-safe (stateless); the predictor and the solver must be thread-safe, as their contracts require.
/// Cancellation is observed between solves.
/// </para>
/// </remarks>
public static class QualityTargetCalibrator
{
    /// <summary>The coarse scan of targets that brackets each bisection: t = 0, 1/20, …, 1.</summary>
    private const int ScanPoints = 20;

    /// <summary>Learns t(α) over the α grid of <paramref name="options"/>.</summary>
    /// <param name="predictor">The predictor the scheduler will use; not trained on <paramref name="validation"/>.</param>
    /// <param name="solver">The solver the scheduler will use.</param>
    /// <param name="validation">Recorded, graded outcomes held out from the predictor's training.</param>
    /// <param name="models">The models, with prices (and capacities, unless the options give them).</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels calibration.</param>
    /// <returns>The calibration.</returns>
    /// <exception cref="ArgumentException">An argument is invalid, an option is out of range, or no validation record has a graded answer of the models.</exception>
    public static async Task<QualityTargetCalibration> CalibrateAsync(
        IPredictor predictor,
        IAssignmentSolver solver,
        IReadOnlyList<OutcomeRecord> validation,
        IReadOnlyList<ModelProfile> models,
        QualityTargetCalibratorOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(solver);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(models);
        options ??= new QualityTargetCalibratorOptions();
        CheckOptions(options, models);

        OutcomeReplay replay = await OutcomeReplay.PrepareAsync(predictor, validation, models, options.BatchSize, cancellationToken).ConfigureAwait(false);
        if (replay.QueryCount == 0)
        {
            throw new ArgumentException("No validation record has a graded answer of the given models.", nameof(validation));
        }

        return Calibrate(replay, solver, options, cancellationToken);
    }

    /// <summary>
    /// Learns t(α) by cross-fitting: splits <paramref name="records"/> into
    /// <see cref="QualityTargetCalibratorOptions.Folds"/> seeded random folds, fits a predictor on all folds but one
    /// with <paramref name="fitPredictor"/>, replays the held-out fold with it, and learns t(α) on the replay of every
    /// record — several times more validation queries than a single held-out slice, hence a less noisy map.
    /// </summary>
    /// <param name="fitPredictor">
    /// Builds the predictor the scheduler will use from training records (the same recipe as for production, for
    /// example a task prior fitted on part of them and isotonic-calibrated on the rest).
    /// </param>
    /// <param name="solver">The solver the scheduler will use.</param>
    /// <param name="records">Recorded, graded outcomes (normally the whole training set).</param>
    /// <param name="models">The models, with prices (and capacities, unless the options give them).</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels calibration.</param>
    /// <returns>The calibration.</returns>
    /// <exception cref="ArgumentException">An argument is invalid, an option is out of range, there are fewer records than folds, or no record has a graded answer of the models.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="fitPredictor"/> returned <see langword="null"/>.</exception>
    public static async Task<QualityTargetCalibration> CalibrateCrossFittedAsync(
        Func<IReadOnlyList<OutcomeRecord>, CancellationToken, Task<IPredictor>> fitPredictor,
        IAssignmentSolver solver,
        IReadOnlyList<OutcomeRecord> records,
        IReadOnlyList<ModelProfile> models,
        QualityTargetCalibratorOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fitPredictor);
        ArgumentNullException.ThrowIfNull(solver);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(models);
        options ??= new QualityTargetCalibratorOptions();
        CheckOptions(options, models);
        int folds = options.Folds;
        if (records.Count < folds)
        {
            throw new ArgumentException($"{records.Count} records cannot make {folds} folds.", nameof(records));
        }

        int[] order = Enumerable.Range(0, records.Count).ToArray();
        new Random(options.Seed).Shuffle(order);
        var foldOf = new int[records.Count];
        for (int k = 0; k < order.Length; k++)
        {
            foldOf[order[k]] = k % folds;
        }

        var parts = new OutcomeReplay[folds];
        for (int f = 0; f < folds; f++)
        {
            var train = new List<OutcomeRecord>(records.Count);
            var held = new List<OutcomeRecord>((records.Count / folds) + 1);
            for (int i = 0; i < records.Count; i++)
            {
                (foldOf[i] == f ? held : train).Add(records[i]);
            }

            IPredictor predictor = await fitPredictor(train, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The predictor factory returned null for fold {f}.");
            parts[f] = await OutcomeReplay.PrepareAsync(predictor, held, models, options.BatchSize, cancellationToken).ConfigureAwait(false);
        }

        OutcomeReplay replay = OutcomeReplay.Combine(parts);
        if (replay.QueryCount == 0)
        {
            throw new ArgumentException("No record has a graded answer of the given models.", nameof(records));
        }

        return Calibrate(replay, solver, options, cancellationToken);
    }

    /// <summary>Learns t(α) on a prepared replay.</summary>
    internal static QualityTargetCalibration Calibrate(OutcomeReplay replay, IAssignmentSolver solver, QualityTargetCalibratorOptions options, CancellationToken cancellationToken)
    {
        var cache = new Dictionary<double, double>();
        double Realized(double t)
        {
            if (!cache.TryGetValue(t, out double r))
            {
                r = replay.Run(solver, t, options.Capacities, options.MaxDegreeOfParallelism, cancellationToken).RealizedQuality;
                cache[t] = r;
            }

            return r;
        }

        var alphas = new List<double>();
        for (int k = 0; ; k++)
        {
            double a = Math.Round(options.MinAlpha + (k * options.AlphaStep), 10);
            if (a > options.MaxAlpha + 1e-9)
            {
                break;
            }

            alphas.Add(a);
        }

        double max = Realized(1);
        var targets = new double[alphas.Count];
        var realized = new double[alphas.Count];
        double previous = 0;
        for (int k = 0; k < alphas.Count; k++)
        {
            double goal = alphas[k] + options.Margin;
            if (goal > max)
            {
                targets[k] = 1;
                realized[k] = max;
                previous = 1;
                continue;
            }

            // Search above the previous grid point's target, so that t(α) is non-decreasing by construction. Realized
            // quality is only nearly monotone in t, so a coarse scan brackets the first crossing of the goal before the
            // bisection refines it (a bisection alone can jump over an early crossing into a later one).
            // Invariant: Realized(lo) < goal ≤ Realized(hi).
            if (Realized(previous) >= goal)
            {
                targets[k] = previous;
                realized[k] = Realized(previous);
                continue;
            }

            double lo = previous, hi = 1;
            for (int i = 1; i < ScanPoints; i++)
            {
                double t = (double)i / ScanPoints;
                if (t <= previous)
                {
                    continue;
                }

                if (Realized(t) >= goal)
                {
                    hi = t;
                    break;
                }

                lo = t;
            }

            while (hi - lo > options.Tolerance)
            {
                double mid = (lo + hi) / 2;
                if (Realized(mid) >= goal)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid;
                }
            }

            targets[k] = hi;
            realized[k] = Realized(hi);
            previous = hi;
        }

        return new QualityTargetCalibration(alphas, targets, realized, max, options.Margin);
    }

    private static void CheckOptions(QualityTargetCalibratorOptions options, IReadOnlyList<ModelProfile> models)
    {
        options.Validate(nameof(options));
        if (options.Capacities is { } caps && caps.Count != models.Count)
        {
            throw new ArgumentException($"Capacities: {caps.Count} were given for {models.Count} models; give one per model.", nameof(options));
        }
    }
}
