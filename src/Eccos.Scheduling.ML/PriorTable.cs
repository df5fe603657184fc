namespace Eccos.Scheduling.ML;

/// <summary>
/// Success and log-length sums per (model, task), with per-fold copies so that a training row's priors can leave its
/// own fold out (out-of-fold target encoding). Rates are smoothed toward the next coarser level:
/// model-on-task → model → pool, and task pool → pool.
/// </summary>
/// <remarks>Immutable after <see cref="Build"/>; safe for concurrent reads.</remarks>
internal sealed class PriorTable
{
    /// <summary>The number of values <see cref="Write"/> produces.</summary>
    public const int ValueCount = 6;

    private readonly Sums _total;
    private readonly Sums[] _folds;

    private PriorTable(int models, int tasks, double strength, Sums total, Sums[] folds)
    {
        ModelCount = models;
        TaskCount = tasks;
        Strength = strength;
        _total = total;
        _folds = folds;
    }

    public int ModelCount { get; }

    public int TaskCount { get; }

    public double Strength { get; }

    /// <summary>Builds the table from training queries; <paramref name="folds"/> 0 keeps no per-fold sums.</summary>
    public static PriorTable Build(IReadOnlyList<TrainingQuery> queries, int models, int tasks, int folds, double strength)
    {
        var total = new Sums(models, tasks);
        var perFold = new Sums[folds];
        for (int f = 0; f < folds; f++)
        {
            perFold[f] = new Sums(models, tasks);
        }

        foreach (TrainingQuery q in queries)
        {
            foreach (TrainingOutcome o in q.Outcomes)
            {
                total.Add(o.Model, q.Task, o.Score, o.LogTokens);
                if (folds > 0)
                {
                    perFold[q.Fold].Add(o.Model, q.Task, o.Score, o.LogTokens);
                }
            }
        }

        return new PriorTable(models, tasks, strength, total, perFold);
    }

    /// <summary>Rebuilds a table saved by <see cref="ToState"/>.</summary>
    public static PriorTable FromState(PriorState state)
    {
        var sums = new Sums(state.Models, state.Tasks);
        Copy(state.ScoreSum, sums.ScoreSum, nameof(state.ScoreSum));
        Copy(state.ScoreCount, sums.ScoreCount, nameof(state.ScoreCount));
        Copy(state.LogTokenSum, sums.LogTokenSum, nameof(state.LogTokenSum));
        Copy(state.LogTokenCount, sums.LogTokenCount, nameof(state.LogTokenCount));
        return new PriorTable(state.Models, state.Tasks, state.Strength, sums, []);

        static void Copy(double[] from, double[] to, string name)
        {
            if (from is null || from.Length != to.Length)
            {
                throw new InvalidDataException($"The saved predictor's priors are malformed: '{name}' has the wrong length.");
            }

            from.CopyTo(to, 0);
        }
    }

    public PriorState ToState() => new()
    {
        Models = ModelCount,
        Tasks = TaskCount,
        Strength = Strength,
        ScoreSum = (double[])_total.ScoreSum.Clone(),
        ScoreCount = (double[])_total.ScoreCount.Clone(),
        LogTokenSum = (double[])_total.LogTokenSum.Clone(),
        LogTokenCount = (double[])_total.LogTokenCount.Clone(),
    };

    /// <summary>The number of graded training outcomes of <paramref name="model"/>.</summary>
    public double GradedCount(int model) => _total.ScoreCount[_total.ModelCell(model)];

    /// <summary>The number of training outcomes (graded or not) of <paramref name="model"/>.</summary>
    public double LengthCount(int model) => _total.LogTokenCount[_total.ModelCell(model)];

    /// <summary>
    /// Writes [model-on-task rate, model rate, task pool rate, model-on-task log length, model log length, task pool
    /// log length]. <paramref name="model"/> −1 (unknown) and <paramref name="task"/> −1 (none or unknown) fall back
    /// to the coarser level; <paramref name="excludeFold"/> −1 uses every fold.
    /// </summary>
    public void Write(int model, int task, int excludeFold, Span<float> destination)
    {
        (double rate, double taskRate, double modelRate, double logTokens, double taskLog, double modelLog) =
            Estimate(model, task, excludeFold);
        destination[0] = (float)rate;
        destination[1] = (float)modelRate;
        destination[2] = (float)taskRate;
        destination[3] = (float)logTokens;
        destination[4] = (float)modelLog;
        destination[5] = (float)taskLog;
    }

