using Eccos.Scheduling.Tests.Dispatch;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

public class EccosServiceCollectionTests
{
    private static readonly ChatMessage[] Hello = [new(ChatRole.User, "hi")];

    [Test]
    public async Task Resolves_the_router_as_keyed_and_default_chat_client_over_keyed_pool_clients()
    {
        var cheap = new FakeChatClient("cheap");
        var strong = new FakeChatClient("strong");
        var services = new ServiceCollection();
        services.AddKeyedChatClient("cheap-client", cheap);
        services.AddKeyedChatClient("strong-client", strong);
        services.AddSingleton<IPredictor>(Pools.Predictor());
        services.AddEccos(o => o.QualityTarget = 0.9)
            .AddModel("cheap-client", Pools.Cheap)
            .AddModel("strong-client", Pools.Strong, modelId: "gpt-strong");

        await using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        IChatClient keyed = provider.GetRequiredKeyedService<IChatClient>("eccos");
        ChatResponse response = await provider.GetRequiredService<IChatClient>().GetResponseAsync(Hello).Within();

        Assert.Multiple(() =>
        {
            Assert.That(keyed, Is.SameAs(provider.GetRequiredKeyedService<EccosChatClient>("eccos")));
            Assert.That(provider.GetRequiredService<IChatClient>(), Is.SameAs(keyed));
            Assert.That(response.Text, Is.EqualTo("answer from strong"));
            Assert.That(strong.SeenOptions.Single()!.ModelId, Is.EqualTo("gpt-strong"));
            Assert.That(((EccosChatClient)keyed).QualityTarget, Is.EqualTo(0.9));
        });
    }

    [Test]
    public void Invalid_options_fail_at_start_with_a_clear_message()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IPredictor>(Pools.Predictor());
        services.AddKeyedChatClient("c", new FakeChatClient("c"));
        services.AddEccos("orders", o => { o.QualityTarget = 2; o.MaxQueueLength = -1; }).AddModel("c", Pools.Cheap);
        using ServiceProvider provider = services.BuildServiceProvider();

