namespace Eccos.Scheduling;

/// <summary>
/// Replays a recorded outcome log through scheduling policies and measures what each would have realized: success,
/// cost, capacity violations, deferred queries and scheduling overhead, the cost–quality frontier of each policy and
/// its AIQ, and each predictor's metrics. Every policy is run on the same test batches and the same predictions.
/// </summary>
/// <remarks>
/// <para>
/// Protocol: predictors are fitted on the training split less a seeded validation slice (which is theirs for
/// calibration and blending, and the evaluator's for learning the calibrated target t(α)); the test split (the log's
/// fixed split, else a seeded 70/30 draw) is cut, in file order, into batches of <see cref="EvaluationOptions.BatchSize"/>;
/// each batch is predicted once per predictor, the models the log lacks for a query are masked out, and each policy
/// solves the batch under its target and the capacities (share·n per model).
/// </para>
/// <para>
/// Policies: <c>eccos:&lt;p&gt;</c> (the configured solver, one run per α), <c>threshold:&lt;p&gt;</c> (the
/// <c>threshold</c> solver, one run per α), <c>&lt;p&gt;-lambda</c> (RouterBench's λ-router, one run per λ), and the
/// model-level baselines <c>single:&lt;model&gt;</c>, <c>cheapest</c>, <c>random</c> and <c>round-robin</c>, which
/// schedule on each model's training mean, and <c>oracle</c>, which sees the recorded outcomes. A baseline whose
/// solver is not registered is left out.
/// </para>
/// <para>
/// Thread safety: an instance holds no per-run state and may run several evaluations at once if the registered solver
/// factories and the predictors allow it. Cancellation is observed between batches and inside predictors and solvers.
/// </para>
/// </remarks>
public sealed class ScheduleEvaluator
{
    private const string RandomPolicy = "random";
    private readonly AssignmentSolverRegistry _solvers;
    private readonly TimeProvider _time;

    /// <summary>Initializes a new evaluator.</summary>
    /// <param name="solvers">The solvers to draw from; default <see cref="AssignmentSolverRegistry.CreateDefault"/>.</param>
    /// <param name="timeProvider">The clock of the overhead measurements; default <see cref="TimeProvider.System"/>.</param>
    public ScheduleEvaluator(AssignmentSolverRegistry? solvers = null, TimeProvider? timeProvider = null)
    {
        _solvers = solvers ?? AssignmentSolverRegistry.CreateDefault();
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
        if (!_solvers.Contains(options.Solver))
        {
            throw new ArgumentException($"Solver: unknown solver '{options.Solver}'; registered: {string.Join(", ", _solvers.Names)}.", nameof(options));
        }

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
        if (test.Count == 0)
        {
            throw new ArgumentException($"Dataset '{dataset.Name}' has no test records.", nameof(dataset));
        }

        (IReadOnlyList<OutcomeRecord> fitRecords, IReadOnlyList<OutcomeRecord> validation) = SliceValidation(train, options.ValidationFraction, options.Seed);
        if (options.ShuffleTest)
        {
            OutcomeRecord[] shuffled = [.. test];
            new Random(options.Seed ^ 0x7e57).Shuffle(shuffled);
            test = shuffled;

            // The calibration replays the validation slice in batches too: in the same kind of order as the test.
            OutcomeRecord[] slice = [.. validation];
            new Random(options.Seed ^ 0x7a1d).Shuffle(slice);
            validation = slice;
        }

        ReplayBatch[] batches = OutcomeReplay.CreateBatches(test, models, options.BatchSize, nameof(dataset));
        double[] alphas = [.. options.Alphas];

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
        for (int p = 0; p < fitted.Length; p++)
        {
            progress?.Report(new EvaluationProgress("calibrate", fitted[p].Name, p, fitted.Length));
            fitted[p].Targets = options.CalibrateTarget ? CalibrateTargets(alphas) : alphas;
        }

        progress?.Report(new EvaluationProgress("calibrate", null, fitted.Length, fitted.Length));

        List<RunPlan> plans = PlanRuns(fitted, alphas, options, models);
        IPredictor modelMeans = ModelMeanPredictor.Fit(train);
        await ReplayAsync(batches, models, fitted, modelMeans, plans, options, clock, progress, cancellationToken).ConfigureAwait(false);

        var predictorReports = new PredictorEvaluation[fitted.Length];
        for (int p = 0; p < fitted.Length; p++)
        {
            progress?.Report(new EvaluationProgress("metrics", fitted[p].Name, p, fitted.Length));
            PredictionMetrics metrics = await PredictionMetrics.EvaluateAsync(fitted[p].Predictor, test, models, options.BatchSize, cancellationToken).ConfigureAwait(false);
            predictorReports[p] = new PredictorEvaluation(
                fitted[p].Name,
                metrics,
                fitted[p].FitSeconds,
                TimeSpan.FromTicks(fitted[p].PredictTicks - fitted[p].EmbedTicks).TotalMilliseconds / test.Count,
                fitted[p].Embedder,
                TimeSpan.FromTicks(fitted[p].EmbedTicks).TotalMilliseconds / test.Count);
        }

        progress?.Report(new EvaluationProgress("metrics", null, fitted.Length, fitted.Length));
        double maxCost = MaxSingleModelCost(batches, models.Count);
        var runs = new List<PolicyRun>(plans.Count);
        foreach (RunPlan plan in plans)
        {
            long overheadTicks = plan.SolveTicks + (plan.Source >= 0 ? fitted[plan.Source].PredictTicks - fitted[plan.Source].EmbedTicks : 0);
            runs.Add(new PolicyRun(
                plan.Policy,
                plan.Alpha,
                plan.Lambda,
                plan.Alpha is null ? null : plan.Target,
                plan.Tally.MeanScore,
                plan.Tally.MeanPredictedQuality,
                plan.Tally.Cost,
                plan.Tally.CapacityViolations,
                plan.Tally.Deferred,
                plan.Tally.IneligibleAssignments,
                plan.UnreachableBatches == 0,
                TimeSpan.FromTicks(overheadTicks).TotalMilliseconds / test.Count));
        }

        return new EvaluationReport(
            dataset.Name,
            fitRecords.Count,
            validation.Count,
            test.Count,
            options.BatchSize,
            options.Solver,
            maxCost,
            runs,
            Frontiers(runs, maxCost),
            predictorReports);
    }