    /// <summary>The smoothed success rate and log length of <paramref name="model"/> on <paramref name="task"/>.</summary>
    public (double Rate, double TaskRate, double ModelRate, double LogTokens, double TaskLogTokens, double ModelLogTokens) Estimate(
        int model, int task, int excludeFold)
    {
        Sums? fold = excludeFold >= 0 ? _folds[excludeFold] : null;
        double poolRate = Ratio(_total.ScoreSum, _total.ScoreCount, fold?.ScoreSum, fold?.ScoreCount, _total.PoolCell, 0.5, 0);
        double poolLog = Ratio(_total.LogTokenSum, _total.LogTokenCount, fold?.LogTokenSum, fold?.LogTokenCount, _total.PoolCell, 0, 0);
        double taskRate = task < 0 ? poolRate : Ratio(_total.ScoreSum, _total.ScoreCount, fold?.ScoreSum, fold?.ScoreCount, _total.TaskCell(task), poolRate, Strength);
        double taskLog = task < 0 ? poolLog : Ratio(_total.LogTokenSum, _total.LogTokenCount, fold?.LogTokenSum, fold?.LogTokenCount, _total.TaskCell(task), poolLog, Strength);
        if (model < 0)
        {
            return (taskRate, taskRate, poolRate, taskLog, taskLog, poolLog);
        }

        double modelRate = Ratio(_total.ScoreSum, _total.ScoreCount, fold?.ScoreSum, fold?.ScoreCount, _total.ModelCell(model), poolRate, Strength);
        double modelLog = Ratio(_total.LogTokenSum, _total.LogTokenCount, fold?.LogTokenSum, fold?.LogTokenCount, _total.ModelCell(model), poolLog, Strength);
        if (task < 0)
        {
            return (modelRate, taskRate, modelRate, modelLog, taskLog, modelLog);
        }

        int cell = _total.Cell(model, task);
        double rate = Ratio(_total.ScoreSum, _total.ScoreCount, fold?.ScoreSum, fold?.ScoreCount, cell, modelRate, Strength);
        double log = Ratio(_total.LogTokenSum, _total.LogTokenCount, fold?.LogTokenSum, fold?.LogTokenCount, cell, modelLog, Strength);
        return (rate, taskRate, modelRate, log, taskLog, modelLog);
    }

    private static double Ratio(double[] sum, double[] count, double[]? foldSum, double[]? foldCount, int cell, double prior, double strength)
    {
        double s = sum[cell] - (foldSum?[cell] ?? 0);
        double n = count[cell] - (foldCount?[cell] ?? 0);
        return n + strength <= 0 ? prior : (s + (strength * prior)) / (n + strength);
    }

    /// <summary>
    /// Sums over cells laid out as: M×T (model, task), then M (model), then T (task pool), then 1 (pool).
    /// </summary>
    private sealed class Sums
    {
        private readonly int _models;
        private readonly int _tasks;

        public Sums(int models, int tasks)
        {
            _models = models;
            _tasks = tasks;
            int cells = (models * tasks) + models + tasks + 1;
            ScoreSum = new double[cells];
            ScoreCount = new double[cells];
            LogTokenSum = new double[cells];
            LogTokenCount = new double[cells];
        }

        public double[] ScoreSum { get; }

        public double[] ScoreCount { get; }

        public double[] LogTokenSum { get; }

        public double[] LogTokenCount { get; }

        public int PoolCell => (_models * _tasks) + _models + _tasks;

        public int Cell(int model, int task) => (model * _tasks) + task;

        public int ModelCell(int model) => (_models * _tasks) + model;

        public int TaskCell(int task) => (_models * _tasks) + _models + task;

        public void Add(int model, int task, double? score, double logTokens)
        {
            Span<int> cells = [task >= 0 ? Cell(model, task) : -1, ModelCell(model), task >= 0 ? TaskCell(task) : -1, PoolCell];
            foreach (int c in cells)
            {
                if (c < 0)
                {
                    continue;
                }

                LogTokenSum[c] += logTokens;
                LogTokenCount[c]++;
                if (score is { } s)
                {
                    ScoreSum[c] += s;
                    ScoreCount[c]++;
                }
            }
        }
    }
}

/// <summary>The saved form of a <see cref="PriorTable"/> (total sums only).</summary>
internal sealed class PriorState
{
    public int Models { get; set; }

    public int Tasks { get; set; }

    public double Strength { get; set; }

    public double[] ScoreSum { get; set; } = [];

    public double[] ScoreCount { get; set; } = [];

    public double[] LogTokenSum { get; set; } = [];

    public double[] LogTokenCount { get; set; } = [];
}

/// <summary>One training query, with its outputs mapped to model indices.</summary>
internal sealed record TrainingQuery(string Text, int InputTokens, int Task, int Fold, TrainingOutcome[] Outcomes);

/// <summary>One output of a training query: model index, graded score (or null) and log(1 + output tokens).</summary>
internal readonly record struct TrainingOutcome(int Model, double? Score, float LogTokens);
