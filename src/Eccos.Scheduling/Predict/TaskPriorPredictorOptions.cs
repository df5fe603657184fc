namespace Eccos.Scheduling;

/// <summary>Options of a <see cref="TaskPriorPredictor"/>.</summary>
/// <remarks>Read once, when the predictor is built; later changes to the instance have no effect on it.</remarks>
public sealed class TaskPriorPredictorOptions
{
    /// <summary>The default of <see cref="PriorPseudoCount"/>.</summary>
    public const double DefaultPriorPseudoCount = 10;

    /// <summary>
    /// Gets or sets k, the pseudo-count of the Bayesian shrinkage of every level toward the next coarser one: a model's
    /// rate in a task is <c>(Σ quality + k·g) / (n + k)</c>, where n is its graded answers in the task and g its global
    /// rate (itself shrunk by the same k toward the pool's rate); mean output tokens shrink alike. Default
    /// <see cref="DefaultPriorPseudoCount"/> (10): a task with 10 answers weighs as much as the global rate. Must be
    /// finite and non-negative.
    /// </summary>
    public double PriorPseudoCount { get; set; } = DefaultPriorPseudoCount;

    /// <summary>
    /// Gets or sets a value indicating whether predicted output tokens follow the prompt's length: the task mean plus
    /// the model's within-task least-squares slope times (input tokens − the task's mean input tokens), floored at 0.
    /// Default <see langword="true"/> (its effect is measured in docs/calibration.md).
    /// </summary>
    public bool ScaleOutputTokensWithInput { get; set; } = true;

    /// <summary>
    /// Gets or sets the quality predicted before any graded outcome was recorded at all. Default 0.5. Must lie in [0, 1].
    /// </summary>
    public double InitialQuality { get; set; } = 0.5;

    /// <summary>
    /// Gets or sets the output tokens predicted before any outcome was recorded at all. Default 256. Must be finite and
    /// non-negative.
    /// </summary>
    public double InitialOutputTokens { get; set; } = 256;

    internal TaskPriorPredictorOptions Validated(string paramName)
    {
        if (!double.IsFinite(PriorPseudoCount) || PriorPseudoCount < 0)
        {
            throw new ArgumentOutOfRangeException(paramName, PriorPseudoCount, "PriorPseudoCount must be a finite, non-negative number.");
        }

        if (!double.IsFinite(InitialQuality) || InitialQuality < 0 || InitialQuality > 1)
        {
            throw new ArgumentOutOfRangeException(paramName, InitialQuality, "InitialQuality must be a number in [0, 1].");
        }

        if (!double.IsFinite(InitialOutputTokens) || InitialOutputTokens < 0)
        {
            throw new ArgumentOutOfRangeException(paramName, InitialOutputTokens, "InitialOutputTokens must be a finite, non-negative number.");
        }

        return new TaskPriorPredictorOptions
        {
            PriorPseudoCount = PriorPseudoCount,
            ScaleOutputTokensWithInput = ScaleOutputTokensWithInput,
            InitialQuality = InitialQuality,
            InitialOutputTokens = InitialOutputTokens,
        };
    }
}
