namespace Eccos.Scheduling.Evaluation;

/// <summary>
/// Replays a recorded outcome log through scheduling policies and measures what each would have realized: success,
/// cost, capacity violations, deferred queries and scheduling overhead, the cost–quality frontier of each policy and
/// its AIQ, and each predictor's metrics. Every policy is run on the same test batches and the same predictions.
/// </summary>
/// <remarks>
/// <para>
/// Protocol: predictors are fitted on the training split less a seeded validation slice (which is theirs for
/// calibration and blending, and the evaluator's for fitting the target curve t(α)); the test split (the log's
/// fixed split, else a seeded 70/30 draw) is cut, in file order, into batches of <see cref="EvaluationOptions.BatchSize"/>;
/// each batch is predicted once per predictor, the models the log lacks for a query are masked out, and each policy
/// solves the batch under its target and the capacities (share·n per model).
/// </para>
/// <para>
/// Policies: <c>eccos:&lt;p&gt;</c> (the configured solver, one run per α), <c>threshold:&lt;p&gt;</c> (the
/// <c>threshold</c> solver, one run per α), <c>&lt;p&gt;-lambda</c> (RouterBench's λ-router, one run per λ), and the
/// model-level baselines <c>single:&lt;model&gt;</c>, <c>cheapest</c>, <c>random</c> and <c>round-robin</c>, which
/// schedule on each model's training mean, and <c>oracle</c>, which sees the recorded outcomes.
/// </para>
/// <para>
/// Thread safety: an instance holds no per-run state and may run several evaluations at once if the solver and the
/// predictors allow it. Cancellation is observed between batches and inside predictors and solvers.
/// </para>
/// </remarks>
public sealed class ScheduleEvaluator
{
    /// <summary>The α step of the target curve's grid (t(α) is interpolated between grid points).</summary>
    private const double CurveStep = 0.025;
    private readonly TimeProvider _time;

