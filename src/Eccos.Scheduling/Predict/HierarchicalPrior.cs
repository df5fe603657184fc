namespace Eccos.Scheduling;

/// <summary>
/// The sums behind the library's one hierarchical prior: per (model, task) cell, per model, per task and over the
/// whole pool, the graded answers' quality sum and count, and the answers' length sum, count and prompt-token sum.
/// </summary>
/// <remarks>
/// Flat: cells are laid out as M×T (model, task), then M (model), then T (task), then 1 (pool), <see cref="Fields"/>
/// values each. A graded answer counts for quality and length, an ungraded one for length only. Not thread-safe for
/// writes; owners lock or copy (<see cref="Resized"/>) and publish. Compiled into Eccos.Scheduling.ML as well.
/// </remarks>
internal sealed class PriorSums
{
    /// <summary>The values per cell: quality sum, graded count, length sum, answer count, prompt-token sum.</summary>
    public const int Fields = 5;

    private readonly double[] _sums;

    public PriorSums(int models, int tasks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(models);
        ArgumentOutOfRangeException.ThrowIfNegative(tasks);
        Models = models;
        Tasks = tasks;
        _sums = new double[checked(((models * tasks) + models + tasks + 1) * Fields)];
    }

    public int Models { get; }

    public int Tasks { get; }

    /// <summary>Adds one answer of <paramref name="model"/> in <paramref name="task"/> (−1: none).</summary>
    public void Add(int model, int task, double? quality, double length, double inputTokens = 0)
    {
        if (task >= 0)
        {
            AddTo(Cell(model, task), quality, length, inputTokens);
            AddTo(TaskCell(task), quality, length, inputTokens);
        }

        AddTo(ModelCell(model), quality, length, inputTokens);
        AddTo(PoolCell, quality, length, inputTokens);
    }

    /// <summary>Returns a copy laid out for more models and tasks (indices of the existing ones are kept).</summary>
    public PriorSums Resized(int models, int tasks)
    {
        if (models < Models || tasks < Tasks)
        {
            throw new ArgumentException("A prior can only grow.");
        }

        var copy = new PriorSums(models, tasks);
        for (int j = 0; j < Models; j++)
        {
            for (int t = 0; t < Tasks; t++)
            {
                Values(Cell(j, t)).CopyTo(copy.Span(copy.Cell(j, t)));
            }

            Values(ModelCell(j)).CopyTo(copy.Span(copy.ModelCell(j)));
        }

        for (int t = 0; t < Tasks; t++)
        {
            Values(TaskCell(t)).CopyTo(copy.Span(copy.TaskCell(t)));
        }

        Values(PoolCell).CopyTo(copy.Span(copy.PoolCell));
        return copy;
    }

    /// <summary>Returns the values of one cell (see <see cref="Fields"/>).</summary>
    public ReadOnlySpan<double> Values(int cell) => _sums.AsSpan(cell * Fields, Fields);

    /// <summary>Gets the raw sums (for saving).</summary>
    public ReadOnlySpan<double> Raw => _sums;

    /// <summary>Restores sums saved from <see cref="Raw"/>.</summary>
    /// <exception cref="InvalidDataException">The saved sums have the wrong length or a negative count.</exception>
    public static PriorSums FromRaw(int models, int tasks, ReadOnlySpan<double> raw)
    {
        var sums = new PriorSums(models, tasks);
        if (raw.Length != sums._sums.Length)
        {
            throw new InvalidDataException($"The saved prior holds {raw.Length} values; {sums._sums.Length} were expected for {models} models and {tasks} tasks.");
        }

        for (int k = 0; k < raw.Length; k++)
        {
            if (!double.IsFinite(raw[k]) || (k % Fields is 1 or 3 && raw[k] < 0))
            {
                throw new InvalidDataException($"The saved prior is corrupt (value {k} is {raw[k]}).");
            }
        }

        raw.CopyTo(sums._sums);
        return sums;
    }

    public int Cell(int model, int task) => (model * Tasks) + task;

    public int ModelCell(int model) => (Models * Tasks) + model;

    public int TaskCell(int task) => (Models * Tasks) + Models + task;

