using BenchmarkDotNet.Attributes;
using Eccos.Scheduling.ML;

namespace Eccos.Scheduling.Benchmarks.Predict;

/// <summary>
/// Batch prediction of the ML.NET predictor trained on the mmlu-pro training split: one call predicts 500 test queries
/// × 12 models; times are per query (OperationsPerInvoke = 500).
/// Run: <c>ECCOS_SHARED_DATA=/work/shared/data dotnet run -c Release --project benchmarks/Eccos.Scheduling.Benchmarks -- --filter '*MlPredictorBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(warmupCount: 3, iterationCount: 15)]
public class MlPredictorBenchmarks
{
    private const int BatchSize = 500;
    private MlPredictor _predictor = null!;
    private SchedulingQuery[] _batch = null!;
    private IReadOnlyList<ModelProfile> _models = null!;

    /// <summary>The feature set: all (with text n-grams) or without text.</summary>
    [Params("all", "no-text")]
    public string Features { get; set; } = "all";

    [GlobalSetup]
    public void Setup()
    {
        string directory = Path.Combine(FindSharedData(), "mmlu-pro");
        OutcomeDataset dataset = OutcomeDataset.LoadAsync(directory).GetAwaiter().GetResult();
        (IReadOnlyList<OutcomeRecord> train, IReadOnlyList<OutcomeRecord> test) = dataset.Split();
        _models = dataset.Catalog.Models;
        var options = new MlPredictorOptions
        {
            Features = Features == "all" ? MlFeatures.All : MlFeatures.TaskPrior | MlFeatures.Task | MlFeatures.Lengths,
        };
        _predictor = train.TrainMlPredictor(_models, options);
        _batch = [.. test.Take(BatchSize).Select(r => r.ToQuery())];
    }

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public async Task<PredictionMatrix> PredictBatch() => await _predictor.PredictAsync(_batch, _models);

    private static string FindSharedData()
    {
        string? env = Environment.GetEnvironmentVariable("ECCOS_SHARED_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "..", "shared", "data");
            if (File.Exists(Path.Combine(dir.FullName, "Eccos.Scheduling.sln")) && Directory.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new InvalidOperationException("Shared data not found: set ECCOS_SHARED_DATA to the folder holding mmlu-pro/.");
    }
}