    /// <summary>Initializes a new evaluator.</summary>
    /// <param name="timeProvider">The clock of the overhead measurements; default <see cref="TimeProvider.System"/>.</param>
    public ScheduleEvaluator(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Runs the evaluation.</summary>
    /// <param name="dataset">The recorded outcomes.</param>
    /// <param name="predictors">The predictors to fit and evaluate (distinct names); may be empty (baselines only).</param>
    /// <param name="options">The options; default <see cref="EvaluationOptions"/>'s defaults.</param>
    /// <param name="progress">Receives progress, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">Bad options (unknown model or solver, a value out of range), repeated predictor names, an empty test split, or a test record without any graded outcome.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<EvaluationReport> EvaluateAsync(
        OutcomeDataset dataset,
        IReadOnlyList<EvaluationPredictor> predictors,
        EvaluationOptions? options = null,
        IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(predictors);
        options ??= new EvaluationOptions();
        options.Validate(dataset.Catalog, nameof(options));

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (EvaluationPredictor p in predictors)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(predictors));
            if (!names.Add(p.Name))
            {
                throw new ArgumentException($"Predictor '{p.Name}' appears more than once.", nameof(predictors));
            }
        }

        IReadOnlyList<ModelProfile> models = dataset.Catalog.Models;
        (IReadOnlyList<OutcomeRecord> train, IReadOnlyList<OutcomeRecord> test) = dataset.Split(options.Seed);
        (IReadOnlyList<OutcomeRecord> fitRecords, IReadOnlyList<OutcomeRecord> validation) = SliceValidation(train, options.ValidationFraction, options.Seed);
        if (options.ShuffleTest)
        {
            OutcomeRecord[] shuffled = [.. test];
            new Random(options.Seed ^ 0x7e57).Shuffle(shuffled);
            test = shuffled;

            // Target-curve fitting replays the validation slice in batches too: in the same kind of order as the test.
            OutcomeRecord[] slice = [.. validation];
            new Random(options.Seed ^ 0x7a1d).Shuffle(slice);
            validation = slice;
        }

        double[] alphas = [.. options.Alphas];
        Func<int, IReadOnlyList<int>?> capacities = CapacitiesOfBatch(models, options.CapacityShares);
        IAssignmentSolver eccosSolver = options.Solver;

        // The oracle's replay comes first: it is cheap and tells whether the test split has anything to score.
        OutcomeReplay recorded = await OutcomeReplay.PrepareAsync(new RecordedOutcomePredictor(test), test, models, options.BatchSize, cancellationToken).ConfigureAwait(false);
        if (recorded.QueryCount == 0)
        {
            throw new ArgumentException($"Dataset '{dataset.Name}' has no test record with a graded answer of a catalog model.", nameof(dataset));
        }

        var clock = new EmbeddingClock(_time);
        var fitted = new FittedPredictor[predictors.Count];
        for (int p = 0; p < predictors.Count; p++)
        {
            progress?.Report(new EvaluationProgress("fit", predictors[p].Name, p, predictors.Count));
            var context = new PredictorFitContext(fitRecords, validation, dataset.Catalog, options.Seed, clock);
            long start = _time.GetTimestamp();
            IPredictor predictor = await predictors[p].FitAsync(context, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Predictor '{predictors[p].Name}': the fit returned null.");
            fitted[p] = new FittedPredictor(predictors[p].Name, predictor, _time.GetElapsedTime(start).TotalSeconds);
        }

        progress?.Report(new EvaluationProgress("fit", null, predictors.Count, predictors.Count));
        if (options.FitTargetCurve && validation.Count > 0)
        {
            await FitTargetCurvesAsync(predictors, fitted, train, validation, dataset.Catalog, eccosSolver, alphas, capacities, options, clock, progress, cancellationToken).ConfigureAwait(false);
        }

        progress?.Report(new EvaluationProgress("target", null, fitted.Length, fitted.Length));
        for (int p = 0; p < fitted.Length; p++)
        {
            progress?.Report(new EvaluationProgress("predict", fitted[p].Name, p, fitted.Length));
            Dictionary<string, long> embedBefore = clock.Snapshot();
            long start = _time.GetTimestamp();
            fitted[p].Replay = await OutcomeReplay.PrepareAsync(fitted[p].Predictor, test, models, options.BatchSize, cancellationToken).ConfigureAwait(false);
            fitted[p].PredictTicks = _time.GetElapsedTime(start).Ticks;
            (fitted[p].Embedder, fitted[p].EmbedTicks) = clock.Since(embedBefore);
        }

        OutcomeReplay modelMeans = await OutcomeReplay.PrepareAsync(ModelMeanPredictor.Fit(train), test, models, options.BatchSize, cancellationToken).ConfigureAwait(false);
        progress?.Report(new EvaluationProgress("predict", null, fitted.Length, fitted.Length));

        List<RunPlan> plans = PlanRuns(fitted, alphas, options, models, eccosSolver);
        int queries = recorded.QueryCount;
        var runs = new List<PolicyRun>(plans.Count);
        for (int k = 0; k < plans.Count; k++)
        {
            progress?.Report(new EvaluationProgress("evaluate", plans[k].Policy, k, plans.Count));
            RunPlan plan = plans[k];
            OutcomeReplay replay = plan.Source switch
            {
                RunPlan.ModelMeans => modelMeans,
                RunPlan.Recorded => recorded,
                _ => fitted[plan.Source].Replay!,
            };

            // One batch at a time, so that the solve times are not inflated by solving batches side by side.
            ReplayResult result = replay.Run(plan.Solver, plan.Target, capacities, 1, _time, cancellationToken);
            long overheadTicks = result.SolveTime.Ticks + (plan.Source >= 0 ? fitted[plan.Source].PredictTicks - fitted[plan.Source].EmbedTicks : 0);
            // An α solved through a target curve is certified on the held-out replay, which already lived through batches whose internal
            // target was out of reach (they get the most capable models): such batches are reported, not a verdict on α.
            runs.Add(new PolicyRun(
                plan.Policy,
                plan.Alpha,
                plan.Lambda,
                plan.Alpha is null ? null : plan.Target,
                result.RealizedQuality,
                result.PredictedQuality,
                result.Cost,
                result.CapacityViolations,
                result.Deferred,
                plan.Reachable && (plan.Certified || result.UnreachableBatches == 0),
                TimeSpan.FromTicks(overheadTicks).TotalMilliseconds / queries)
            {
                UnreachableBatches = result.UnreachableBatches,
            });
        }

        progress?.Report(new EvaluationProgress("evaluate", null, plans.Count, plans.Count));
        var predictorReports = new PredictorEvaluation[fitted.Length];
        for (int p = 0; p < fitted.Length; p++)
        {
            progress?.Report(new EvaluationProgress("metrics", fitted[p].Name, p, fitted.Length));
            PredictionMetrics metrics = await PredictionMetrics.EvaluateAsync(fitted[p].Predictor, test, models, options.BatchSize, cancellationToken).ConfigureAwait(false);
            predictorReports[p] = new PredictorEvaluation(
                fitted[p].Name,
                metrics,
                fitted[p].FitSeconds,
                TimeSpan.FromTicks(fitted[p].PredictTicks - fitted[p].EmbedTicks).TotalMilliseconds / queries,
                fitted[p].Embedder,
                TimeSpan.FromTicks(fitted[p].EmbedTicks).TotalMilliseconds / queries);
        }

        progress?.Report(new EvaluationProgress("metrics", null, fitted.Length, fitted.Length));
        double maxCost = recorded.RecordedModelCosts().Max();
        return new EvaluationReport(
            dataset.Name,
            fitRecords.Count,
            validation.Count,
            queries,
            options.BatchSize,
            options.Solver,
            maxCost,
            runs,
            Frontiers(runs, maxCost),
            predictorReports);
    }

    /// <summary>Splits off the seeded validation slice; both parts keep file order.</summary>
    internal static (IReadOnlyList<OutcomeRecord> Fit, IReadOnlyList<OutcomeRecord> Validation) SliceValidation(
        IReadOnlyList<OutcomeRecord> train, double fraction, int seed) =>
        (int)Math.Round(train.Count * fraction) == 0 ? (train, []) : TargetCurveFolds(train, fraction, 1, seed)[0];

    /// <summary>
    /// The cross-fitting folds of the target curve: fold 0 is the validation slice (<see cref="SliceValidation"/>,
    /// whose predictors are already fitted); the rest of the training split is cut into <c>folds − 1</c> further
    /// held-out slices of the same seeded order, each paired with the training records outside it. Every list keeps
    /// file order; a fold may be empty when the training split is tiny.
    /// </summary>
    internal static List<(IReadOnlyList<OutcomeRecord> Fit, IReadOnlyList<OutcomeRecord> Validation)> TargetCurveFolds(
        IReadOnlyList<OutcomeRecord> train, double fraction, int folds, int seed)
    {
        int count = (int)Math.Round(train.Count * fraction);
        int[] order = Enumerable.Range(0, train.Count).ToArray();
        new Random(seed ^ 0x5eed).Shuffle(order);
        var foldOf = new int[train.Count];
        int rest = train.Count - count;
        for (int k = 0; k < order.Length; k++)
        {
            // Positions [0, count) are the validation slice; the rest is dealt into folds 1 … folds − 1 in equal runs.
            foldOf[order[k]] = k < count ? 0 : 1 + (int)((long)(k - count) * (folds - 1) / Math.Max(1, rest));
        }

        var result = new List<(IReadOnlyList<OutcomeRecord>, IReadOnlyList<OutcomeRecord>)>(folds);
        for (int f = 0; f < folds; f++)
        {
            var fit = new List<OutcomeRecord>(train.Count);
            var held = new List<OutcomeRecord>();
            for (int i = 0; i < train.Count; i++)
            {
                (foldOf[i] == f ? held : fit).Add(train[i]);
            }

            result.Add((fit, held));
        }

        return result;
    }

    /// <summary>
    /// Learns each predictor's t(α) on the validation slice and, with <see cref="EvaluationOptions.TargetCurveFolds"/>
    /// above 1, on further held-out folds of the training split, each replayed by the predictor refitted without it:
    /// one map from several times more validation queries, so that whether an α is reachable is not decided by the
    /// noise of one slice.
    /// </summary>
    private static async Task FitTargetCurvesAsync(
        IReadOnlyList<EvaluationPredictor> predictors,
        FittedPredictor[] fitted,
        IReadOnlyList<OutcomeRecord> train,
        IReadOnlyList<OutcomeRecord> validation,
        ModelCatalog catalog,
        IAssignmentSolver solver,
        double[] alphas,
        Func<int, IReadOnlyList<int>?> capacities,
        EvaluationOptions options,
        EmbeddingClock clock,
        IProgress<EvaluationProgress>? progress,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<ModelProfile> models = catalog.Models;
        var parts = new List<OutcomeReplay>[fitted.Length];
        for (int p = 0; p < fitted.Length; p++)
        {
            OutcomeReplay slice = await OutcomeReplay.PrepareAsync(fitted[p].Predictor, validation, models, options.BatchSize, cancellationToken).ConfigureAwait(false);
            if (slice.QueryCount == 0)
            {
                throw new ArgumentException("The validation slice has no record with a graded answer of a catalog model; set ValidationFraction to 0 or turn FitTargetCurve off.", nameof(validation));
            }

            parts[p] = [slice];
        }

        var folds = options.TargetCurveFolds > 1
            ? TargetCurveFolds(train, options.ValidationFraction, options.TargetCurveFolds, options.Seed)
            : [];
        int refits = Math.Max(0, folds.Count - 1) * fitted.Length;
        for (int f = 1; f < folds.Count; f++)
        {
            (IReadOnlyList<OutcomeRecord> fit, IReadOnlyList<OutcomeRecord> held) = folds[f];
            if (fit.Count == 0 || held.Count == 0)
            {
                continue;
            }

            if (options.ShuffleTest)
            {
                OutcomeRecord[] shuffled = [.. held];
                new Random(options.Seed ^ 0x7a1d ^ f).Shuffle(shuffled);
                held = shuffled;
            }

            var context = new PredictorFitContext(fit, held, catalog, options.Seed, clock);
            for (int p = 0; p < fitted.Length; p++)
            {
                progress?.Report(new EvaluationProgress("target", fitted[p].Name, ((f - 1) * fitted.Length) + p, refits + fitted.Length));
                IPredictor predictor = await predictors[p].FitAsync(context, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"Predictor '{predictors[p].Name}': the fit returned null.");

                // A predictor that is not refitted (EvaluationPredictor.Fitted) has seen the fold: only its slice counts.
                if (!ReferenceEquals(predictor, fitted[p].Predictor))
                {
                    parts[p].Add(await OutcomeReplay.PrepareAsync(predictor, held, models, options.BatchSize, cancellationToken).ConfigureAwait(false));
                }
            }
        }

        for (int p = 0; p < fitted.Length; p++)
        {
            progress?.Report(new EvaluationProgress("target", fitted[p].Name, refits + p, refits + fitted.Length));
            fitted[p].Curve = FitCurve(OutcomeReplay.Combine(parts[p]), solver, alphas, capacities, options, cancellationToken);
        }
    }

    private static QualityTargetCurve FitCurve(
        OutcomeReplay replay,
        IAssignmentSolver solver,
        double[] alphas,
        Func<int, IReadOnlyList<int>?> capacities,
        EvaluationOptions options,
        CancellationToken cancellationToken)
    {
        var curveOptions = new QualityTargetCurveOptions
        {
            BatchSize = options.BatchSize,
            MinAlpha = alphas.Min(),
            MaxAlpha = alphas.Max(),
            AlphaStep = CurveStep,
            Margin = options.TargetCurveMargin,
        };
        return QualityTargetCurve.Fit(replay, solver, curveOptions, capacities, cancellationToken);
    }

    private static Func<int, IReadOnlyList<int>?> CapacitiesOfBatch(IReadOnlyList<ModelProfile> models, IReadOnlyDictionary<string, double> shares)
    {
        if (shares.Count == 0)
        {
            return static _ => null;
        }

        var cache = new System.Collections.Concurrent.ConcurrentDictionary<int, int[]>();
        return n => cache.GetOrAdd(n, static (n, state) =>
        {
            var caps = new int[state.models.Count];
            for (int j = 0; j < caps.Length; j++)
            {
                caps[j] = state.shares.TryGetValue(state.models[j].Name, out double share)
                    ? (int)Math.Floor((share * n) + 1e-9)
                    : state.models[j].Capacity ?? AssignmentConstraints.Unlimited;
            }

            return caps;
        }, (models, shares));
    }

    private static List<RunPlan> PlanRuns(FittedPredictor[] fitted, double[] alphas, EvaluationOptions options, IReadOnlyList<ModelProfile> models, IAssignmentSolver eccosSolver)
    {
        var plans = new List<RunPlan>();
        for (int p = 0; p < fitted.Length; p++)
        {
            foreach (double alpha in alphas)
            {
                QualityTargetCurve? curve = fitted[p].Curve;
                plans.Add(new RunPlan($"eccos:{fitted[p].Name}", p, eccosSolver)
                {
                    Alpha = alpha,
                    Target = curve?.Apply(alpha) ?? alpha,
                    Reachable = curve?.IsReachable(alpha) ?? true,
                    Certified = curve is not null,
                });
            }
        }

        if (!options.IncludeBaselines)
        {
            return plans;
        }

        var threshold = new ThresholdAssignmentSolver();
        for (int p = 0; p < fitted.Length; p++)
        {
            foreach (double alpha in alphas)
            {
                plans.Add(new RunPlan($"threshold:{fitted[p].Name}", p, threshold) { Alpha = alpha, Target = alpha });
            }
        }

        for (int p = 0; p < fitted.Length; p++)
        {
            if (options.LambdaRouterPredictors.Contains(fitted[p].Name, StringComparer.Ordinal))
            {
                foreach (double lambda in options.Lambdas)
                {
                    plans.Add(new RunPlan($"{fitted[p].Name}-lambda", p, new UtilityAssignmentSolver(lambda)) { Lambda = lambda });
                }
            }
        }

        foreach (ModelProfile model in models)
        {
            plans.Add(new RunPlan($"single:{model.Name}", RunPlan.ModelMeans, new SingleModelAssignmentSolver(model.Name)));
        }

        plans.Add(new RunPlan("cheapest", RunPlan.ModelMeans, new CheapestModelAssignmentSolver()));
        plans.Add(new RunPlan("random", RunPlan.ModelMeans, new RandomAssignmentSolver(options.Seed)));
        plans.Add(new RunPlan("round-robin", RunPlan.ModelMeans, new RoundRobinAssignmentSolver()));

        plans.Add(new RunPlan("oracle", RunPlan.Recorded, new UtilityAssignmentSolver(double.PositiveInfinity)));
        return plans;
    }

    private static List<PolicyFrontier> Frontiers(List<PolicyRun> runs, double maxCost)
    {
        var frontiers = new List<PolicyFrontier>();
        if (!(maxCost > 0))
        {
            return frontiers;
        }

        foreach (IGrouping<string, PolicyRun> group in runs.GroupBy(r => r.Policy, StringComparer.Ordinal))
        {
            CostQualityPoint[] points = [.. group.Where(r => r.Reachable).Select(r => new CostQualityPoint(r.Cost, r.Quality))];
            if (points.Length > 0)
            {
                frontiers.Add(new PolicyFrontier(group.Key, CostQualityFrontier.Create(points, maxCost)));
            }
        }

        return frontiers;
    }

    private sealed class FittedPredictor(string name, IPredictor predictor, double fitSeconds)
    {
        public string Name { get; } = name;

        public IPredictor Predictor { get; } = predictor;

        public string? Embedder { get; set; }

        public double FitSeconds { get; } = fitSeconds;

        public QualityTargetCurve? Curve { get; set; }

        public OutcomeReplay? Replay { get; set; }

        public long PredictTicks { get; set; }

        public long EmbedTicks { get; set; }
    }

    private sealed class RunPlan(string policy, int source, IAssignmentSolver solver)
    {
        public const int ModelMeans = -1;
        public const int Recorded = -2;

        public string Policy { get; } = policy;

        /// <summary>Gets the index of the predictor whose predictions the run schedules on, or <see cref="ModelMeans"/> / <see cref="Recorded"/>.</summary>
        public int Source { get; } = source;

        public IAssignmentSolver Solver { get; } = solver;

        public double? Alpha { get; init; }

        public double? Lambda { get; init; }

        public double Target { get; init; }

        /// <summary>Gets whether the target curve found the target reachable on validation (true without a curve).</summary>
        public bool Reachable { get; init; } = true;

        /// <summary>Gets whether <see cref="Reachable"/> comes from a target curve (then it alone decides).</summary>
        public bool Certified { get; init; }
    }
}
