using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Tests.Dispatch;

/// <summary>A scriptable chat client that counts calls and concurrency.</summary>
internal sealed class FakeChatClient : IChatClient
{
    private int _inFlight;
    private int _maxInFlight;
    private int _calls;

    public FakeChatClient(string name) => Name = name;

    public string Name { get; }

    /// <summary>Produces the answer; default: "answer from {Name}" with usage 10 in / 20 out.</summary>
    public Func<IList<ChatMessage>, ChatOptions?, CancellationToken, Task<ChatResponse>>? Respond { get; set; }

    /// <summary>Produces the stream; default: the answer split in three updates plus a usage update.</summary>
    public Func<IList<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>>? Stream { get; set; }

    public int Calls => Volatile.Read(ref _calls);

    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public ConcurrentQueue<ChatOptions?> SeenOptions { get; } = new();

    public bool Disposed { get; private set; }

    public static ChatResponse Answer(string text, long input = 10, long output = 20, string? conversationId = null) =>
        new(new ChatMessage(ChatRole.Assistant, text))
        {
            Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output },
            ResponseId = Guid.NewGuid().ToString("N"),
            ConversationId = conversationId,
        };

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Enter(options);
        try
        {
            return Respond is null
                ? Answer("answer from " + Name)
                : await Respond(messages.ToList(), options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Enter(options);
        try
        {
            IAsyncEnumerable<ChatResponseUpdate> source = Stream is not null ? Stream(messages.ToList(), options, cancellationToken)
                : Respond is not null ? FromResponse(Respond(messages.ToList(), options, cancellationToken))
                : DefaultStream();
            await foreach (ChatResponseUpdate update in source.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                yield return update;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() => Disposed = true;

    private static async IAsyncEnumerable<ChatResponseUpdate> FromResponse(Task<ChatResponse> response)
    {
        foreach (ChatResponseUpdate update in (await response.ConfigureAwait(false)).ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    private async IAsyncEnumerable<ChatResponseUpdate> DefaultStream()
    {
        foreach (string part in new[] { "answer ", "from ", Name })
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, part) { ResponseId = "r-" + Name };
        }

        yield return new ChatResponseUpdate { Contents = [new UsageContent(new UsageDetails { InputTokenCount = 7, OutputTokenCount = 3 })] };
    }

    private void Enter(ChatOptions? options)
    {
        Interlocked.Increment(ref _calls);
        SeenOptions.Enqueue(options);
        int now = Interlocked.Increment(ref _inFlight);
        int max;
        while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
        {
        }
    }
}

/// <summary>Predicts fixed quality and cost per model (optionally by query text).</summary>
internal sealed class FakePredictor(IReadOnlyDictionary<string, (double Quality, double Cost)> table) : IPredictor
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public Func<SchedulingQuery, string, (double Quality, double Cost)?>? PerQuery { get; set; }

    public Exception? Throw { get; set; }

    public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        if (Throw is not null)
        {
            throw Throw;
        }

        var matrix = new PredictionMatrix(queries.Count, models);
        for (int i = 0; i < queries.Count; i++)
        {
            for (int j = 0; j < models.Count; j++)
            {
                (double q, double c) = PerQuery?.Invoke(queries[i], models[j].Name) ?? table[models[j].Name];
                matrix.Set(i, j, q, c, 20);
            }
        }

        return ValueTask.FromResult(matrix);
    }
}

/// <summary>
/// A test solver: each query takes its cheapest eligible model with capacity left, deferring the rest; it reports the
/// λ and μ it is told to.
/// </summary>
internal sealed class FakeSolver : IAssignmentSolver
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public double Lambda { get; set; }

    public double[]? Mu { get; set; }

    public ConcurrentQueue<(int Queries, int[] Capacities)> Seen { get; } = new();

    public AssignmentResult Solve(PredictionMatrix predictions, AssignmentConstraints constraints, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        int m = predictions.ModelCount;
        int[] caps = new int[m];
        constraints.ResolveCapacities(predictions, caps);
        Seen.Enqueue((predictions.QueryCount, (int[])caps.Clone()));
        int[] assignment = new int[predictions.QueryCount];
        double cost = 0, quality = 0;
        for (int i = 0; i < predictions.QueryCount; i++)
        {
            int best = -1;
            for (int j = 0; j < m; j++)
            {
                if (caps[j] > 0 && predictions.EligibleRow(i)[j] && (best < 0 || predictions.CostRow(i)[j] < predictions.CostRow(i)[best]))
                {
                    best = j;
                }
            }

            assignment[i] = best < 0 ? AssignmentResult.DeferredModel : best;
            if (best >= 0)
            {
                caps[best]--;
                cost += predictions.CostRow(i)[best];
                quality += predictions.QualityRow(i)[best];
            }
        }

        var result = new AssignmentResult(assignment, cost, quality / Math.Max(1, predictions.QueryCount), double.NaN, 1,
            assignment.Contains(AssignmentResult.DeferredModel) ? AssignmentStatus.CapacityShortfall : AssignmentStatus.Feasible,
            Lambda, Mu ?? new double[m]);
        return result;
    }
}

