namespace Eccos.Scheduling;

/// <summary>
/// Describes one model of the pool: its name, its list prices and how much work it may take.
/// </summary>
/// <remarks>
/// Immutable and therefore safe to share between threads. Prices are in currency units (normally USD)
/// per one million tokens, as providers list them.
/// </remarks>
public sealed class ModelProfile : IEquatable<ModelProfile>
{
    /// <summary>Initializes a new <see cref="ModelProfile"/>.</summary>
    /// <param name="name">The model's name; compared ordinally. Must not be empty.</param>
    /// <param name="inputPricePerMillionTokens">Price of one million prompt tokens; finite and non-negative.</param>
    /// <param name="outputPricePerMillionTokens">Price of one million completion tokens; finite and non-negative.</param>
    /// <param name="capacity">
    /// How many queries the model may take: per batch for an <see cref="IAssignmentSolver"/>, in flight at once when
    /// serving. <see langword="null"/> (the default) means unlimited. Must not be negative.
    /// </param>
    /// <exception cref="ArgumentException">A name is empty, a price is negative or not finite, or the capacity is negative.</exception>
    public ModelProfile(string name, double inputPricePerMillionTokens, double outputPricePerMillionTokens, int? capacity = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!double.IsFinite(inputPricePerMillionTokens) || inputPricePerMillionTokens < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputPricePerMillionTokens), inputPricePerMillionTokens,
                $"Model '{name}': the input price must be a finite, non-negative number.");
        }

        if (!double.IsFinite(outputPricePerMillionTokens) || outputPricePerMillionTokens < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(outputPricePerMillionTokens), outputPricePerMillionTokens,
                $"Model '{name}': the output price must be a finite, non-negative number.");
        }

        if (capacity < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
                $"Model '{name}': the capacity must not be negative (use null for unlimited).");
        }

        Name = name;
        InputPricePerMillionTokens = inputPricePerMillionTokens;
        OutputPricePerMillionTokens = outputPricePerMillionTokens;
        Capacity = capacity;
    }

    /// <summary>Gets the model's name.</summary>
    public string Name { get; }

    /// <summary>Gets the price of one million prompt tokens.</summary>
    public double InputPricePerMillionTokens { get; }

    /// <summary>Gets the price of one million completion tokens.</summary>
    public double OutputPricePerMillionTokens { get; }

    /// <summary>Gets how many queries the model may take (per batch, or in flight); <see langword="null"/> for unlimited.</summary>
    public int? Capacity { get; }

    /// <summary>Returns a copy of this profile with another capacity.</summary>
    /// <param name="capacity">The new capacity; <see langword="null"/> for unlimited.</param>
    /// <returns>A new profile with the same name and prices.</returns>
    public ModelProfile WithCapacity(int? capacity) =>
        new(Name, InputPricePerMillionTokens, OutputPricePerMillionTokens, capacity);

    /// <summary>Computes the cost of one call: <c>in·in_price + out·out_price</c>, prices per million tokens.</summary>
    /// <param name="inputTokens">Prompt tokens.</param>
    /// <param name="outputTokens">Completion tokens (a prediction may be fractional).</param>
    /// <returns>The cost in the prices' currency.</returns>
    public double CostOf(double inputTokens, double outputTokens) =>
        ((inputTokens * InputPricePerMillionTokens) + (outputTokens * OutputPricePerMillionTokens)) / 1_000_000d;

    /// <inheritdoc />
    public bool Equals(ModelProfile? other) =>
        other is not null
        && string.Equals(Name, other.Name, StringComparison.Ordinal)
        && InputPricePerMillionTokens.Equals(other.InputPricePerMillionTokens)
        && OutputPricePerMillionTokens.Equals(other.OutputPricePerMillionTokens)
        && Capacity == other.Capacity;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ModelProfile);

    /// <inheritdoc />
    public override int GetHashCode() =>
        HashCode.Combine(StringComparer.Ordinal.GetHashCode(Name), InputPricePerMillionTokens, OutputPricePerMillionTokens, Capacity);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name} (in {InputPricePerMillionTokens}/M, out {OutputPricePerMillionTokens}/M, capacity {(Capacity?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited")})";
}