        var atStart = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        var atResolve = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredKeyedService<IChatClient>("orders"));

        Assert.Multiple(() =>
        {
            Assert.That(atStart!.Message, Does.Contain("Eccos router 'orders': EccosOptions.QualityTarget is 2; it must be a number in [0, 1]."));
            Assert.That(atStart.Message, Does.Contain("EccosOptions.MaxQueueLength is -1"));
            Assert.That(atResolve!.OptionsName, Is.EqualTo("orders"));
        });
    }

    [Test]
    public async Task Container_owned_clients_are_never_disposed_by_the_router_factory_clients_are()
    {
        var containerOwned = new FakeChatClient("cheap");
        var routerOwned = new FakeChatClient("strong");
        var services = new ServiceCollection();
        services.AddKeyedSingleton<IChatClient>("cheap", (_, _) => containerOwned);
        services.AddEccos().UsePredictor(Pools.Predictor())
            .AddModel("cheap", Pools.Cheap)
            .AddModel(_ => routerOwned, Pools.Strong);
        ServiceProvider provider = services.BuildServiceProvider();
        EccosChatClient router = provider.GetRequiredKeyedService<EccosChatClient>("eccos");

        // Dispose the router alone first: the container's client must survive it.
        await router.DisposeAsync();
        Assert.Multiple(() =>
        {
            Assert.That(containerOwned.Disposed, Is.False);
            Assert.That(routerOwned.Disposed, Is.True);
        });
        await provider.DisposeAsync();
        Assert.That(containerOwned.Disposed, Is.True, "the container disposes what it owns");
    }

    [Test]
    public async Task TimeProvider_comes_from_the_container_with_System_as_default()
    {
        var fake = new FakeTimeProvider();
        var withFake = new ServiceCollection().AddSingleton<TimeProvider>(fake);
        withFake.AddSingleton<IPredictor>(Pools.Predictor()).AddKeyedChatClient("c", new FakeChatClient("c"));
        withFake.AddEccos().AddModel("c", Pools.Cheap);
        var plain = new ServiceCollection().AddSingleton<IPredictor>(Pools.Predictor());
        plain.AddKeyedChatClient("c", new FakeChatClient("c"));
        plain.AddEccos().AddModel("c", Pools.Cheap);

        await using ServiceProvider a = withFake.BuildServiceProvider();
        await using ServiceProvider b = plain.BuildServiceProvider();

        Assert.Multiple(() =>
        {
            Assert.That(a.GetRequiredKeyedService<EccosChatClient>("eccos").Time, Is.SameAs(fake));
            Assert.That(b.GetRequiredKeyedService<EccosChatClient>("eccos").Time, Is.SameAs(TimeProvider.System));
        });
    }

    [Test]
    public async Task Named_routers_are_independent_and_misconfiguration_is_reported_clearly()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IPredictor>(Pools.Predictor());
        services.AddKeyedChatClient("c", new FakeChatClient("c"));
        services.AddEccos("a", o => o.QualityTarget = 0.1).AddModel("c", Pools.Cheap);
        services.AddEccos("b", o => o.QualityTarget = 0.9).AddModel("c", Pools.Cheap).AddModel("missing", Pools.Strong);

        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Multiple(() =>
        {
            Assert.That(provider.GetRequiredKeyedService<EccosChatClient>("a").QualityTarget, Is.EqualTo(0.1));
            Assert.That(() => provider.GetRequiredKeyedService<EccosChatClient>("b"),
                Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("model 'strong' uses the IChatClient keyed 'missing'"));
            Assert.That(() => services.AddEccos("a"), Throws.ArgumentException.With.Message.Contains("'a' is already registered"));
            Assert.That(() => services.AddEccos("a2").AddModel("c", Pools.Cheap).AddModel("d", Pools.Cheap),
                Throws.ArgumentException.With.Message.Contains("'cheap' is already in the pool"));
        });
    }

    [Test]
    public void A_missing_keyed_client_no_predictor_or_a_malformed_history_fail_at_start_not_at_first_use()
    {
        // Regression: these passed ValidateOnStart and failed only when the router was first resolved.
        var missingClient = new ServiceCollection();
        missingClient.AddSingleton<IPredictor>(Pools.Predictor());
        missingClient.AddEccos("a").AddModel("nowhere", Pools.Cheap);

        var noPredictor = new ServiceCollection();
        noPredictor.AddKeyedChatClient("c", new FakeChatClient("c"));
        noPredictor.AddEccos("b").AddModel("c", Pools.Cheap);

        var badHistory = new ServiceCollection();
        badHistory.AddKeyedChatClient("c", new FakeChatClient("c"));
        badHistory.AddEccos("c").AddModel("c", Pools.Cheap)
            .UseKnnPredictor(_ => [new OutcomeRecord("h1", "hello", 3, [new ModelOutcome("cheap", 7, 10)])]);

        var otherModels = new ServiceCollection();
        otherModels.AddKeyedChatClient("c", new FakeChatClient("c"));
        otherModels.AddEccos("d").AddModel("c", Pools.Cheap)
            .UseKnnPredictor(_ => [new OutcomeRecord("h1", "hello", 3, [new ModelOutcome("gpt-4o", 1, 10)])]);

        Assert.Multiple(() =>
        {
            Assert.That(() => Start(missingClient), Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("model 'cheap' uses the IChatClient keyed 'nowhere', which is not registered"));
            Assert.That(() => Start(noPredictor), Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("Eccos router 'b': set a predictor"));
            Assert.That(() => Start(badHistory), Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("the predictor could not be created").And.Message.Contains("'h1'"));
            Assert.That(() => Start(otherModels), Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("names none of the pool's models (cheap)").And.Message.Contains("gpt-4o"));
        });

        static void Start(ServiceCollection services)
        {
            using ServiceProvider provider = services.BuildServiceProvider();
            provider.GetRequiredService<IStartupValidator>().Validate();
        }
    }

    [Test]
    public async Task The_predictor_started_by_the_start_check_is_the_one_the_router_uses()
    {
        int created = 0;
        var services = new ServiceCollection();
        services.AddKeyedChatClient("c", new FakeChatClient("c"));
        services.AddEccos().AddModel("c", Pools.Cheap).UsePredictor((_, _) =>
        {
            Interlocked.Increment(ref created);
            return Task.FromResult<IPredictor>(Pools.Predictor());
        });
        await using ServiceProvider provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        await provider.GetRequiredService<IChatClient>().GetResponseAsync(Hello).Within();
        Assert.That(created, Is.EqualTo(1));
    }
}
