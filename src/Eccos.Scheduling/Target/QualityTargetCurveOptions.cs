namespace Eccos.Scheduling;

/// <summary>Options of fitting a <see cref="QualityTargetCurve"/>.</summary>
public sealed class QualityTargetCurveOptions
{
    /// <summary>The default of <see cref="Margin"/>.</summary>
    public const double DefaultMargin = 0.005;

    /// <summary>
    /// Gets or sets the queries per batch of the replay: use the batch size the scheduler will run with, since how
    /// much the solver can trade between queries depends on it. Default 500. Must be at least 1.
    /// </summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Gets or sets the per-batch capacity of each model, in the column order of the models, as the scheduler will
    /// use them; <see langword="null"/> (the default) for each model's <see cref="ModelProfile.Capacity"/>.
    /// </summary>
    public IReadOnlyList<int>? Capacities { get; set; }

    /// <summary>Gets or sets the lowest α of the grid. Default 0.3. Must lie in [0, 1].</summary>
    public double MinAlpha { get; set; } = 0.3;

    /// <summary>Gets or sets the highest α of the grid. Default 0.95. Must lie in [<see cref="MinAlpha"/>, 1].</summary>
    public double MaxAlpha { get; set; } = 0.95;

    /// <summary>Gets or sets the step of the α grid. Default 0.025. Must be positive.</summary>
    public double AlphaStep { get; set; } = 0.025;

    /// <summary>
    /// Gets or sets the safety margin: fitting aims the validation replay at α + margin, because a target
    /// learned on validation realizes a little less on new queries (the selection that overstated predictions on
    /// validation overstates them again). Default <see cref="DefaultMargin"/> (0.005). Must lie in [0, 0.5).
    /// </summary>
    public double Margin { get; set; } = DefaultMargin;

    /// <summary>Gets or sets the precision of the bisection over the target t. Default 0.001. Must lie in (0, 0.1].</summary>
    public double Tolerance { get; set; } = 0.001;

    /// <summary>
    /// Gets or sets how many batches are solved at once. Default <see cref="Environment.ProcessorCount"/>. Must be at
    /// least 1.
    /// </summary>
    public int MaxDegreeOfParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Gets or sets the number of folds of <see cref="QualityTargetCurve.FitCrossFittedAsync"/>. Default 5.
    /// Must be at least 2.
    /// </summary>
    public int Folds { get; set; } = 5;

    /// <summary>Gets or sets the seed of the random fold assignment of a cross-fit. Default 0.</summary>
    public int Seed { get; set; }

    internal void Validate(string paramName)
    {
        if (Folds < 2)
        {
            throw new ArgumentOutOfRangeException(paramName, Folds, "Folds must be at least 2.");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, BatchSize, "BatchSize must be at least 1.");
        }

        if (!(MinAlpha >= 0 && MinAlpha <= 1))
        {
            throw new ArgumentOutOfRangeException(paramName, MinAlpha, "MinAlpha must lie in [0, 1].");
        }

        if (!(MaxAlpha >= MinAlpha && MaxAlpha <= 1))
        {
            throw new ArgumentOutOfRangeException(paramName, MaxAlpha, "MaxAlpha must lie in [MinAlpha, 1].");
        }

        if (!(AlphaStep > 0 && AlphaStep <= 1))
        {
            throw new ArgumentOutOfRangeException(paramName, AlphaStep, "AlphaStep must lie in (0, 1].");
        }

        if (!(Margin >= 0 && Margin < 0.5))
        {
            throw new ArgumentOutOfRangeException(paramName, Margin, "Margin must lie in [0, 0.5).");
        }

        if (!(Tolerance > 0 && Tolerance <= 0.1))
        {
            throw new ArgumentOutOfRangeException(paramName, Tolerance, "Tolerance must lie in (0, 0.1].");
        }

        if (MaxDegreeOfParallelism < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be at least 1.");
        }
    }
}
