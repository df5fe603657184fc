namespace Eccos.Scheduling.Http.Tests;

/// <summary>
/// A simulated OpenAI-compatible provider on 127.0.0.1 and a router over its models, each reached through the official
/// OpenAI SDK's <see cref="IChatClient"/> (retries off, so that every HTTP status reaches the router).
/// </summary>
internal sealed class HttpPool : IAsyncDisposable
{
    /// <summary>The bound of every wait in these tests: far above what any step needs, so only a hang reaches it.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private HttpPool(SimulatedProvider provider, EccosChatClient router)
    {
        Provider = provider;
        Router = router;
    }

    public SimulatedProvider Provider { get; }

    public EccosChatClient Router { get; }

    /// <summary>
    /// Starts a provider serving <paramref name="models"/> and a router over them: model <c>k</c> (in the order given)
    /// costs <c>k + 1</c> times the first and is predicted to be right with probability <c>quality[k]</c>;
    /// <paramref name="build"/> may add to the builder (an outcome sink, ...) before it builds.
    /// </summary>
    public static async Task<HttpPool> StartAsync(
        IReadOnlyList<(string Name, SimulatedModelOptions Options, double Quality, int? Capacity)> models,
        Action<EccosOptions>? configure = null,
        double alpha = 0.5,
        int outputTokens = 16,
        int seed = 1,
        Action<EccosBuilder>? build = null)
    {
        var options = new SimulatedProviderOptions { Seed = seed };
        foreach (var m in models)
        {
            options.Models[m.Name] = m.Options;
        }

        SimulatedProvider provider = await SimulatedProvider.StartAsync(options);
        try
        {
            var table = new Dictionary<string, double>();
            var builder = new EccosBuilder().WithQualityTarget(alpha).UsePredictor(new TablePredictor(table, outputTokens));
            for (int k = 0; k < models.Count; k++)
            {
                var m = models[k];
                table[m.Name] = m.Quality;
                builder.AddModel(provider.CreateChatClient(m.Name), new ModelProfile(m.Name, 1.0 * (k + 1), 4.0 * (k + 1), m.Capacity), ownsClient: true);
            }

            if (configure is not null)
            {
                builder.Configure(configure);
            }

            build?.Invoke(builder);

            return new HttpPool(provider, builder.Build());
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Router.DisposeAsync();
        await Provider.DisposeAsync();
    }

    /// <summary>The decision the router attached to a response.</summary>
    public static EccosDecision DecisionOf(ChatResponse response) =>
        (EccosDecision)response.AdditionalProperties![EccosDecision.PropertyKey]!;

    /// <summary>Polls <paramref name="condition"/> every 10 ms until it holds; fails the test after <see cref="Bound"/>.</summary>
    public static Task EventuallyAsync(Func<bool> condition, string what) => Bounded.EventuallyAsync(condition, what, Bound);

    /// <summary>Awaits <paramref name="task"/>, failing the test if it takes longer than <see cref="Bound"/>.</summary>
    public static async Task<T> WithinBound<T>(Task<T> task)
    {
        if (await Task.WhenAny(task, Task.Delay(Bound)) != task)
        {
            Assert.Fail($"The call did not end within {Bound}.");
        }

        return await task;
    }
}

/// <summary>A fixed predictor: each model's quality from a table, the answer length fixed, cost from list prices.</summary>
internal sealed class TablePredictor(IReadOnlyDictionary<string, double> quality, int outputTokens) : IPredictor
{
    public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
    {
        var matrix = new PredictionMatrix(queries.Count, models);
        for (int i = 0; i < queries.Count; i++)
        {
            for (int j = 0; j < models.Count; j++)
            {
                matrix.Set(i, j, quality[models[j].Name], models[j].CostOf(queries[i].InputTokens, outputTokens), outputTokens);
            }
        }

        return ValueTask.FromResult(matrix);
    }
}
