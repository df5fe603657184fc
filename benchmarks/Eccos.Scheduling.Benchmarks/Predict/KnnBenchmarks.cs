using BenchmarkDotNet.Attributes;

namespace Eccos.Scheduling.Benchmarks.Predict;

/// <summary>
/// kNN lookup — top-k search and aggregation, embedding excluded — over N stored 384-dimensional queries with
/// 12 models each; per query, for single queries and batches; exact search and clustered search (IVF, √N lists) with
/// a few probe counts. The vectors are uniformly random (no cluster structure: every list holds about N/(2√N) rows, the
/// least favourable case for the clustered search's recall, not for its speed). Each invocation takes the next of 256
/// query vectors (one, or 16 in a row), so that the probed lists are not the same cached ones every time.
/// Run: dotnet run -c Release --project benchmarks/Eccos.Scheduling.Benchmarks -- --filter '*KnnLookup*' --job short
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class KnnLookupBenchmarks
{
    private const int Dimensions = 384;
    private const int Models = 12;
    private const int Batch = 16;
    private const int QueryVectors = 256;

    private KnnPredictor _predictor = null!;
    private KnnSnapshot _snapshot = null!;
    private float[] _queryVectors = null!;
    private SchedulingQuery[] _queries = null!;
    private ModelProfile[] _models = null!;
    private PredictionMatrix _single = null!;
    private PredictionMatrix _batch = null!;
    private int _next;

    [Params(10_000, 100_000)]
    public int Stored { get; set; }

    [Params(32)]
    public int K { get; set; }

    /// <summary>Gets or sets the search: "exact", or "clustered/P" for an IVF index probing P lists.</summary>
    [Params("exact", "clustered/4", "clustered/8", "clustered/16")]
    public string Search { get; set; } = "exact";

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        _models = [.. Enumerable.Range(0, Models).Select(j => new ModelProfile($"model-{j}", 0.1 * (j + 1), 0.3 * (j + 1)))];
        var options = new KnnPredictorOptions { K = K };
        if (Search.StartsWith("clustered/", StringComparison.Ordinal))
        {
            options.Search = KnnSearch.Clustered;
            options.Probes = int.Parse(Search["clustered/".Length..], System.Globalization.CultureInfo.InvariantCulture);
        }

        _predictor = KnnPredictor.CreateAsync([], new HashingEmbeddingGenerator(), options).GetAwaiter().GetResult();
        const int Chunk = 5_000;
        for (int start = 0; start < Stored; start += Chunk)
        {
            var vectors = new float[Chunk * Dimensions];
            for (int i = 0; i < vectors.Length; i++)
            {
                vectors[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            var items = new (string?, IReadOnlyList<ModelOutcome>)[Chunk];
            for (int i = 0; i < Chunk; i++)
            {
                items[i] = ($"task-{i % 14}", [.. _models.Select(m => new ModelOutcome(m.Name, rng.Next(2), 20 + rng.Next(400)))]);
            }

            _predictor.Index.Add(vectors, Dimensions, items, clusterInBackground: false);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        _predictor.Index.ClusterIfDue();
        if (options.Search == KnnSearch.Clustered)
        {
            Console.WriteLine($"// clustering {Stored} rows into {_predictor.Index.Snapshot.Clusters!.ListCount} lists took {clock.Elapsed.TotalSeconds:F2} s");
        }

        _snapshot = _predictor.Index.Snapshot;
        _queryVectors = new float[QueryVectors * Dimensions];
        for (int q = 0; q < QueryVectors; q++)
        {
            Span<float> v = _queryVectors.AsSpan(q * Dimensions, Dimensions);
            for (int d = 0; d < Dimensions; d++)
            {
                v[d] = (float)((rng.NextDouble() * 2) - 1);
            }

            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
            System.Numerics.Tensors.TensorPrimitives.Divide(v, norm, v);
        }

        _queries = [.. Enumerable.Range(0, Batch).Select(q => new SchedulingQuery("unused", 150, $"task-{q % 14}"))];
        _single = new PredictionMatrix(1, _models);
        _batch = new PredictionMatrix(Batch, _models);
    }

    [Benchmark(Description = "one query")]
    public PredictionMatrix SingleQuery()
    {
        int q = _next = (_next + 1) % QueryVectors;
        _predictor.Predict(_snapshot, _queryVectors.AsSpan(q * Dimensions, Dimensions), _queries.AsSpan(q % Batch, 1).ToArray(), _single, CancellationToken.None);
        return _single;
    }

    [Benchmark(Description = "batch of 16, per query", OperationsPerInvoke = Batch)]
    public PredictionMatrix BatchOf16()
    {
        int start = _next = (_next + Batch) % QueryVectors;
        _predictor.Predict(_snapshot, _queryVectors.AsSpan(start * Dimensions, Batch * Dimensions), _queries, _batch, CancellationToken.None);
        return _batch;
    }
}

/// <summary>
/// The hashing embedder on one MMLU-Pro-sized prompt (about 700 characters), unfitted and fitted (stop list).
/// Run: dotnet run -c Release --project benchmarks/Eccos.Scheduling.Benchmarks -- --filter '*HashingEmbedder*' --job short
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class HashingEmbedderBenchmarks : IDisposable
{
    private const string Prompt =
        "Question: A 0.25 kg ball is thrown straight up with an initial speed of 12 m/s. Ignoring air resistance, what is " +
        "the maximum height the ball reaches above the point of release, and how long does it take to get there?\n" +
        "Options:\nA. 7.3 m, 1.22 s\nB. 14.7 m, 2.45 s\nC. 3.6 m, 0.61 s\nD. 7.3 m, 2.45 s\nE. 12.0 m, 1.00 s\n" +
        "F. 9.8 m, 1.41 s\nG. 5.5 m, 1.06 s\nH. 7.3 m, 0.82 s\nI. 6.1 m, 1.22 s\nJ. 8.4 m, 1.31 s\nAnswer:";

    private HashingEmbeddingGenerator _unfitted = null!;
    private HashingEmbeddingGenerator _fitted = null!;
    private float[] _destination = null!;

    [GlobalSetup]
    public void Setup()
    {
        _unfitted = new HashingEmbeddingGenerator();
        var rng = new Random(1);
        string[] corpus = [.. Enumerable.Range(0, 2000).Select(i => Prompt.Replace("0.25", (rng.NextDouble() * 10).ToString("F2", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        _fitted = HashingEmbeddingGenerator.Fit(corpus);
        _destination = new float[_unfitted.Dimensions];
    }

    public void Dispose()
    {
        _unfitted?.Dispose();
        _fitted?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true, Description = "unfitted, per query")]
    public float[] Unfitted()
    {
        _unfitted.Embed(Prompt, _destination);
        return _destination;
    }

    [Benchmark(Description = "fitted (stop list), per query")]
    public float[] Fitted()
    {
        _fitted.Embed(Prompt, _destination);
        return _destination;
    }
}
