using System.Globalization;

namespace Eccos.Scheduling;

/// <summary>
/// Predicts from each model's record in the query's task: its success rate and its mean output tokens there,
/// Bayesian-shrunk toward the model's global figures, which are shrunk toward the whole pool's.
/// </summary>
/// <remarks>
/// <para>
/// For model j and task t with n graded answers of summed quality S, the predicted quality is
/// <c>(S + k·g_j) / (n + k)</c>, where k is <see cref="TaskPriorPredictorOptions.PriorPseudoCount"/> and g_j the
/// model's global rate <c>(S_j + k·p) / (n_j + k)</c>, p being the pool's rate over every answer of every model
/// (<see cref="TaskPriorPredictorOptions.InitialQuality"/> before the first graded answer). Mean output tokens are
/// shrunk the same way. A query without a task, or with a task the model has no record in, gets the model's global figures; a
/// model never seen gets the pool's figures in the query's task.
/// </para>
/// <para>
/// Outputs with a quality count for quality and length; outputs without one (ungraded live traffic) count for length
/// only; failed calls (with an <see cref="ModelOutcome.Error"/>) count for neither.
/// </para>
/// <para>
/// Thread-safe: <see cref="PredictAsync"/>, <see cref="Record"/>, <see cref="RecordAsync"/> and <see cref="Save"/>
/// may be called from several threads at once; a prediction sees each record either wholly or not at all. Prediction
/// is synchronous and ignores cancellation once started. Nothing to dispose.
/// </para>
/// </remarks>
public sealed class TaskPriorPredictor : ISavablePredictor, IOutcomeSink
{
    /// <summary>The kind of a saved task prior.</summary>
    internal const string SavedKind = "eccos.task-prior";

    private const int SavedVersion = 1;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _modelIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _taskIndex = new(StringComparer.Ordinal);
    private readonly TaskPriorPredictorOptions _options;
    private PriorSums _sums = new(0, 0);
    private LengthTrend _trend = new(0);
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

    /// <summary>Loads a predictor written by <see cref="Save"/> (with its options); it keeps learning from further records.</summary>
    /// <param name="stream">The stream, positioned at the saved predictor; left open.</param>
    /// <returns>The predictor.</returns>
    /// <exception cref="InvalidDataException">The stream holds no saved task prior, an unsupported version, or a truncated or corrupt one.</exception>
    public static TaskPriorPredictor Load(Stream stream) => ModelFile.Read(stream, SavedKind, SavedVersion, static (reader, _) =>
    {
        var options = new TaskPriorPredictorOptions
        {
            PriorPseudoCount = ModelFile.ReadFinite(reader, "the pseudo-count"),
            ScaleOutputTokensWithInput = reader.ReadBoolean(),
            InitialQuality = ModelFile.ReadFinite(reader, "the initial quality"),
            InitialOutputTokens = ModelFile.ReadFinite(reader, "the initial output tokens"),
        };
        TaskPriorPredictor predictor;
        try
        {
            predictor = new TaskPriorPredictor(options);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new InvalidDataException($"The saved task prior's options are invalid: {ex.Message}", ex);
        }

        string[] models = ModelFile.ReadNames(reader, "model");
        string[] tasks = ModelFile.ReadNames(reader, "task");
        long records = reader.ReadInt64();
        int length = reader.ReadInt32();
        if (length < 0 || length > 1 << 28)
        {
            throw new InvalidDataException($"The saved task prior is corrupt ({length} prior values).");
        }

        var raw = new double[length];
        for (int k = 0; k < raw.Length; k++)
        {
            raw[k] = reader.ReadDouble();
        }

        predictor._sums = PriorSums.FromRaw(models.Length, tasks.Length, raw);
        predictor._trend = LengthTrend.Read(reader, models.Length);
        for (int j = 0; j < models.Length; j++)
        {
            predictor._modelIndex.Add(models[j], j);
        }

        for (int t = 0; t < tasks.Length; t++)
        {
            predictor._taskIndex.Add(tasks[t], t);
        }

        predictor._records = records;
        return predictor;
    });

    /// <summary>Writes the predictor (its options and every figure it learned) in the library's saved-model format.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        string[] models, tasks;
        double[] raw;
        LengthTrend trend;
        long records;
        lock (_lock)
        {
            models = Names(_modelIndex);
            tasks = Names(_taskIndex);
            raw = _sums.Raw.ToArray();
            trend = _trend.Clone();
            records = _records;
        }

