using BenchmarkDotNet.Attributes;
using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Benchmarks.Solve;

/// <summary>
/// <see cref="PredictionMatrix.Validate"/>, which every solver runs before solving, on the solver benchmark's
/// realistic instance (N queries × 12 models, all values valid: the common case).
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project benchmarks/Eccos.Scheduling.Benchmarks -- --filter '*PredictionValidation*'</c>.</remarks>
[MemoryDiagnoser]
[MedianColumn]
public class PredictionValidationBenchmarks
{
    private PredictionMatrix _predictions = null!;

    /// <summary>Gets or sets N, the queries of the batch.</summary>
    [Params(500, 10_000)]
    public int Queries { get; set; }

    /// <summary>Builds the instance.</summary>
    [GlobalSetup]
    public void Setup() => (_predictions, _) = SyntheticInstances.Realistic(Queries, 12, seed: 1);

    /// <summary>Checks every value and every row's eligibility.</summary>
    [Benchmark]
    public void Validate() => _predictions.Validate();
}
