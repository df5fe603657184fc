using BenchmarkDotNet.Attributes;
using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Benchmarks.Solve;

/// <summary>
/// Solve time of <see cref="LagrangianAssignmentSolver"/> against the number of queries N and of models M, on
/// synthetic instances shaped like recorded LLM outcomes (quality 0.2–0.9, costs spanning 50×, α halfway between the
/// cheapest and the best mean quality) whose two cheapest models have binding capacities; the threshold baseline
/// (one pass, no optimization) for contrast.
/// </summary>
/// <remarks>
/// Run: <c>dotnet run -c Release --project benchmarks/Eccos.Scheduling.Benchmarks -- --filter '*SolverScaling*'</c>.
/// The gap each solve reached is written to the log once per parameter set (look for "gap").
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
public class SolverScalingBenchmarks
{
    private readonly LagrangianAssignmentSolver _lagrangian = new();
    private readonly ThresholdAssignmentSolver _threshold = new();
    private PredictionMatrix _predictions = null!;
    private AssignmentConstraints _constraints = null!;

    /// <summary>Gets or sets N, the queries of the batch.</summary>
    [Params(1_000, 10_000, 100_000)]
    public int Queries { get; set; }

    /// <summary>Gets or sets M, the models of the pool.</summary>
    [Params(4, 12, 32)]
    public int Models { get; set; }

    /// <summary>Builds the instance and reports the gap the solver reaches on it.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_predictions, _constraints) = SyntheticInstances.Realistic(Queries, Models, seed: 1);
        AssignmentResult r = _lagrangian.Solve(_predictions, _constraints);
        Console.WriteLine(
            $"// N={Queries} M={Models}: status {r.Status}, gap {r.Gap:P4}, iterations {r.Iterations}, cost {r.TotalCost:G6}, bound {r.Bound:G6}");
    }

    /// <summary>The Lagrangian solver.</summary>
    [Benchmark(Baseline = true)]
    public AssignmentResult Lagrangian() => _lagrangian.Solve(_predictions, _constraints);

    /// <summary>The threshold baseline.</summary>
    [Benchmark]
    public AssignmentResult Threshold() => _threshold.Solve(_predictions, _constraints);
}
