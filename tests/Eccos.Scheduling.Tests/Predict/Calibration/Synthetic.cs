namespace Eccos.Scheduling.Tests.Predict.Calibration;

/// <summary>A predictor computing each cell from a function of (query, model); thread-safe if the function is.</summary>
internal sealed class FuncPredictor(Func<SchedulingQuery, ModelProfile, (double Quality, double OutputTokens)> cell) : IPredictor
{
    public int Calls;

    public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref Calls);
        var p = new PredictionMatrix(queries.Count, models);
        for (int i = 0; i < queries.Count; i++)
        {
            for (int j = 0; j < models.Count; j++)
            {
                (double q, double t) = cell(queries[i], models[j]);
                p.Set(i, j, q, models[j].CostOf(queries[i].InputTokens, t), t);
            }
        }

        return ValueTask.FromResult(p);
    }
}

/// <summary>
/// Synthetic outcomes: each query has a hidden success probability per model (cheap models worse, harder queries
/// worse), a score drawn from it, and output tokens around a per-model mean.
/// </summary>
internal sealed class Synthetic
{
    public Synthetic(int queries, int seed, IReadOnlyList<ModelProfile>? models = null)
    {
        Models = models ??
        [
            new ModelProfile("cheap", 0.1, 0.2),
            new ModelProfile("mid", 0.5, 1.5),
            new ModelProfile("strong", 2, 8),
        ];
        var rng = new Random(seed);
        var records = new List<OutcomeRecord>(queries);
        for (int i = 0; i < queries; i++)
        {
            double difficulty = rng.NextDouble();
            string id = $"s{seed}-q{i}";
            var outputs = new List<ModelOutcome>();
            for (int j = 0; j < Models.Count; j++)
            {
                double skill = (j + 1.0) / Models.Count;
                double p = Math.Clamp(0.15 + (0.85 * skill) - (0.6 * difficulty) + (0.3 * (1 - skill) * (rng.NextDouble() - 0.5)), 0.02, 0.98);
                Truth[(id, Models[j].Name)] = p;
                outputs.Add(new ModelOutcome(Models[j].Name, rng.NextDouble() < p ? 1 : 0, 50 + (30 * j) + rng.Next(0, 40)));
            }

            records.Add(new OutcomeRecord(id, $"query {i}", 100 + rng.Next(0, 100), outputs, Task: $"t{i % 4}"));
        }

        Records = records;
    }

    public IReadOnlyList<ModelProfile> Models { get; }

    public IReadOnlyList<OutcomeRecord> Records { get; }

    /// <summary>Gets the hidden success probability of each (query id, model name).</summary>
    public Dictionary<(string Id, string Model), double> Truth { get; } = [];

    /// <summary>A predictor that knows the truth but reports it distorted by <paramref name="distort"/>.</summary>
    public FuncPredictor Oracle(Func<double, double> distort) =>
        new((q, m) => (Math.Clamp(distort(Truth.TryGetValue((q.Id!, m.Name), out double p) ? p : 0.5), 0, 1), 100));
}
