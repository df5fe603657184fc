namespace Eccos.Scheduling;

/// <summary>The loss that <see cref="HybridPredictor.FitAsync"/> minimizes over the quality weights.</summary>
public enum HybridQualityLoss
{
    /// <summary>Mean squared error of the blended quality against the recorded score (the Brier score).</summary>
    Brier,

    /// <summary>Mean negative log-likelihood of the recorded score under the blended quality (clamped to [1e-6, 1 − 1e-6]).</summary>
    LogLoss,

    /// <summary>
    /// Mean squared error of the <em>within-query contrasts</em>: for every record with at least two graded answers, the
    /// blended qualities and the recorded scores are each centred on their mean over that record's graded models, and
    /// the centred values are compared. This is what routing needs: the ECCOS assignment is unchanged when a constant
    /// is added to every model's quality for one query (the argmin of <c>c_ij − λ·a_ij/N</c> does not move, and the
    /// quality constraint shifts by the same constant, which the target calibration absorbs), so only how well the
    /// blend ranks the models <em>of the same query</em> matters. Falls back to <see cref="Brier"/> when no record has
    /// two graded answers.
    /// </summary>
    WithinQuery,
}

/// <summary>Options of <see cref="HybridPredictor.FitAsync"/>.</summary>
public sealed class HybridPredictorOptions
{
    /// <summary>
    /// Gets or sets the loss minimized over the quality weights γ. Default <see cref="HybridQualityLoss.WithinQuery"/>,
    /// the loss that matches what the scheduler does with the blend; <see cref="HybridQualityLoss.Brier"/> or
    /// <see cref="HybridQualityLoss.LogLoss"/> fit the blend for probability accuracy instead (they favour the
    /// predictor that best separates easy from hard queries, which is not the one that best ranks the models of one
    /// query; see docs/calibration.md).
    /// </summary>
    public HybridQualityLoss QualityLoss { get; set; } = HybridQualityLoss.WithinQuery;

    /// <summary>
    /// Gets or sets the resolution of the first, exhaustive search: weights are multiples of 1/<c>GridResolution</c>
    /// (fewer when the components are so many that the grid would exceed 5,000 points). A local search then refines
    /// the best grid point to 1e-4. Default 20 (steps of 0.05). Must be at least 1.
    /// </summary>
    public int GridResolution { get; set; } = 20;

    /// <summary>Gets or sets the queries per prediction call while fitting. Default 500. Must be at least 1.</summary>
    public int BatchSize { get; set; } = 500;

    internal void Validate(string paramName)
    {
        if (!Enum.IsDefined(QualityLoss))
        {
            throw new ArgumentOutOfRangeException(paramName, QualityLoss, "QualityLoss is not a defined value.");
        }

        if (GridResolution < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, GridResolution, "GridResolution must be at least 1.");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, BatchSize, "BatchSize must be at least 1.");
        }
    }
}