        ModelFile.Write(stream, SavedKind, SavedVersion, writer =>
        {
            writer.Write(_options.PriorPseudoCount);
            writer.Write(_options.ScaleOutputTokensWithInput);
            writer.Write(_options.InitialQuality);
            writer.Write(_options.InitialOutputTokens);
            ModelFile.WriteNames(writer, models);
            ModelFile.WriteNames(writer, tasks);
            writer.Write(records);
            writer.Write(raw.Length);
            foreach (double v in raw)
            {
                writer.Write(v);
            }

            trend.Write(writer);
        });
    }

    /// <summary>Takes in one record: each of its outputs updates its model's figures in the record's task.</summary>
    /// <param name="record">The record.</param>
    /// <exception cref="ArgumentException">The record has a negative token count or a quality outside [0, 1].</exception>
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
                    string.Create(CultureInfo.InvariantCulture, $"Record '{record.Id}', model '{o.Model}': quality {s} must be a number in [0, 1]."),
                    nameof(record));
            }

            if (o.OutputTokens < 0)
            {
                throw new ArgumentException($"Record '{record.Id}', model '{o.Model}': output tokens {o.OutputTokens} must not be negative.", nameof(record));
            }
        }

        lock (_lock)
        {
            int task = -2; // looked up with the first output that counts, so that names and sums always match
            foreach (ModelOutcome o in record.Outputs)
            {
                if (o.Error is not null || string.IsNullOrEmpty(o.Model))
                {
                    continue;
                }

                if (task == -2)
                {
                    task = record.Task is null ? -1 : IndexOf(_taskIndex, record.Task);
                }

                int model = IndexOf(_modelIndex, o.Model);
                if (_modelIndex.Count > _sums.Models || _taskIndex.Count > _sums.Tasks)
                {
                    _sums = _sums.Resized(Math.Max(_sums.Models, _modelIndex.Count), Math.Max(_sums.Tasks, _taskIndex.Count));
                    _trend = _trend.Resized(_modelIndex.Count);
                }

                _trend.Add(_sums, model, task, record.InputTokens, o.OutputTokens);
                _sums.Add(model, task, o.Quality, o.OutputTokens, record.InputTokens);
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
        for (int i = 0; i < queries.Count; i++)
        {
            _ = queries[i] ?? throw new ArgumentException($"Query {i} is null.", nameof(queries));
        }

        // One estimate per (distinct task of the batch, model), under the lock; row 0 stands for "no task".
        var rowOf = new int[queries.Count];
        var estimates = new List<Estimate>(m);
        var rows = new Dictionary<string, int>(StringComparer.Ordinal);
        var initial = new PriorLevel(_options.InitialQuality, _options.InitialOutputTokens, 0);
        lock (_lock)
        {
            var modelOf = new int[m];
            for (int j = 0; j < m; j++)
            {
                modelOf[j] = _modelIndex.GetValueOrDefault(models[j].Name, -1);
            }

            AddRow(-1);
            for (int i = 0; i < queries.Count; i++)
            {
                if (queries[i].Task is { } name && _taskIndex.TryGetValue(name, out int task))
                {
                    if (!rows.TryGetValue(name, out int row))
                    {
                        row = estimates.Count / m;
                        rows.Add(name, row);
                        AddRow(task);
                    }

                    rowOf[i] = row;
                }
            }

            void AddRow(int task)
            {
                for (int j = 0; j < m; j++)
                {
                    PriorEstimate e = HierarchicalPrior.Estimate(_sums, modelOf[j], task, _options.PriorPseudoCount, initial);
                    estimates.Add(new Estimate(e.Cell, _trend.Slope(modelOf[j])));
                }
            }
        }

        Span<double> quality = matrix.Quality;
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
                quality[k + j] = est.Level.Quality;
                tokens[k + j] = scale ? Math.Max(0, est.Level.Length + (est.Slope * (input - est.Level.InputTokens))) : est.Level.Length;
            }
        }

        matrix.ComputeCosts(queries);
        return ValueTask.FromResult(matrix);
    }

    private static int IndexOf(Dictionary<string, int> index, string name)
    {
        if (!index.TryGetValue(name, out int i))
        {
            i = index.Count;
            index.Add(name, i);
        }

        return i;
    }

    private static string[] Names(Dictionary<string, int> index)
    {
        var names = new string[index.Count];
        foreach ((string name, int i) in index)
        {
            names[i] = name;
        }

        return names;
    }

    private readonly record struct Estimate(PriorLevel Level, double Slope);

    /// <summary>
    /// How output length follows prompt length: per model (and for the pool), the least-squares slope of output on
    /// input tokens within tasks, from co-moments pooled over the tasks (Welford increments against each task's means,
    /// which <see cref="PriorSums"/> holds; answers without a task form one more group).
    /// </summary>
    private sealed class LengthTrend
    {
        // Per model, then the pool last: within-group Cxx and Cxy; and the no-task group's count, input sum and output sum.
        private double[] _moments;
        private double[] _noTask;

        public LengthTrend(int models)
        {
            _moments = new double[(models + 1) * 2];
            _noTask = new double[(models + 1) * 3];
        }

        private int Models => (_moments.Length / 2) - 1;

        public static LengthTrend Read(BinaryReader reader, int models)
        {
            var trend = new LengthTrend(models);
            for (int k = 0; k < trend._moments.Length; k++)
            {
                trend._moments[k] = ModelFile.ReadFinite(reader, "a length co-moment");
            }

            for (int k = 0; k < trend._noTask.Length; k++)
            {
                trend._noTask[k] = ModelFile.ReadFinite(reader, "a length sum");
            }

            return trend;
        }

        public void Write(BinaryWriter writer)
        {
            foreach (double v in _moments)
            {
                writer.Write(v);
            }

            foreach (double v in _noTask)
            {
                writer.Write(v);
            }
        }

        public LengthTrend Clone() => new(Models) { _moments = (double[])_moments.Clone(), _noTask = (double[])_noTask.Clone() };

        public LengthTrend Resized(int models)
        {
            var copy = new LengthTrend(models);
            int old = Models;
            Array.Copy(_moments, copy._moments, old * 2);
            Array.Copy(_noTask, copy._noTask, old * 3);
            Array.Copy(_moments, old * 2, copy._moments, models * 2, 2); // the pool stays last
            Array.Copy(_noTask, old * 3, copy._noTask, models * 3, 3);
            return copy;
        }

        /// <summary>Adds one answer's increments, from the group means before it is added to <paramref name="sums"/>.</summary>
        public void Add(PriorSums sums, int model, int task, double input, double output)
        {
            int pool = Models;
            if (task >= 0)
            {
                Increment(model, sums.Values(sums.Cell(model, task)), input, output);
                Increment(pool, sums.Values(sums.TaskCell(task)), input, output);
                return;
            }

            IncrementNoTask(model, input, output);
            IncrementNoTask(pool, input, output);
        }

        /// <summary>Returns the slope of a model (−1: unknown), else the pool's, else 0.</summary>
        public double Slope(int model)
        {
            if (model >= 0 && _moments[model * 2] > 0)
            {
                return _moments[(model * 2) + 1] / _moments[model * 2];
            }

            int pool = Models * 2;
            return _moments[pool] > 0 ? _moments[pool + 1] / _moments[pool] : 0;
        }

        private void Increment(int group, ReadOnlySpan<double> before, double input, double output) =>
            Accumulate(group, before[3], before[4], before[2], input, output);

        private void IncrementNoTask(int group, double input, double output)
        {
            Span<double> s = _noTask.AsSpan(group * 3, 3);
            Accumulate(group, s[0], s[1], s[2], input, output);
            s[0]++;
            s[1] += input;
            s[2] += output;
        }

        private void Accumulate(int group, double n, double inputSum, double outputSum, double input, double output)
        {
            if (n <= 0)
            {
                return; // the first answer of a group has no deviation from its own mean
            }

            // Welford: with d = x − mean_before, the co-moments grow by d_x·d_y·n/(n + 1).
            double dx = input - (inputSum / n);
            double dy = output - (outputSum / n);
            double w = n / (n + 1);
            _moments[group * 2] += dx * dx * w;
            _moments[(group * 2) + 1] += dx * dy * w;
        }
    }
}
