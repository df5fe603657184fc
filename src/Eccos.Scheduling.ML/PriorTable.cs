namespace Eccos.Scheduling.ML;

/// <summary>
/// The ML predictor's view of the library's hierarchical prior (<see cref="HierarchicalPrior"/>, on log(1 + output
/// tokens) as the length): estimates per (model, task) as features and fallbacks, with per-fold sums so that a training
/// row's priors can leave its own fold out (out-of-fold target encoding).
/// </summary>
/// <remarks>Immutable after <see cref="Build"/>; safe for concurrent reads.</remarks>
internal sealed class PriorTable
{
    /// <summary>The number of values <see cref="Write"/> produces.</summary>
    public const int ValueCount = 6;

    /// <summary>Before any answer: the neutral 0.5 and log length 0.</summary>
    private static readonly PriorLevel Initial = new(0.5, 0, 0);

    private readonly PriorSums _total;
    private readonly PriorSums[] _folds;

    private PriorTable(double pseudoCount, PriorSums total, PriorSums[] folds)
    {
        PseudoCount = pseudoCount;
        _total = total;
        _folds = folds;
    }

    public int ModelCount => _total.Models;

    public int TaskCount => _total.Tasks;

    public double PseudoCount { get; }

    /// <summary>Builds the table from training queries; <paramref name="folds"/> 0 keeps no per-fold sums.</summary>
    public static PriorTable Build(IReadOnlyList<TrainingQuery> queries, int models, int tasks, int folds, double pseudoCount)
    {
        var total = new PriorSums(models, tasks);
        var perFold = new PriorSums[folds];
        for (int f = 0; f < folds; f++)
        {
            perFold[f] = new PriorSums(models, tasks);
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

        return new PriorTable(pseudoCount, total, perFold);
    }

    /// <summary>Rebuilds a table saved by <see cref="ToState"/>.</summary>
    /// <exception cref="InvalidDataException">The saved sums do not fit the models and tasks.</exception>
    public static PriorTable FromState(PriorState state)
    {
        if (!double.IsFinite(state.PseudoCount) || state.PseudoCount < 0 || state.Models < 0 || state.Tasks < 0)
        {
            throw new InvalidDataException("The saved predictor's priors are malformed.");
        }

        return new PriorTable(state.PseudoCount, PriorSums.FromRaw(state.Models, state.Tasks, state.Sums ?? []), []);
    }

    public PriorState ToState() => new()
    {
        Models = ModelCount,
        Tasks = TaskCount,
        PseudoCount = PseudoCount,
        Sums = _total.Raw.ToArray(),
    };

    /// <summary>The number of graded training outcomes of <paramref name="model"/>.</summary>
    public double GradedCount(int model) => _total.Values(_total.ModelCell(model))[1];

    /// <summary>The number of training outcomes (graded or not) of <paramref name="model"/>.</summary>
    public double LengthCount(int model) => _total.Values(_total.ModelCell(model))[3];

    /// <summary>
    /// Writes [model-on-task rate, model rate, task pool rate, model-on-task log length, model log length, task pool
    /// log length]. <paramref name="model"/> −1 (unknown) and <paramref name="task"/> −1 (none or unknown) fall back
    /// to the coarser level; <paramref name="excludeFold"/> −1 uses every fold.
    /// </summary>
    public void Write(int model, int task, int excludeFold, Span<float> destination)
    {
        PriorEstimate e = Estimate(model, task, excludeFold);
        destination[0] = (float)e.Cell.Quality;
        destination[1] = (float)e.Model.Quality;
        destination[2] = (float)e.Task.Quality;
        destination[3] = (float)e.Cell.Length;
        destination[4] = (float)e.Model.Length;
        destination[5] = (float)e.Task.Length;
    }

    /// <summary>The prior of <paramref name="model"/> on <paramref name="task"/>, leaving out <paramref name="excludeFold"/> (−1: none).</summary>
    public PriorEstimate Estimate(int model, int task, int excludeFold) =>
        HierarchicalPrior.Estimate(_total, model, task, PseudoCount, Initial, excludeFold >= 0 ? _folds[excludeFold] : null);
}

/// <summary>The saved form of a <see cref="PriorTable"/> (total sums only).</summary>
internal sealed class PriorState
{
    public int Models { get; set; }

    public int Tasks { get; set; }

    public double PseudoCount { get; set; }

    public double[]? Sums { get; set; }
}

/// <summary>One training query, with its outputs mapped to model indices.</summary>
internal sealed record TrainingQuery(string Text, int InputTokens, int Task, int Fold, TrainingOutcome[] Outcomes);

/// <summary>One output of a training query: model index, graded score (or null) and log(1 + output tokens).</summary>
internal readonly record struct TrainingOutcome(int Model, double? Score, float LogTokens);
