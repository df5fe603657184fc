using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Benchmarks.Evaluation;

/// <summary>
/// End-to-end scheduling overhead per query, as <c>eccos evaluate</c> counts it: predicting a batch of 500 mmlu-pro test
/// queries for 12 models (embeddings precomputed, so embedding is excluded as in the evaluation) and solving it with
/// the Lagrangian solver at α = 0.7. Results are per query (<c>OperationsPerInvoke = 500</c>).
/// </summary>
/// <remarks>
/// Needs the shared dataset: <c>ECCOS_SHARED_DATA=/path/to/shared/data</c> (or <c>../shared/data</c> beside the
/// repository). Run: <c>dotnet run -c Release --project benchmarks/Eccos.Scheduling.Benchmarks -- --filter '*SchedulingOverhead*'</c>.
/// </remarks>
[MemoryDiagnoser]
public class SchedulingOverheadBenchmarks
{
    private const int BatchSize = 500;
    private IPredictor _predictor = null!;
    private SchedulingQuery[] _queries = null!;
    private IReadOnlyList<ModelProfile> _models = null!;
    private PredictionMatrix _predictions = null!;
    private readonly LagrangianAssignmentSolver _solver = new();
    private readonly AssignmentConstraints _constraints = new() { QualityTarget = 0.7 };

    /// <summary>Gets or sets the predictor: the task prior, or kNN over hashing embeddings.</summary>
    [Params("task-prior", "knn-hashing")]
    public string Predictor { get; set; } = "task-prior";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        OutcomeDataset data = await OutcomeDataset.LoadAsync(FindDataset());
        (IReadOnlyList<OutcomeRecord> train, IReadOnlyList<OutcomeRecord> test) = data.Split();
        _models = data.Catalog.Models;
        _queries = [.. test.Take(BatchSize).Select(r => r.ToQuery())];
        if (Predictor == "task-prior")
        {
            _predictor = TaskPriorPredictor.Fit(train);
        }
        else
        {
            HashingEmbeddingGenerator hashing = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text));
            var precomputed = new PrecomputedEmbeddings(hashing);
            await precomputed.GenerateAsync(train.Select(r => r.Text).Concat(_queries.Select(q => q.Text)));
            _predictor = await KnnPredictor.CreateAsync(train, precomputed);
        }

        _predictions = await _predictor.PredictAsync(_queries, _models);
    }

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public async Task<PredictionMatrix> Predict() => await _predictor.PredictAsync(_queries, _models);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public AssignmentResult Solve() => _solver.Solve(_predictions, _constraints);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public async Task<AssignmentResult> PredictAndSolve() => _solver.Solve(await _predictor.PredictAsync(_queries, _models), _constraints);

    private static string FindDataset()
    {
        string? root = Environment.GetEnvironmentVariable("ECCOS_SHARED_DATA");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); root is null && dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Eccos.Scheduling.sln")))
            {
                root = Path.Combine(dir.FullName, "..", "shared", "data");
            }
        }

        string path = Path.Combine(root ?? ".", "mmlu-pro");
        return Directory.Exists(path)
            ? path
            : throw new DirectoryNotFoundException($"mmlu-pro not found at '{path}'; set ECCOS_SHARED_DATA to the shared data folder.");
    }

    /// <summary>Embeddings computed once and then served from memory, so that the benchmark measures prediction, not embedding.</summary>
    private sealed class PrecomputedEmbeddings(IEmbeddingGenerator<string, Embedding<float>> inner) : IEmbeddingGenerator<string, Embedding<float>>
    {
        private readonly Dictionary<string, Embedding<float>> _cache = new(StringComparer.Ordinal);

        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            string[] texts = [.. values];
            string[] missing = [.. texts.Where(t => !_cache.ContainsKey(t)).Distinct(StringComparer.Ordinal)];
            if (missing.Length > 0)
            {
                GeneratedEmbeddings<Embedding<float>> fresh = await inner.GenerateAsync(missing, options, cancellationToken).ConfigureAwait(false);
                for (int k = 0; k < missing.Length; k++)
                {
                    _cache[missing[k]] = fresh[k];
                }
            }

            return [.. texts.Select(t => _cache[t])];
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

        public void Dispose() => inner.Dispose();
    }
}
