namespace Eccos.Scheduling;

/// <content>Fitting: learns t(α) by replaying a predictor and a solver over recorded outcomes.</content>
public sealed partial class QualityTargetCurve
{
    /// <summary>The coarse scan of targets that brackets each bisection: t = 0, 1/20, …, 1.</summary>
    private const int ScanPoints = 20;

    /// <summary>Learns t(α) over the α grid of <paramref name="options"/>.</summary>
    /// <param name="predictor">The predictor the scheduler will use; not trained on <paramref name="validation"/>.</param>
    /// <param name="solver">The solver the scheduler will use.</param>
    /// <param name="validation">Recorded, graded outcomes held out from the predictor's training.</param>
    /// <param name="models">The models, with prices (and capacities, unless the options give them).</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels fitting.</param>
    /// <returns>The curve.</returns>
    /// <exception cref="ArgumentException">An argument is invalid, an option is out of range, or no validation record has a graded answer of the models.</exception>
    public static async Task<QualityTargetCurve> FitAsync(
        IPredictor predictor,
        IAssignmentSolver solver,
        IReadOnlyList<OutcomeRecord> validation,
        IReadOnlyList<ModelProfile> models,
        QualityTargetCurveOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        ArgumentNullException.ThrowIfNull(solver);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(models);
        options ??= new QualityTargetCurveOptions();
        CheckOptions(options, models);

        OutcomeReplay replay = await OutcomeReplay.PrepareAsync(predictor, validation, models, options.BatchSize, cancellationToken).ConfigureAwait(false);
        if (replay.QueryCount == 0)
        {
            throw new ArgumentException("No validation record has a graded answer of the given models.", nameof(validation));
        }

        return FitCore(replay, solver, options, _ => options.Capacities, cancellationToken);
    }

    /// <summary>
    /// Learns t(α) by cross-fitting: splits <paramref name="records"/> into
    /// <see cref="QualityTargetCurveOptions.Folds"/> seeded random folds, fits a predictor on all folds but one
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
    /// <param name="cancellationToken">Cancels fitting.</param>
    /// <returns>The curve.</returns>
    /// <exception cref="ArgumentException">An argument is invalid, an option is out of range, there are fewer records than folds, or no record has a graded answer of the models.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="fitPredictor"/> returned <see langword="null"/>.</exception>
    public static async Task<QualityTargetCurve> FitCrossFittedAsync(
        Func<IReadOnlyList<OutcomeRecord>, CancellationToken, Task<IPredictor>> fitPredictor,
        IAssignmentSolver solver,
        IReadOnlyList<OutcomeRecord> records,
        IReadOnlyList<ModelProfile> models,
        QualityTargetCurveOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fitPredictor);
        ArgumentNullException.ThrowIfNull(solver);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(models);
        options ??= new QualityTargetCurveOptions();
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

        return FitCore(replay, solver, options, _ => options.Capacities, cancellationToken);
    }

    /// <summary>
    /// Learns t(α) on a prepared replay: for each α of the grid, bisects on the target handed to
    /// <paramref name="solver"/> until the recorded quality of what it picks averages α plus the margin.
    /// </summary>
    /// <param name="replay">The replay of the predictor the scheduler will use, over outcomes it was not fitted on.</param>
    /// <param name="solver">The solver the scheduler will use.</param>
    /// <param name="options">The grid, margin and precision; <see langword="null"/> for the defaults (its batch size and folds are not used here).</param>
    /// <param name="capacitiesOfBatch">
    /// The capacities of a batch of n queries (as an evaluation scales them with the batch); <see langword="null"/> for
    /// <see cref="QualityTargetCurveOptions.Capacities"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels fitting.</param>
    /// <returns>The curve.</returns>
    /// <exception cref="ArgumentException">The replay is empty, or an option is out of range.</exception>
    public static QualityTargetCurve Fit(
        OutcomeReplay replay,
        IAssignmentSolver solver,
        QualityTargetCurveOptions? options = null,
        Func<int, IReadOnlyList<int>?>? capacitiesOfBatch = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(replay);
        ArgumentNullException.ThrowIfNull(solver);
        options ??= new QualityTargetCurveOptions();
        options.Validate(nameof(options));
        if (replay.QueryCount == 0)
        {
            throw new ArgumentException("The replay holds no query with a graded answer.", nameof(replay));
        }

        IReadOnlyList<int>? fixedCapacities = options.Capacities;
        capacitiesOfBatch ??= _ => fixedCapacities;
        return FitCore(replay, solver, options, capacitiesOfBatch, cancellationToken);
    }

    private static QualityTargetCurve FitCore(
        OutcomeReplay replay, IAssignmentSolver solver, QualityTargetCurveOptions options, Func<int, IReadOnlyList<int>?> capacitiesOfBatch, CancellationToken cancellationToken)
    {
        var cache = new Dictionary<double, double>();
        double Realized(double t)
        {
            if (!cache.TryGetValue(t, out double r))
            {
                r = replay.Run(solver, t, capacitiesOfBatch, options.MaxDegreeOfParallelism, null, cancellationToken).RealizedQuality;
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

        return new QualityTargetCurve(alphas, targets, realized, max, options.Margin);
    }

    private static void CheckOptions(QualityTargetCurveOptions options, IReadOnlyList<ModelProfile> models)
    {
        options.Validate(nameof(options));
        if (options.Capacities is { } caps && caps.Count != models.Count)
        {
            throw new ArgumentException($"Capacities: {caps.Count} were given for {models.Count} models; give one per model.", nameof(options));
        }
    }
}