    public int PoolCell => (Models * Tasks) + Models + Tasks;

    private Span<double> Span(int cell) => _sums.AsSpan(cell * Fields, Fields);

    private void AddTo(int cell, double? quality, double length, double inputTokens)
    {
        Span<double> s = Span(cell);
        if (quality is { } q)
        {
            s[0] += q;
            s[1]++;
        }

        s[2] += length;
        s[3]++;
        s[4] += inputTokens;
    }
}

/// <summary>One level of a hierarchical prior estimate: quality, answer length and prompt tokens.</summary>
internal readonly record struct PriorLevel(double Quality, double Length, double InputTokens);

/// <summary>
/// A hierarchical prior estimate for one (model, task): the cell's own figures and the coarser levels they were shrunk
/// toward.
/// </summary>
/// <param name="Cell">The model in the task (or the model overall without a task; the task's pool for an unknown model).</param>
/// <param name="Model">The model overall (the pool for an unknown model).</param>
/// <param name="Task">The task's pool (the whole pool without a task).</param>
internal readonly record struct PriorEstimate(PriorLevel Cell, PriorLevel Model, PriorLevel Task);

/// <summary>
/// The library's one hierarchical prior (used by the task prior, the kNN predictor's fallback and the ML.NET
/// predictor's features): Bayesian shrinkage with one pseudo-count k, each level toward the next coarser one — task →
/// pool, model → pool, model in task → model. A level with n answers of summed value S is <c>(S + k·parent) / (n + k)</c>.
/// The pool's own figures are its plain means (k answers of a prior guess would be noise next to a pool's thousands);
/// the initial values stand in for a figure the pool has no answer for yet.
/// </summary>
internal static class HierarchicalPrior
{
    /// <summary>Estimates <paramref name="model"/> (−1: unknown) in <paramref name="task"/> (−1: none).</summary>
    /// <param name="sums">The sums.</param>
    /// <param name="model">The model's index, or −1 for a model the sums do not know.</param>
    /// <param name="task">The task's index, or −1 for none (or a task the sums do not know).</param>
    /// <param name="pseudoCount">k.</param>
    /// <param name="initial">The values before any answer (the pool's parent).</param>
    /// <param name="exclude">Sums to leave out (a training row's own fold), or <see langword="null"/>.</param>
    public static PriorEstimate Estimate(PriorSums sums, int model, int task, double pseudoCount, PriorLevel initial, PriorSums? exclude = null)
    {
        PriorLevel pool = Shrink(sums, exclude, sums.PoolCell, initial, 0);
        PriorLevel taskLevel = task >= 0 ? Shrink(sums, exclude, sums.TaskCell(task), pool, pseudoCount) : pool;
        if (model < 0)
        {
            return new PriorEstimate(taskLevel, pool, taskLevel);
        }

        PriorLevel modelLevel = Shrink(sums, exclude, sums.ModelCell(model), pool, pseudoCount);
        PriorLevel cell = task >= 0 ? Shrink(sums, exclude, sums.Cell(model, task), modelLevel, pseudoCount) : modelLevel;
        return new PriorEstimate(cell, modelLevel, taskLevel);
    }

    private static PriorLevel Shrink(PriorSums sums, PriorSums? exclude, int cell, PriorLevel parent, double k)
    {
        ReadOnlySpan<double> s = sums.Values(cell);
        ReadOnlySpan<double> x = exclude is null ? default : exclude.Values(cell);
        double qSum = s[0] - (x.IsEmpty ? 0 : x[0]);
        double graded = s[1] - (x.IsEmpty ? 0 : x[1]);
        double lSum = s[2] - (x.IsEmpty ? 0 : x[2]);
        double answers = s[3] - (x.IsEmpty ? 0 : x[3]);
        double inSum = s[4] - (x.IsEmpty ? 0 : x[4]);
        return new PriorLevel(
            graded + k > 0 ? (qSum + (k * parent.Quality)) / (graded + k) : parent.Quality,
            answers + k > 0 ? (lSum + (k * parent.Length)) / (answers + k) : parent.Length,
            answers + k > 0 ? (inSum + (k * parent.InputTokens)) / (answers + k) : parent.InputTokens);
    }
}