    /// <summary>Splits off the seeded validation slice; both parts keep file order.</summary>
    internal static (IReadOnlyList<OutcomeRecord> Fit, IReadOnlyList<OutcomeRecord> Validation) SliceValidation(
        IReadOnlyList<OutcomeRecord> train, double fraction, int seed)
    {
        int count = (int)Math.Round(train.Count * fraction);
        if (count == 0)
        {
            return (train, []);
        }

        int[] order = Enumerable.Range(0, train.Count).ToArray();
        new Random(seed ^ 0x5eed).Shuffle(order);
        var inValidation = new bool[train.Count];
        for (int k = 0; k < count; k++)
        {
            inValidation[order[k]] = true;
        }

        var fit = new List<OutcomeRecord>(train.Count - count);
        var validation = new List<OutcomeRecord>(count);
        for (int i = 0; i < train.Count; i++)
        {
            (inValidation[i] ? validation : fit).Add(train[i]);
        }

        return (fit, validation);
    }

    private static double[] CalibrateTargets(double[] alphas) => alphas;

    private List<RunPlan> PlanRuns(FittedPredictor[] fitted, double[] alphas, EvaluationOptions options, IReadOnlyList<ModelProfile> models)
    {
        var plans = new List<RunPlan>();
        for (int p = 0; p < fitted.Length; p++)
        {
            for (int a = 0; a < alphas.Length; a++)
            {
                plans.Add(new RunPlan($"eccos:{fitted[p].Name}", p, _solvers.Create(options.Solver, options.Seed)) { Alpha = alphas[a], Target = fitted[p].Targets[a] });
            }
        }

        if (!options.IncludeBaselines)
        {
            return plans;
        }

        if (_solvers.Contains("threshold"))
        {
            for (int p = 0; p < fitted.Length; p++)
            {
                foreach (double alpha in alphas)
                {
                    plans.Add(new RunPlan($"threshold:{fitted[p].Name}", p, _solvers.Create("threshold", options.Seed)) { Alpha = alpha, Target = alpha });
                }
            }
        }

        for (int p = 0; p < fitted.Length; p++)
        {
            if (options.LambdaRouterPredictors.Contains(fitted[p].Name, StringComparer.Ordinal))
            {
                foreach (double lambda in options.Lambdas)
                {
                    plans.Add(new RunPlan($"{fitted[p].Name}-lambda", p, new UtilityRouterSolver(lambda)) { Lambda = lambda });
                }
            }
        }

        if (_solvers.Contains("single"))
        {
            foreach (ModelProfile model in models)
            {
                plans.Add(new RunPlan($"single:{model.Name}", RunPlan.ModelMeans, _solvers.Create($"single:{model.Name}", options.Seed)));
            }
        }

        foreach (string name in (ReadOnlySpan<string>)["cheapest", RandomPolicy, "round-robin"])
        {
            if (_solvers.Contains(name))
            {
                plans.Add(new RunPlan(name, RunPlan.ModelMeans, _solvers.Create(name, options.Seed)));
            }
        }

        plans.Add(new RunPlan("oracle", RunPlan.Recorded, new UtilityRouterSolver(double.PositiveInfinity)));
        return plans;
    }

