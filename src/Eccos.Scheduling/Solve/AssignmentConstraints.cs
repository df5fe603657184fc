namespace Eccos.Scheduling;

/// <summary>
/// The constraints of one assignment problem: a quality target on the batch's mean predicted quality, per-model
/// capacities, and optionally a cost budget.
/// </summary>
/// <remarks>
/// <para>
/// Without a <see cref="CostBudget"/> the solver minimizes total predicted cost subject to
/// <c>(1/N)·Σ a_ij·x_ij ≥ QualityTarget</c> and the capacities. With a budget it maximizes mean predicted quality
/// subject to <c>Σ c_ij·x_ij ≤ CostBudget</c> and the capacities; <see cref="QualityTarget"/> is then ignored.
/// </para>
/// <para>Immutable once built; safe to share.</para>
/// </remarks>
public sealed class AssignmentConstraints
{
    /// <summary>The capacity value that means "no limit".</summary>
    public const int Unlimited = int.MaxValue;

    /// <summary>Gets α, the target for the batch's mean predicted quality, in [0, 1]. Default 0 (cheapest assignment).</summary>
    public double QualityTarget { get; init; }

    /// <summary>
    /// Gets L_j, the most queries each model may take in this batch, in the column order of the predictions
    /// (<see cref="Unlimited"/> for no limit). Default <see langword="null"/>: each model's
    /// <see cref="ModelProfile.Capacity"/>, unlimited where that is <see langword="null"/>.
    /// </summary>
    public IReadOnlyList<int>? Capacities { get; init; }

    /// <summary>
    /// Gets the optional cost budget B. When set, the objective becomes "maximize mean predicted quality with total
    /// cost ≤ B". Default <see langword="null"/>.
    /// </summary>
    public double? CostBudget { get; init; }

    /// <summary>Resolves the capacity of every model of <paramref name="predictions"/> into <paramref name="destination"/>.</summary>
    /// <param name="predictions">The predictions whose models give default capacities.</param>
    /// <param name="destination">Receives one capacity per model; length M.</param>
    /// <param name="paramName">The argument name to report for a problem with these constraints.</param>
    /// <exception cref="ArgumentException">Capacities of the wrong length or negative.</exception>
    public void ResolveCapacities(PredictionMatrix predictions, Span<int> destination, string paramName = "constraints")
    {
        ArgumentNullException.ThrowIfNull(predictions);
        int m = predictions.ModelCount;
        if (destination.Length != m)
        {
            throw new ArgumentException($"Destination has length {destination.Length}; the predictions have {m} models.", nameof(destination));
        }

        if (Capacities is { } caps)
        {
            if (caps.Count != m)
            {
                throw new ArgumentException(
                    $"Capacities: {caps.Count} were given for {m} models; give one per model, in the predictions' column order.",
                    paramName);
            }

            for (int j = 0; j < m; j++)
            {
                if (caps[j] < 0)
                {
                    throw new ArgumentException(
                        $"Capacities: model '{predictions.Models[j].Name}' has capacity {caps[j]}; it must not be negative.", paramName);
                }

                destination[j] = caps[j];
            }
        }
        else
        {
            for (int j = 0; j < m; j++)
            {
                destination[j] = predictions.Models[j].Capacity ?? Unlimited;
            }
        }
    }

    /// <summary>Checks these constraints against <paramref name="predictions"/> and checks the predictions themselves.</summary>
    /// <param name="predictions">The predictions to solve over.</param>
    /// <param name="paramName">The argument name to report for a problem with these constraints.</param>
    /// <exception cref="ArgumentException">The first problem found, naming the argument, the query or the model.</exception>
    public void Validate(PredictionMatrix predictions, string paramName = "constraints")
    {
        ArgumentNullException.ThrowIfNull(predictions);
        if (!double.IsFinite(QualityTarget) || QualityTarget < 0 || QualityTarget > 1)
        {
            throw new ArgumentOutOfRangeException(paramName, QualityTarget, "QualityTarget: α must be a number in [0, 1].");
        }

        if (CostBudget is { } budget && (!double.IsFinite(budget) || budget < 0))
        {
            throw new ArgumentOutOfRangeException(paramName, budget, "CostBudget: the budget must be a finite, non-negative number.");
        }

        Span<int> caps = predictions.ModelCount <= 256 ? stackalloc int[predictions.ModelCount] : new int[predictions.ModelCount];
        ResolveCapacities(predictions, caps, paramName);
        predictions.Validate(nameof(predictions));
    }
}
