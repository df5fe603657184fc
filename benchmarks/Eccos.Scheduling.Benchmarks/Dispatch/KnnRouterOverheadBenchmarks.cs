using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Benchmarks.Dispatch;

/// <summary>
/// The router's overhead with the real online predictor: one request through <see cref="EccosChatClient"/> (online
/// mode, 12 models) with a <see cref="KnnPredictor"/> over a 10,000-query history embedded by
/// <see cref="HashingEmbeddingGenerator"/>, against the same no-op client called directly; exact search and clustered
/// search (the router's default: 2√n lists, 8 probes). The predictor, the embedder and the lookup are also timed alone,
/// to say where the time goes. Each invocation sends the next of 256 different prompts, so that a clustered search
/// does not find the same lists in the cache every time. The history is synthetic (generated here), so the benchmark
/// runs without the shared data.
/// Run: dotnet run -c Release --project benchmarks/Eccos.Scheduling.Benchmarks -- --filter '*KnnRouterOverhead*'
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class KnnRouterOverheadBenchmarks : IDisposable
{
    private const int Models = 12;
    private const int Prompts = 256;
    private static readonly string[] Words = [.. Enumerable.Range(0, 2_000).Select(i => "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    private NoOpChatClient _client = null!;
    private ChatMessage[][] _messages = [];
    private HashingEmbeddingGenerator _embedder = null!;
    private EccosChatClient _router = null!;
    private EccosChatClient _limited = null!;
    private KnnPredictor _predictor = null!;
    private ModelProfile[] _profiles = [];
    private SchedulingQuery[][] _queries = [];
    private float[][] _queryVectors = [];
    private float[] _embedded = [];
    private PredictionMatrix _lookupResult = null!;
    private int _next;

    [Params(10_000)]
    public int History { get; set; }

    [Params(KnnSearch.Exact, KnnSearch.Clustered)]
    public KnnSearch Search { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _client = new NoOpChatClient();
        var random = new Random(7);
        ModelProfile[] profiles = _profiles = [.. Enumerable.Range(0, Models).Select(j => new ModelProfile("m" + j, 0.1 * (j + 1), 0.4 * (j + 1), capacity: 64))];
        var history = new List<OutcomeRecord>(History);
        for (int i = 0; i < History; i++)
        {
            history.Add(new OutcomeRecord("h" + i, Sentence(random), 40,
                [.. profiles.Select((p, j) => new ModelOutcome(p.Name, random.NextDouble() < 0.4 + (0.04 * j) ? 1 : 0, random.Next(20, 400)))]));
        }

        _embedder = HashingEmbeddingGenerator.Fit(history.Select(r => r.Text));
        KnnPredictor predictor = _predictor = KnnPredictor.CreateAsync(history, _embedder, new KnnPredictorOptions { Search = Search }).GetAwaiter().GetResult();
        var builder = new EccosBuilder().UsePredictor(predictor, learnFromTraffic: false).UseSolver(new LagrangianAssignmentSolver()).WithQualityTarget(0.7);
        foreach (ModelProfile p in profiles)
        {
            builder.AddModel(_client, p);
        }

        _router = builder.WarmUpWith(history.Take(512).Select(r => r.ToQuery())).Build();

        // The same pool admitted through every kind of limit: own requests and tokens per minute, and a group's
        // (limits far above the load, so that they cost their bookkeeping and never refuse).
        _limited = builder.Configure(o =>
        {
            o.LimitGroups["key"] = new EccosLimitOptions { RequestsPerMinute = 100_000_000, TokensPerMinute = int.MaxValue };
            foreach (ModelProfile p in profiles)
            {
                o.Models[p.Name] = new EccosModelOptions { RequestsPerMinute = 100_000_000, TokensPerMinute = int.MaxValue, LimitGroup = "key" };
            }
        }).Build();
        _messages = [.. Enumerable.Range(0, Prompts).Select(_ => new[] { new ChatMessage(ChatRole.User, Sentence(random)) })];
        _queries = [.. _messages.Select(m => new[] { new SchedulingQuery(m[0].Text, 40) })];
        _queryVectors = [.. _queries.Select(q =>
        {
            var v = new float[_embedder.Dimensions];
            _embedder.Embed(q[0].Text, v);
            return v;
        })];
        _embedded = new float[_embedder.Dimensions];
        _lookupResult = new PredictionMatrix(1, _profiles);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _router.Dispose();
        _limited.Dispose();
        _embedder.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _client?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true, Description = "direct call")]
    public Task<ChatResponse> Direct() => _client.GetResponseAsync(_messages[Next()]);

    [Benchmark(Description = "router, online, kNN 10k + hashing embedder")]
    public Task<ChatResponse> Routed() => _router.GetResponseAsync(_messages[Next()]);

    [Benchmark(Description = "router, online, kNN 10k + hashing embedder, with concurrency, RPM, TPM and group limits")]
    public Task<ChatResponse> RoutedWithLimits() => _limited.GetResponseAsync(_messages[Next()]);

    [Benchmark(Description = "kNN predictor alone (1 query × 12 models)")]
    public ValueTask<PredictionMatrix> PredictorAlone() => _predictor.PredictAsync(_queries[Next()], _profiles);

    [Benchmark(Description = "hashing embedder alone (same prompts)")]
    public float[] EmbedderAlone()
    {
        _embedder.Embed(_queries[Next()][0].Text, _embedded);
        return _embedded;
    }

    [Benchmark(Description = "kNN lookup alone (search + aggregation, embedded prompts)")]
    public PredictionMatrix LookupAlone()
    {
        int i = Next();
        _predictor.Predict(_predictor.Index.Snapshot, _queryVectors[i], _queries[i], _lookupResult, CancellationToken.None);
        return _lookupResult;
    }

    private static string Sentence(Random random) => string.Join(' ', Enumerable.Range(0, 25).Select(_ => Words[random.Next(Words.Length)]));

    private int Next() => _next = (_next + 1) % Prompts;
}
