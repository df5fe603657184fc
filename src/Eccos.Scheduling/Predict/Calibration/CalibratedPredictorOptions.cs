namespace Eccos.Scheduling;

/// <summary>Options of <see cref="CalibratedPredictor.FitAsync"/>.</summary>
public sealed class CalibratedPredictorOptions
{
    /// <summary>
    /// Gets or sets the fewest graded validation answers a model needs to get a quality map; models with fewer pass
    /// through uncalibrated. Default 30. Must be at least 1.
    /// </summary>
    public int MinSamplesPerModel { get; set; } = 30;

    /// <summary>
    /// Gets or sets a value indicating whether predicted output tokens are recalibrated too (a per-model isotonic map
    /// of predicted to recorded tokens; cost follows). Default <see langword="false"/> (docs/calibration.md: it did
    /// not lower the output-token error of a task prior).
    /// </summary>
    public bool CalibrateOutputTokens { get; set; }

    /// <summary>Gets or sets the queries per prediction call while fitting. Default 500. Must be at least 1.</summary>
    public int BatchSize { get; set; } = 500;

    internal void Validate(string paramName)
    {
        if (MinSamplesPerModel < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, MinSamplesPerModel, "MinSamplesPerModel must be at least 1.");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, BatchSize, "BatchSize must be at least 1.");
        }
    }
}
