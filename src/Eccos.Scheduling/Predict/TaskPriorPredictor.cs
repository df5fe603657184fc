using System.Globalization;

namespace Eccos.Scheduling;

/// <summary>
/// Predicts from each model's record in the query's task: its success rate and its mean output tokens there,
/// Bayesian-shrunk toward the model's global figures, which are shrunk toward the whole pool's.
/// </summary>
/// <remarks>
/// <para>
/// For model j and task t with n graded answers of summed score S, the predicted quality is
/// <c>(S + k·g_j) / (n + k)</c>, where k is <see cref="TaskPriorPredictorOptions.QualityPseudoCount"/> and g_j the
/// model's global rate <c>(S_j + k·p) / (n_j + k)</c>, p being the pool's rate over every answer of every model.
/// Mean output tokens are shrunk the same way. A query without a task, or with a task the model has no record in,
/// gets the model's global figures; a model never seen gets the pool's figures (in the query's task when the pool has
/// a record there); before any record at all, <see cref="TaskPriorPredictorOptions.InitialQuality"/> and
/// <see cref="TaskPriorPredictorOptions.InitialOutputTokens"/>. Predicted cost is
/// <see cref="ModelProfile.CostOf"/> of the query's input tokens and the predicted output tokens.
/// </para>
/// <para>
/// Outputs with a score count for quality and length; outputs without one (ungraded live traffic) count for length
/// only; failed calls (with an <see cref="ModelOutcome.Error"/>) count for neither.
/// </para>
/// <para>
/// Thread-safe: <see cref="PredictAsync"/>, <see cref="Record"/> and <see cref="RecordAsync"/> may be called from
/// several threads at once; a prediction sees each record either wholly or not at all. Prediction is synchronous
/// and ignores cancellation once started (it takes microseconds per query). Nothing to dispose.
/// </para>
/// </remarks>
public sealed class TaskPriorPredictor : IPredictor, IOutcomeSink
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Group> _models = new(StringComparer.Ordinal);
    private readonly Group _pool = new();
    private readonly TaskPriorPredictorOptions _options;
    private long _records;

    /// <summary>Initializes an empty predictor; feed it with <see cref="Record"/> or build it with <see cref="Fit"/>.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public TaskPriorPredictor(TaskPriorPredictorOptions? options = null)
    {
        _options = (options ?? new TaskPriorPredictorOptions()).Validated(nameof(options));
    }

    /// <summary>Gets the number of records taken in so far.</summary>
    public long RecordCount => Interlocked.Read(ref _records);

    /// <summary>Builds a predictor from recorded outcomes.</summary>
    /// <param name="records">The training records.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted predictor, which keeps learning from further records.</returns>
    /// <exception cref="ArgumentException">A record is invalid (named by id and model).</exception>
    public static TaskPriorPredictor Fit(IEnumerable<OutcomeRecord> records, TaskPriorPredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        var predictor = new TaskPriorPredictor(options);
        foreach (OutcomeRecord record in records)
        {
            predictor.Record(record);
        }

        return predictor;
    }

    /// <summary>Takes in one record: each of its outputs updates its model's figures in the record's task.</summary>
    /// <param name="record">The record.</param>
    /// <exception cref="ArgumentException">The record has a negative token count or a score outside [0, 1].</exception>
    public void Record(OutcomeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.InputTokens < 0)
        {
            throw new ArgumentException($"Record '{record.Id}': input tokens {record.InputTokens} must not be negative.", nameof(record));
        }

        ArgumentNullException.ThrowIfNull(record.Outputs, nameof(record));
        foreach (ModelOutcome o in record.Outputs)
        {
            if (o is null)
            {
                throw new ArgumentException($"Record '{record.Id}': an output is null.", nameof(record));
            }

            if (o.Quality is { } s && !(s >= 0 && s <= 1))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Record '{record.Id}', model '{o.Model}': score {s} must be a number in [0, 1]."),
                    nameof(record));
            }

            if (o.OutputTokens < 0)
            {
                throw new ArgumentException($"Record '{record.Id}', model '{o.Model}': output tokens {o.OutputTokens} must not be negative.", nameof(record));
            }
        }

        lock (_lock)
        {
            foreach (ModelOutcome o in record.Outputs)
            {
                if (o.Error is not null || string.IsNullOrEmpty(o.Model))
                {
                    continue;
                }

                if (!_models.TryGetValue(o.Model, out Group? group))
                {
                    group = new Group();
                    _models.Add(o.Model, group);
                }

                group.Add(record.Task, o.Quality, record.InputTokens, o.OutputTokens);
                _pool.Add(record.Task, o.Quality, record.InputTokens, o.OutputTokens);
            }

            Interlocked.Increment(ref _records);
        }
    }

    /// <inheritdoc />
    /// <remarks>Equivalent to <see cref="Record"/>; completes synchronously.</remarks>
    public ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Record(record);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<PredictionMatrix> PredictAsync(
        IReadOnlyList<SchedulingQuery> queries,
        IReadOnlyList<ModelProfile> models,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(models);
        cancellationToken.ThrowIfCancellationRequested();
        var matrix = new PredictionMatrix(queries.Count, models);
        int m = models.Count;

        // Distinct tasks of the batch; row 0 stands for "no task".
        var taskRow = new Dictionary<string, int>(StringComparer.Ordinal);
        var rowOf = new int[queries.Count];
        var tasks = new List<string?> { null };
        for (int i = 0; i < queries.Count; i++)
        {
            SchedulingQuery q = queries[i] ?? throw new ArgumentException($"Query {i} is null.", nameof(queries));
            if (q.Task is null)
            {
                continue;
            }

            if (!taskRow.TryGetValue(q.Task, out int row))
            {
                row = tasks.Count;
                taskRow.Add(q.Task, row);
                tasks.Add(q.Task);
            }

            rowOf[i] = row;
        }

        var estimates = new Estimate[tasks.Count * m];
        lock (_lock)
        {
            Estimate poolRoot = Estimate.Root(_options);
            Estimate poolGlobal = _pool.Estimate(null, poolRoot, _options);
            for (int j = 0; j < m; j++)
            {
                Group group = _models.GetValueOrDefault(models[j].Name) ?? _pool;
                Estimate global = group == _pool ? poolGlobal : group.Estimate(null, poolGlobal, _options);
                estimates[j] = global; // row 0: no task
                for (int r = 1; r < tasks.Count; r++)
                {
                    estimates[(r * m) + j] = group.Estimate(tasks[r], global, _options);
                }
            }
        }

        Span<double> quality = matrix.Quality;
        Span<double> cost = matrix.Cost;
        Span<double> tokens = matrix.OutputTokens;
        bool scale = _options.ScaleOutputTokensWithInput;
        for (int i = 0; i < queries.Count; i++)
        {
            int input = queries[i].InputTokens;
            int e = rowOf[i] * m;
            int k = i * m;
            for (int j = 0; j < m; j++)
            {
                Estimate est = estimates[e + j];
                double t = scale ? Math.Max(0, est.OutputTokens + (est.Slope * (input - est.InputTokens))) : est.OutputTokens;
                quality[k + j] = est.Quality;
                tokens[k + j] = t;
                cost[k + j] = models[j].CostOf(input, t);
            }
        }

        return ValueTask.FromResult(matrix);
    }

    private static double Shrink(double sum, double count, double prior, double pseudoCount) =>
        count + pseudoCount > 0 ? (sum + (pseudoCount * prior)) / (count + pseudoCount) : prior;

    /// <summary>Predicted figures of one model (or the pool) in one task.</summary>
    private readonly record struct Estimate(double Quality, double OutputTokens, double InputTokens, double Slope)
    {
        public static Estimate Root(TaskPriorPredictorOptions o) => new(o.InitialQuality, o.InitialOutputTokens, 0, 0);
    }

    /// <summary>Sufficient statistics of answers: graded count and score sum; Welford means and co-moments of (input, output) tokens.</summary>
    private sealed class Stats
    {
        public double Graded;
        public double ScoreSum;
        public double Lengths;
        public double MeanIn;
        public double MeanOut;

        public void Add(double? score, double input, double output, out double dxx, out double dxy)
        {
            if (score is { } s)
            {
                Graded++;
                ScoreSum += s;
            }

            Lengths++;
            double dx = input - MeanIn;
            MeanIn += dx / Lengths;
            double dy = output - MeanOut;
            MeanOut += dy / Lengths;
            dxx = dx * (input - MeanIn);
            dxy = dx * (output - MeanOut);
        }
    }

    /// <summary>The record of one model (or of the whole pool): global, per task, and the pooled within-task co-moments.</summary>
    private sealed class Group
    {
        private readonly Stats _global = new();
        private readonly Stats _noTask = new();
        private readonly Dictionary<string, Stats> _tasks = new(StringComparer.Ordinal);
        private double _withinCxx;
        private double _withinCxy;

        public void Add(string? task, double? score, double input, double output)
        {
            _global.Add(score, input, output, out _, out _);
            Stats bucket;
            if (task is null)
            {
                bucket = _noTask;
            }
            else if (!_tasks.TryGetValue(task, out bucket!))
            {
                bucket = new Stats();
                _tasks.Add(task, bucket);
            }

            bucket.Add(score, input, output, out double dxx, out double dxy);
            _withinCxx += dxx;
            _withinCxy += dxy;
        }

        /// <summary>Estimates in <paramref name="task"/> (or globally for null) shrunk toward <paramref name="parent"/>.</summary>
        public Estimate Estimate(string? task, Estimate parent, TaskPriorPredictorOptions o)
        {
            Stats? s = task is null ? _global : _tasks.GetValueOrDefault(task);
            if (s is null)
            {
                return parent;
            }

            double slope = _withinCxx > 0 ? _withinCxy / _withinCxx : parent.Slope;
            return new Estimate(
                Shrink(s.ScoreSum, s.Graded, parent.Quality, o.QualityPseudoCount),
                Shrink(s.MeanOut * s.Lengths, s.Lengths, parent.OutputTokens, o.OutputTokensPseudoCount),
                Shrink(s.MeanIn * s.Lengths, s.Lengths, parent.InputTokens, o.OutputTokensPseudoCount),
                slope);
        }
    }
}
