using BenchmarkDotNet.Attributes;

namespace Eccos.Scheduling.Benchmarks;

/// <summary>
/// Task prior prediction, isotonic fit and apply, and the calibration decorator on synthetic data shaped like
/// mmlu-pro (12 models, 14 tasks, batches of 500).
/// Run: dotnet run -c Release --project benchmarks/Eccos.Scheduling.Benchmarks -- --filter '*CalibrationBenchmarks*'
/// </summary>
[MemoryDiagnoser]
public class CalibrationBenchmarks
{
    private ModelProfile[] _models = [];
    private SchedulingQuery[] _batch = [];
    private TaskPriorPredictor _prior = null!;
    private CalibratedPredictor _calibrated = null!;
    private double[] _scores = [];
    private double[] _outcomes = [];
    private IsotonicCalibrator _isotonic = null!;
    private double[] _destination = [];

    /// <summary>Points of the isotonic fit.</summary>
    [Params(10_000, 100_000)]
    public int Points { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _models = Enumerable.Range(0, 12).Select(j => new ModelProfile($"m{j}", 0.1 * (j + 1), 0.3 * (j + 1))).ToArray();
        var records = Enumerable.Range(0, 8000).Select(i => new OutcomeRecord(
            $"q{i}", "q", rng.Next(50, 600),
            _models.Select(m => new ModelOutcome(m.Name, rng.Next(2), rng.Next(1, 800))).ToList(),
            $"t{i % 14}")).ToList();
        _prior = TaskPriorPredictor.Fit(records);
        _batch = Enumerable.Range(0, 500).Select(i => new SchedulingQuery("q", rng.Next(50, 600), $"t{i % 14}")).ToArray();
        _calibrated = new CalibratedPredictor(_prior, _models.ToDictionary(
            m => m.Name,
            _ => IsotonicCalibrator.Fit(
                Enumerable.Range(0, 2000).Select(_ => rng.NextDouble()).ToArray(),
                Enumerable.Range(0, 2000).Select(_ => (double)rng.Next(2)).ToArray())));
        _scores = Enumerable.Range(0, Points).Select(_ => rng.NextDouble()).ToArray();
        _outcomes = _scores.Select(s => rng.NextDouble() < s ? 1.0 : 0.0).ToArray();
        _isotonic = IsotonicCalibrator.Fit(_scores, _outcomes);
        _destination = new double[_scores.Length];
    }

    [Benchmark]
    public IsotonicCalibrator IsotonicFit() => IsotonicCalibrator.Fit(_scores, _outcomes);

    [Benchmark]
    public double[] IsotonicApply()
    {
        _isotonic.Apply(_scores, _destination);
        return _destination;
    }

    [Benchmark]
    public PredictionMatrix TaskPriorPredictBatch500() => _prior.PredictAsync(_batch, _models).AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public PredictionMatrix CalibratedPredictBatch500() => _calibrated.PredictAsync(_batch, _models).AsTask().GetAwaiter().GetResult();
}