    private async Task ReplayAsync(
        ReplayBatch[] batches,
        IReadOnlyList<ModelProfile> models,
        FittedPredictor[] fitted,
        IPredictor modelMeans,
        List<RunPlan> plans,
        EvaluationOptions options,
        EmbeddingClock clock,
        IProgress<EvaluationProgress>? progress,
        CancellationToken cancellationToken)
    {
        var matrices = new PredictionMatrix[fitted.Length];
        var load = new int[models.Count];
        for (int b = 0; b < batches.Length; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new EvaluationProgress("evaluate", null, b, batches.Length));
            ReplayBatch batch = batches[b];
            for (int p = 0; p < fitted.Length; p++)
            {
                Dictionary<string, long> embedBefore = clock.Snapshot();
                long start = _time.GetTimestamp();
                matrices[p] = await OutcomeReplay.PredictAsync(fitted[p].Predictor, batch, models, cancellationToken).ConfigureAwait(false);
                fitted[p].PredictTicks += _time.GetElapsedTime(start).Ticks;
                (string? embedder, long embedTicks) = clock.Since(embedBefore);
                fitted[p].EmbedTicks += embedTicks;
                fitted[p].Embedder ??= embedder;
            }

            PredictionMatrix means = await OutcomeReplay.PredictAsync(modelMeans, batch, models, cancellationToken).ConfigureAwait(false);
            PredictionMatrix recorded = OutcomeReplay.Recorded(batch, models);
            int[] capacities = OutcomeReplay.Capacities(models, options.CapacityShares, batch.Count);
            foreach (RunPlan plan in plans)
            {
                PredictionMatrix matrix = plan.Source switch
                {
                    RunPlan.ModelMeans => means,
                    RunPlan.Recorded => recorded,
                    _ => matrices[plan.Source],
                };
                var constraints = new AssignmentConstraints { QualityTarget = plan.Target, Capacities = capacities };
                long start = _time.GetTimestamp();
                AssignmentResult result = plan.Solver.Solve(matrix, constraints, cancellationToken);
                plan.SolveTicks += _time.GetElapsedTime(start).Ticks;
                if (result.Status == AssignmentStatus.QualityTargetUnreachable)
                {
                    plan.UnreachableBatches++;
                }

                OutcomeReplay.Tally(ref plan.Tally, batch, matrix, result.Assignments, capacities, load);
            }
        }

        progress?.Report(new EvaluationProgress("evaluate", null, batches.Length, batches.Length));
    }

    private static double MaxSingleModelCost(ReplayBatch[] batches, int modelCount)
    {
        var totals = new double[modelCount];
        foreach (ReplayBatch batch in batches)
        {
            for (int k = 0; k < batch.Cost.Length; k++)
            {
                if (batch.Available[k])
                {
                    totals[k % modelCount] += batch.Cost[k];
                }
            }
        }

        return totals.Max();
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
            CostQualityPoint[] points = [.. group.Where(r => r.Reachable).Select(r => new CostQualityPoint(r.Cost, r.Success))];
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

        public double[] Targets { get; set; } = [];

        public long PredictTicks { get; set; }

        public long EmbedTicks { get; set; }
    }

    private sealed class RunPlan(string policy, int source, IAssignmentSolver solver)
    {
        public const int ModelMeans = -1;
        public const int Recorded = -2;

        public ReplayTally Tally;

        public string Policy { get; } = policy;

        /// <summary>Gets the index of the predictor whose predictions the run schedules on, or <see cref="ModelMeans"/> / <see cref="Recorded"/>.</summary>
        public int Source { get; } = source;

        public IAssignmentSolver Solver { get; } = solver;

        public double? Alpha { get; init; }

        public double? Lambda { get; init; }

        public double Target { get; init; }

        public long SolveTicks { get; set; }

        public int UnreachableBatches { get; set; }
    }
}
