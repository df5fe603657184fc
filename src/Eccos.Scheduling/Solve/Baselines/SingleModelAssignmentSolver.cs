namespace Eccos.Scheduling;

/// <summary>
/// Baseline: every query goes to one named model; when it is full or not eligible, to the cheapest other eligible
/// model with room.
/// </summary>
/// <remarks>
/// For evaluation: <see cref="AssignmentResult.Bound"/> is <see cref="double.NaN"/> and the status says honestly
/// whether α (or the budget) was met. Queries are placed in index order. Immutable: thread-safe and deterministic.
/// </remarks>
public sealed class SingleModelAssignmentSolver : IAssignmentSolver
{
    /// <summary>Initializes a new solver that sends everything to <paramref name="modelName"/>.</summary>
    /// <param name="modelName">The model's name, as in <see cref="ModelProfile.Name"/> (ordinal).</param>
    /// <exception cref="ArgumentException"><paramref name="modelName"/> is null, empty or white space.</exception>
    public SingleModelAssignmentSolver(string modelName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ModelName = modelName;
    }

    /// <summary>Gets the name of the model that takes every query it can.</summary>
    public string ModelName { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">No model of <paramref name="predictions"/> is named <see cref="ModelName"/>.</exception>
    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        int[] caps = SolveSupport.ValidateAndResolve(predictions, constraints);
        int target = predictions.IndexOfModel(ModelName);
        if (target < 0)
        {
            throw new ArgumentException($"Model '{ModelName}' is not among the models of the predictions.", nameof(predictions));
        }

        return BaselinePlacement.Solve(predictions, constraints, caps, (i, key) =>
        {
            predictions.CostRow(i).CopyTo(key);
            key[target] = double.NegativeInfinity;
        }, cancellationToken);
    }
}
