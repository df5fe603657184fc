using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Eccos.Scheduling.Tests.Dispatch;

/// <summary>The router with the library's own predictors and target calibration.</summary>
public class PredictorIntegrationTests
{
    [Test]
    public async Task UseKnnPredictor_routes_by_similar_past_queries_and_learns_from_traffic()
    {
        // "poet" is right on poems, "coder" on code; poet is cheaper.
        var history = new List<OutcomeRecord>();
        for (int i = 0; i < 40; i++)
        {
            bool isPoem = i % 2 == 0;
            string text = isPoem ? $"write a sonnet about the sea and moonlight verse {i}" : $"fix the null pointer exception in this java method {i}";
            history.Add(new OutcomeRecord("h" + i, text, 12, [new ModelOutcome("poet", isPoem ? 1 : 0, 50), new ModelOutcome("coder", isPoem ? 0 : 1, 80)]));
        }

        var poet = new FakeChatClient("poet");
        var coder = new FakeChatClient("coder");
        await using EccosChatClient router = new EccosBuilder()
            .AddModel(poet, new ModelProfile("poet", 0.1, 0.1))
            .AddModel(coder, new ModelProfile("coder", 1, 1))
            .UseKnnPredictor(history)
            .WithQualityTarget(0.9)
            .Build();

        ChatResponse code = await router.GetResponseAsync("fix the null pointer exception in my java method").Within();
        ChatResponse poem = await router.GetResponseAsync("write a sonnet about moonlight on the sea").Within();

        var onCode = ((EccosDecision)code.AdditionalProperties![EccosDecision.PropertyKey]!).Candidates;
        Assert.Multiple(() =>
        {
            Assert.That(code.Text, Is.EqualTo("answer from coder"));
            Assert.That(poem.Text, Is.EqualTo("answer from poet"));
            Assert.That(onCode.Single(c => c.Model == "coder").PredictedQuality, Is.GreaterThan(onCode.Single(c => c.Model == "poet").PredictedQuality));
        });

        var knn = (KnnPredictor)router.Predictor!;
        await Pools.Eventually(() => knn.Count == 42); // the two live calls were learned
    }

    [Test]
    public async Task A_target_curve_makes_the_router_solve_for_t_of_alpha()
    {
        var curve = new QualityTargetCurve([0.5, 0.8], [0.55, 0.9]);
        var (builder, _, mid, strong) = Pools.Three(alpha: 0.8);
        await using EccosChatClient router = builder.UseQualityTargetCurve(curve).Build();

        await router.GetResponseAsync("q").Within();

        Assert.Multiple(() =>
        {
            Assert.That(router.QualityTarget, Is.EqualTo(0.8));
            Assert.That(router.TargetOnPredictions, Is.EqualTo(0.9));
            Assert.That((mid.Calls, strong.Calls), Is.EqualTo((0, 1)), "mid's 0.8 no longer reaches t(0.8) = 0.9");
        });
    }

    [Test]
    public async Task Dependency_injection_builds_a_kNN_router_from_a_history_and_a_target_curve()
    {
        var services = new ServiceCollection();
        services.AddKeyedChatClient("a", new FakeChatClient("a"));
        services.AddEccos(o => o.QualityTarget = 0.5)
            .AddModel("a", new ModelProfile("a", 1, 1))
            .UseKnnPredictor(_ => [new OutcomeRecord("h", "hello there", 3, [new ModelOutcome("a", 1, 10)])])
            .UseQualityTargetCurve(QualityTargetCurve.Identity);
        await using ServiceProvider provider = services.BuildServiceProvider();

        EccosChatClient router = provider.GetRequiredKeyedService<EccosChatClient>("eccos");
        ChatResponse response = await router.GetResponseAsync("hello").Within();

        Assert.Multiple(() =>
        {
            Assert.That(router.Predictor, Is.InstanceOf<KnnPredictor>());
            Assert.That(router.TargetOnPredictions, Is.EqualTo(0.5));
            Assert.That(response.Text, Is.EqualTo("answer from a"));
        });
    }
}
