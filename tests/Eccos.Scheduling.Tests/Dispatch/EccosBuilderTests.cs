using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Eccos.Scheduling.Tests.Dispatch;

public class EccosBuilderTests
{
    private static readonly ChatMessage[] Hello = [new(ChatRole.User, "hello")];

    private static OutcomeRecord[] History() =>
        [new OutcomeRecord("h1", "hello there", 3, [new ModelOutcome("a", 1, 10)]), new OutcomeRecord("h2", "good bye", 3, [new ModelOutcome("a", 0, 10)])];

    [Test]
    public async Task UseKnnPredictor_with_a_slow_embedder_does_not_block_Build_and_requests_wait_for_the_predictor()
    {
        var embedder = new GatedEmbedder();
        var a = new FakeChatClient("a");
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using EccosChatClient router = new EccosBuilder()
            .AddModel(a, new ModelProfile("a", 1, 1))
            .UseKnnPredictor(History(), embedder)
            .Build();
        Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "Build returned while the history was still being embedded");

        Task<ChatResponse> pending = router.GetResponseAsync(Hello);
        await Task.Delay(50);
        Assert.That(pending.IsCompleted, Is.False, "the request waits for the predictor");

        embedder.Open.SetResult();
        ChatResponse response = await pending.Within();
        Assert.Multiple(() =>
        {
            Assert.That(response.Text, Is.EqualTo("answer from a"));
            Assert.That(router.Predictor, Is.InstanceOf<KnnPredictor>());
        });
    }

    [Test]
    public async Task A_predictor_that_fails_to_start_fails_the_requests_with_its_error()
    {
        var embedder = new GatedEmbedder();
        await using EccosChatClient router = new EccosBuilder()
            .AddModel(new FakeChatClient("a"), new ModelProfile("a", 1, 1))
            .UseKnnPredictor(History(), embedder)
            .Build();

        Task<ChatResponse> pending = router.GetResponseAsync(Hello);
        embedder.Open.SetException(new HttpRequestException("embedding service down"));

        InvalidOperationException? error = await Assert.ThrowsAsync<InvalidOperationException>(() => pending.Within());
        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("Eccos router 'eccos': the predictor could not be created").And.Contain("embedding service down"));
            Assert.That(error.InnerException, Is.InstanceOf<HttpRequestException>());
            Assert.That(() => router.GetResponseAsync(Hello).Within(), Throws.InvalidOperationException, "and every later request too");
        });
    }

    [Test]
    public async Task Disposing_while_the_predictor_is_created_ends_the_waiting_requests_and_cancels_the_creation()
    {
        var embedder = new GatedEmbedder();
        EccosChatClient router = new EccosBuilder()
            .AddModel(new FakeChatClient("a"), new ModelProfile("a", 1, 1))
            .UseKnnPredictor(History(), embedder)
            .Build();
        Task<ChatResponse> pending = router.GetResponseAsync(Hello);

        await router.DisposeAsync().AsTask().Within();

        Assert.Multiple(() =>
        {
            Assert.That(() => pending.Within(), Throws.InstanceOf<ObjectDisposedException>());
            Assert.That(embedder.SeenToken.IsCancellationRequested, Is.True, "the creation's token is cancelled");
        });
    }

    [Test]
    public void A_malformed_history_fails_the_build_when_the_embedder_is_synchronous()
    {
        OutcomeRecord[] bad = [new OutcomeRecord("h1", "hello", 3, [new ModelOutcome("a", 1.5, 10)])];
        var a = new FakeChatClient("a");
        Assert.That(
            () => new EccosBuilder().AddModel(_ => a, new ModelProfile("a", 1, 1)).UseKnnPredictor(bad).Build(),
            Throws.ArgumentException.With.Message.Contains("id 'h1'").And.Message.Contains("score 1.5"));
        Assert.That(a.Disposed, Is.True, "a client the failed build created is disposed");
    }

    [Test]
    public void Build_names_what_is_missing()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new EccosBuilder("orders").UsePredictor(Pools.Predictor()).Build(),
                Throws.InvalidOperationException.With.Message.Contains("Eccos router 'orders': add at least one model"));
            Assert.That(() => new EccosBuilder("orders").AddModel(new FakeChatClient("a"), Pools.Cheap).Build(),
                Throws.InvalidOperationException.With.Message.Contains("Eccos router 'orders': set a predictor"));
            Assert.That(() => new EccosBuilder("orders").AddModel("missing-key", Pools.Cheap).UsePredictor(Pools.Predictor()).Build(),
                Throws.InvalidOperationException.With.Message.Contains("uses the IChatClient keyed 'missing-key'"));
            Assert.That(() => new EccosBuilder().AddModel(new FakeChatClient("a"), Pools.Cheap).UsePredictor(Pools.Predictor()).Configure(o => o.MaxAttempts = 0).Build(),
                Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("EccosOptions.MaxAttempts is 0"));
        });
    }

    [Test]
    public async Task Build_takes_the_predictor_solver_time_and_keyed_clients_from_the_service_provider()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var solver = new LagrangianAssignmentSolver();
        var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(time)
            .AddKeyedSingleton<IPredictor>("orders", Pools.Predictor())
            .AddSingleton<IAssignmentSolver>(solver);
        services.AddKeyedChatClient("cheap-key", new FakeChatClient("cheap"));
        await using ServiceProvider provider = services.BuildServiceProvider();

        await using EccosChatClient router = new EccosBuilder("orders").AddModel("cheap-key", Pools.Cheap).Build(provider);
        ChatResponse response = await router.GetResponseAsync(Hello).Within();

        Assert.Multiple(() =>
        {
            Assert.That(response.Text, Is.EqualTo("answer from cheap"));
            Assert.That(router.Time, Is.SameAs(time));
            Assert.That(router.Core.Solver, Is.SameAs(solver));
            Assert.That(router.Predictor, Is.SameAs(provider.GetRequiredKeyedService<IPredictor>("orders")));
        });
    }

    [Test]
    public async Task In_a_container_the_options_are_bound_from_configuration_then_the_builder_calls_apply()
    {
        IConfiguration config = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Eccos:QualityTarget"] = "0.6", ["Eccos:MaxAttempts"] = "5" })
            .Build();
        var services = new ServiceCollection();
        services.Configure<EccosOptions>(EccosBuilder.DefaultName, config.GetSection("Eccos"));
        services.AddKeyedChatClient("c", new FakeChatClient("c"));
        services.AddEccos().AddModel("c", Pools.Cheap).UsePredictor(Pools.Predictor()).Configure(o => o.MaxAttempts = 2);
        await using ServiceProvider provider = services.BuildServiceProvider();

        EccosChatClient router = provider.GetRequiredService<EccosChatClient>();
        Assert.Multiple(() =>
        {
            Assert.That(router.QualityTarget, Is.EqualTo(0.6), "from configuration");
            Assert.That(router.Core.Options.MaxAttempts, Is.EqualTo(2), "the builder's call comes after the binding");
            Assert.That(provider.GetRequiredService<IChatClient>(), Is.SameAs(router), "the unnamed router is the default chat client");
        });
    }

    /// <summary>An embedding generator whose calls wait until <see cref="Open"/> completes (or fails).</summary>
    private sealed class GatedEmbedder : IEmbeddingGenerator<string, Embedding<float>>
    {
        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationToken SeenToken { get; private set; }

        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            SeenToken = cancellationToken;
            await Open.Task.WaitAsync(cancellationToken);
            return [.. values.Select(v => new Embedding<float>(new float[] { v.Length, 1 }))];
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
