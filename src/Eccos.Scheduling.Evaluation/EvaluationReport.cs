namespace Eccos.Scheduling.Evaluation;

/// <summary>The result of a <see cref="ScheduleEvaluator"/> run: every policy run, every frontier and every predictor's metrics.</summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed class EvaluationReport
{
    internal EvaluationReport(
        string dataset,
        int trainQueries,
        int validationQueries,
        int testQueries,
        int batchSize,
        IAssignmentSolver solver,
        double maxSingleModelCost,
        IReadOnlyList<PolicyRun> runs,
        IReadOnlyList<PolicyFrontier> frontiers,
        IReadOnlyList<PredictorEvaluation> predictors)
    {
        Dataset = dataset;
        TrainQueries = trainQueries;
        ValidationQueries = validationQueries;
        TestQueries = testQueries;
        BatchSize = batchSize;
        Solver = solver;
        MaxSingleModelCost = maxSingleModelCost;
        Runs = runs;
        Frontiers = frontiers;
        Predictors = predictors;
    }

    /// <summary>Gets the dataset's name.</summary>
    public string Dataset { get; }

    /// <summary>Gets the number of records the predictors were fitted on (the training split less the validation slice).</summary>
    public int TrainQueries { get; }

    /// <summary>Gets the number of records of the validation slice.</summary>
    public int ValidationQueries { get; }

    /// <summary>Gets the number of test queries replayed.</summary>
    public int TestQueries { get; }

    /// <summary>Gets the batch size.</summary>
    public int BatchSize { get; }

    /// <summary>Gets the solver of the <c>eccos:*</c> policies.</summary>
    public IAssignmentSolver Solver { get; }

    /// <summary>
    /// Gets C, the highest total cost of a single model over the test split (each model on every query the log has it
    /// for): the right end of every AIQ interval.
    /// </summary>
    public double MaxSingleModelCost { get; }

    /// <summary>Gets every policy run, grouped by policy, in sweep order.</summary>
    public IReadOnlyList<PolicyRun> Runs { get; }

    /// <summary>Gets the frontier of every policy.</summary>
    public IReadOnlyList<PolicyFrontier> Frontiers { get; }

    /// <summary>Gets each predictor's metrics and timings on the test split.</summary>
    public IReadOnlyList<PredictorEvaluation> Predictors { get; }
}

/// <summary>One run of one policy over the whole test split (for one α or λ).</summary>
/// <param name="Policy">The policy: <c>eccos:knn</c>, <c>threshold:knn</c>, <c>knn-lambda</c>, <c>single:model</c>, <c>cheapest</c>, <c>random</c>, <c>round-robin</c> or <c>oracle</c>.</param>
/// <param name="Alpha">The quality target α, or <see langword="null"/> for policies without one.</param>
/// <param name="Lambda">λ of a λ-router run, else <see langword="null"/>.</param>
/// <param name="Target">The target the solver was given (t(α) with a target curve), or <see langword="null"/>.</param>
/// <param name="Quality">Realized success: mean recorded score of the chosen models over all test queries (a deferred query scores 0).</param>
/// <param name="PredictedQuality">Mean predicted quality of the chosen models over all test queries.</param>
/// <param name="Cost">Total recorded cost of the chosen calls (recorded cost, else tokens × list prices).</param>
/// <param name="CapacityViolations">Queries assigned beyond a model's capacity, summed over batches and models.</param>
/// <param name="Deferred">Queries left unassigned.</param>
/// <param name="Reachable">
/// Whether α is reachable. For an <c>eccos:*</c> policy with a target curve: whether the held-out replay certified
/// it (<see cref="QualityTargetCurve.IsReachable"/>) — t(α) is a target for the whole stream, learned on a replay
/// in which some batches could not reach it either, so a test batch that cannot is counted in
/// <see cref="UnreachableBatches"/> but does not overturn the certificate (the realized success is what the evaluation
/// then checks). Without a curve: whether the solver reached the target in every batch. Always true without a target.
/// </param>
/// <param name="OverheadMsPerQuery">Scheduling overhead: prediction (without embedding) plus solving, milliseconds per query.</param>
public sealed record PolicyRun(
    string Policy,
    double? Alpha,
    double? Lambda,
    double? Target,
    double Quality,
    double PredictedQuality,
    double Cost,
    int CapacityViolations,
    int Deferred,
    bool Reachable,
    double OverheadMsPerQuery)
{
    /// <summary>
    /// Gets the number of batches in which the solver reported the target it was given out of reach (it then assigns
    /// the most capable models it can). 0 for policies without a target.
    /// </summary>
    public int UnreachableBatches { get; init; }
}

/// <summary>A policy's cost–quality frontier over its reachable runs, and its AIQ.</summary>
/// <param name="Policy">The policy.</param>
/// <param name="Frontier">The frontier.</param>
public sealed record PolicyFrontier(string Policy, CostQualityFrontier Frontier)
{
    /// <summary>Gets the AIQ of <see cref="Frontier"/>.</summary>
    public double Aiq => Frontier.Aiq;
}

/// <summary>A predictor's quality on the test split and what it cost to fit and run.</summary>
/// <param name="Name">The predictor's name.</param>
/// <param name="Metrics">AUC, Brier, ECE and output-token MAE on the test split.</param>
/// <param name="FitSeconds">Wall time of fitting, seconds (including any embedding of the training records).</param>
/// <param name="PredictionMsPerQuery">Prediction time without embedding, milliseconds per test query.</param>
/// <param name="Embedder">The embedders that ran while the predictor predicted the test split (joined by <c>+</c>), or <see langword="null"/>.</param>
/// <param name="EmbeddingMsPerQuery">Embedding time while predicting the test split, milliseconds per test query (0 without an embedder).</param>
public sealed record PredictorEvaluation(
    string Name,
    PredictionMetrics Metrics,
    double FitSeconds,
    double PredictionMsPerQuery,
    string? Embedder,
    double EmbeddingMsPerQuery);

/// <summary>Progress of a <see cref="ScheduleEvaluator"/> run.</summary>
/// <param name="Stage">What is running: <c>fit</c>, <c>target</c>, <c>predict</c>, <c>evaluate</c> or <c>metrics</c>.</param>
/// <param name="Detail">What it runs on (a predictor's name), or <see langword="null"/>.</param>
/// <param name="Completed">Units done in this stage.</param>
/// <param name="Total">Units in this stage.</param>
public sealed record EvaluationProgress(string Stage, string? Detail, int Completed, int Total);
