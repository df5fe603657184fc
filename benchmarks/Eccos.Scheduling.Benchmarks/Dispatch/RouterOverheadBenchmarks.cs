using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Benchmarks.Dispatch;

/// <summary>
/// What the router adds to a call: one request through <see cref="EccosChatClient"/> in online mode over a no-op
/// client, against the same no-op client called directly. The predictor is <see cref="ListPricePredictor"/> (a few
/// multiplications per model), so the numbers are the router's own overhead: query building, prediction plumbing,
/// scoring, admission (in the "with limits" case through four limiters), the decision, telemetry and (in the "with sink" case) feedback.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class RouterOverheadBenchmarks
{
    private static readonly ChatMessage[] Messages = [new(ChatRole.System, "Answer with one letter."), new(ChatRole.User, "Which planet is largest? A) Mars B) Jupiter C) Venus D) Earth")];
    private NoOpChatClient[] _clients = [];
    private EccosChatClient _router = null!;
    private EccosChatClient _routerWithSink = null!;
    private EccosChatClient _routerWithLimits = null!;

    [Params(3, 12)]
    public int Models { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _clients = [.. Enumerable.Range(0, Models).Select(_ => new NoOpChatClient())];
        _router = Build(withSink: false);
        _routerWithSink = Build(withSink: true);
        _routerWithLimits = Build(withSink: false, withLimits: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _router.Dispose();
        _routerWithSink.Dispose();
        _routerWithLimits.Dispose();
    }

    [Benchmark(Baseline = true, Description = "direct call")]
    public Task<ChatResponse> Direct() => _clients[0].GetResponseAsync(Messages);

    [Benchmark(Description = "router, online")]
    public Task<ChatResponse> Routed() => _router.GetResponseAsync(Messages);

    [Benchmark(Description = "router, online, with outcome sink")]
    public Task<ChatResponse> RoutedWithSink() => _routerWithSink.GetResponseAsync(Messages);

    [Benchmark(Description = "router, online, with RPM, TPM and group limits")]
    public Task<ChatResponse> RoutedWithLimits() => _routerWithLimits.GetResponseAsync(Messages);

    private EccosChatClient Build(bool withSink, bool withLimits = false)
    {
        var builder = new EccosBuilder().UsePredictor(new ListPricePredictor()).WithQualityTarget(0.7);
        for (int j = 0; j < Models; j++)
        {
            builder.AddModel(_clients[j], new ModelProfile("m" + j, 0.1 * (j + 1), 0.4 * (j + 1), capacity: 64));
        }

        if (withSink)
        {
            builder.AddOutcomeSink(new NoOpSink());
        }

        if (withLimits)
        {
            // Every kind of limit on every model, far above the load: they cost their bookkeeping and never refuse.
            builder.Configure(o =>
            {
                o.LimitGroups["key"] = new EccosLimitOptions { RequestsPerMinute = 100_000_000, TokensPerMinute = int.MaxValue };
                for (int j = 0; j < Models; j++)
                {
                    o.Models["m" + j] = new EccosModelOptions { RequestsPerMinute = 100_000_000, TokensPerMinute = int.MaxValue, LimitGroup = "key" };
                }
            });
        }

        return builder.Build();
    }

    private sealed class NoOpSink : IOutcomeSink
    {
        public ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }
}

/// <summary>A deliberately cheap predictor: quality rises with price, cost from list prices and a fixed answer length.</summary>
internal sealed class ListPricePredictor : IPredictor
{
    public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
    {
        var matrix = new PredictionMatrix(queries.Count, models);
        for (int i = 0; i < queries.Count; i++)
        {
            for (int j = 0; j < models.Count; j++)
            {
                double quality = 1 - (0.5 / (1 + models[j].OutputPricePerMillionTokens));
                matrix.Set(i, j, quality, models[j].CostOf(queries[i].InputTokens, 200), 200);
            }
        }

        return ValueTask.FromResult(matrix);
    }
}