/// <summary>Collects outcome records.</summary>
internal sealed class CollectingSink : IOutcomeSink
{
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<OutcomeRecord> Records { get; } = new();

    public Exception? Throw { get; set; }

    public ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default)
    {
        if (Throw is not null)
        {
            throw Throw;
        }

        Records.Enqueue(record);
        _first.TrySetResult();
        return ValueTask.CompletedTask;
    }
}

internal static class Pools
{
    public static readonly ModelProfile Cheap = new("cheap", 0.1, 0.4);
    public static readonly ModelProfile Mid = new("mid", 1, 4);
    public static readonly ModelProfile Strong = new("strong", 5, 20);

    /// <summary>cheap: quality 0.5; mid: 0.8; strong: 0.95 — costs rise with quality.</summary>
    public static FakePredictor Predictor() => new(new Dictionary<string, (double, double)>
    {
        ["cheap"] = (0.5, 0.001),
        ["mid"] = (0.8, 0.01),
        ["strong"] = (0.95, 0.05),
    });

    public static (EccosBuilder Builder, FakeChatClient Cheap, FakeChatClient Mid, FakeChatClient Strong) Three(double alpha = 0.7, int? capacity = null, FakePredictor? predictor = null, string name = EccosBuilder.DefaultName)
    {
        var cheap = new FakeChatClient("cheap");
        var mid = new FakeChatClient("mid");
        var strong = new FakeChatClient("strong");
        EccosBuilder builder = new EccosBuilder(name)
            .AddModel(cheap, Cheap.WithCapacity(capacity))
            .AddModel(mid, Mid.WithCapacity(capacity))
            .AddModel(strong, Strong.WithCapacity(capacity))
            .UsePredictor(predictor ?? Predictor())
            .WithQualityTarget(alpha);
        return (builder, cheap, mid, strong);
    }

    /// <summary>One model "only" (capacity 1) whose calls wait until <c>Release</c> is set.</summary>
    public static (EccosBuilder Builder, FakeChatClient Only, TaskCompletionSource Release) OneBlockingModel()
    {
        var only = new FakeChatClient("only");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        only.Respond = async (_, _, _) =>
        {
            await release.Task;
            return FakeChatClient.Answer("done");
        };
        EccosBuilder builder = new EccosBuilder()
            .AddModel(only, new ModelProfile("only", 1, 1, capacity: 1))
            .UsePredictor(new FakePredictor(new Dictionary<string, (double, double)> { ["only"] = (0.9, 0.01) }));
        return (builder, only, release);
    }

    public static async Task<T> Within<T>(this Task<T> task, int milliseconds = 10_000) =>
        await task.WaitAsync(TimeSpan.FromMilliseconds(milliseconds)).ConfigureAwait(false);

    public static async Task Within(this Task task, int milliseconds = 10_000) =>
        await task.WaitAsync(TimeSpan.FromMilliseconds(milliseconds)).ConfigureAwait(false);

    public static async Task Eventually(Func<bool> condition, int milliseconds = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(milliseconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("The condition did not become true in time.");
            }

            await Task.Delay(5).ConfigureAwait(false);
        }
    }
}

/// <summary>The services a router takes from its container (clock, logging, metrics), for builds outside dependency injection.</summary>
internal static class TestServices
{
    public static IServiceProvider With(TimeProvider? time = null, Microsoft.Extensions.Logging.ILoggerFactory? logs = null, System.Diagnostics.Metrics.IMeterFactory? meters = null)
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        if (time is not null)
        {
            Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(services, time);
        }

        if (logs is not null)
        {
            Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(services, logs);
        }

        if (meters is not null)
        {
            Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(services, meters);
        }

        return Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);
    }
}

/// <summary>Shaped like System.ClientModel's ClientResultException: an int Status and a raw response with headers.</summary>
internal sealed class SdkLikeException(int status, Dictionary<string, string> headers) : Exception("provider error")
{
    public int Status { get; } = status;

    public RawResponse GetRawResponse() => new(headers);
}

internal sealed class RawResponse(Dictionary<string, string> headers)
{
    public Headers Headers { get; } = new(headers);
}

internal sealed class Headers(Dictionary<string, string> values)
{
    public bool TryGetValue(string name, out string? value)
    {
        foreach ((string key, string v) in values)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                value = v;
                return true;
            }
        }

        value = null;
        return false;
    }
}
