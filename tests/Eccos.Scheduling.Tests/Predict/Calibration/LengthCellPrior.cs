namespace Eccos.Scheduling.Tests.Predict.Calibration;

/// <summary>
/// A second, simple component for blending experiments while no kNN predictor is on main: a task prior over finer
/// cells, (task, input-length quartile within the task), with quartile bounds taken from the fit records.
/// </summary>
internal sealed class LengthCellPrior : IPredictor
{
    private static readonly double[] Quartiles = [0.25, 0.5, 0.75];
    private readonly Dictionary<string, double[]> _bounds;
    private readonly TaskPriorPredictor _inner;

    public LengthCellPrior(IReadOnlyList<OutcomeRecord> fit)
    {
        _bounds = fit.Where(r => r.Task is not null).GroupBy(r => r.Task!).ToDictionary(
            g => g.Key,
            g =>
            {
                double[] lengths = g.Select(r => (double)r.InputTokens).Order().ToArray();
                return Quartiles.Select(q => lengths[(int)(q * (lengths.Length - 1))]).ToArray();
            });
        _inner = TaskPriorPredictor.Fit(fit.Select(r => r with { Task = Cell(r.Task, r.InputTokens) }));
    }

    public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default) =>
        _inner.PredictAsync(queries.Select(q => q with { Task = Cell(q.Task, q.InputTokens) }).ToList(), models, cancellationToken);

    private string? Cell(string? task, int inputTokens) =>
        task is null || !_bounds.TryGetValue(task, out double[]? b) ? task : $"{task}|{b.Count(x => inputTokens > x)}";
}
