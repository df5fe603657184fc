using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

/// <summary>Each fault a black-box probe of the router found (issue 10), as a test that failed before its fix.</summary>
public class FaultRegressionTests
{
    private static readonly ChatMessage[] Hello = [new(ChatRole.User, "hi")];

    [Test]
    public async Task Batched_a_request_whose_batch_is_being_predicted_ends_at_dispose_and_dispose_does_not_wait_the_shutdown_timeout()
    {
        var predicting = new TaskCompletionSource();
        var predictor = new BlockingPredictor(predicting);
        var only = new FakeChatClient("only");
        EccosChatClient router = new EccosBuilder().AddModel(only, new ModelProfile("only", 1, 1))
            .UsePredictor(predictor)
            .Configure(o => { o.Mode = EccosMode.Batched; o.BatchSize = 1; o.ShutdownTimeout = TimeSpan.FromMinutes(10); })
            .Build();

        Task<ChatResponse> request = router.GetResponseAsync(Hello);
        await predicting.Task.Within(); // the batch is being predicted (the predictor waits for its cancellation)
        Task disposed = router.DisposeAsync().AsTask();

        Assert.That(async () => await request.Within(), Throws.InstanceOf<ObjectDisposedException>(), "the request ends, it does not hang");
        await disposed.Within(); // and disposal does not sit out the ten-minute shutdown timeout
    }

    [Test]
    public async Task A_call_that_never_ends_is_cancelled_after_the_shutdown_timeout()
    {
        var time = new FakeTimeProvider();
        bool cancelled = false;
        var hung = new FakeChatClient("hung")
        {
            Respond = async (_, _, ct) =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    cancelled = true;
                    throw;
                }

                return FakeChatClient.Answer("never");
            },
        };
        EccosChatClient router = new EccosBuilder().AddModel(hung, new ModelProfile("hung", 1, 1))
            .UsePredictor(new FakePredictor(new Dictionary<string, (double, double)> { ["hung"] = (0.9, 0.01) }))
            .Configure(o => { o.ShutdownTimeout = TimeSpan.FromSeconds(5); o.AttemptTimeout = null; })
            .Build(TestServices.With(time));

        Task<ChatResponse> request = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => hung.InFlight == 1);
        Task disposed = router.DisposeAsync().AsTask();
        await Task.Delay(50);
        time.Advance(TimeSpan.FromSeconds(5));

        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => request.Within());
        Assert.Multiple(() =>
        {
            Assert.That(cancelled, Is.True, "the client's call got a cancelled token");
            Assert.That(error!.Message, Does.Contain("cancelled after the shutdown timeout"));
        });
        await disposed.Within();
    }

    [Test]
    public async Task A_sink_that_never_returns_does_not_block_disposal()
    {
        var sink = new NeverSink();
        var (builder, _, _, _) = Pools.Three();
        EccosChatClient router = builder.AddOutcomeSink(sink).Configure(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200)).Build();
        await router.GetResponseAsync(Hello).Within();
        await Pools.Eventually(() => sink.Entered);

        await router.DisposeAsync().AsTask().Within(5_000);
    }

    [Test]
    public async Task A_null_response_or_a_null_message_is_a_failure_that_frees_the_slot_and_fails_over()
    {
        var nothing = new FakeChatClient("cheap") { Respond = (_, _, _) => Task.FromResult<ChatResponse>(null!) };
        var hollow = new FakeChatClient("mid") { Respond = (_, _, _) => Task.FromResult(new ChatResponse([null!])) };
        var strong = new FakeChatClient("strong");
        await using EccosChatClient router = new EccosBuilder()
            .AddModel(nothing, Pools.Cheap.WithCapacity(1))
            .AddModel(hollow, Pools.Mid.WithCapacity(1))
            .AddModel(strong, Pools.Strong.WithCapacity(1))
            .UsePredictor(new FakePredictor(new Dictionary<string, (double, double)> { ["cheap"] = (0.9, 0.001), ["mid"] = (0.9, 0.002), ["strong"] = (0.9, 0.05) }))
            .Build();

        ChatResponse response = await router.GetResponseAsync(Hello).Within();
        var decision = (EccosDecision)response.AdditionalProperties![EccosDecision.PropertyKey]!;
        Assert.Multiple(() =>
        {
            Assert.That(decision.Model, Is.EqualTo("strong"));
            Assert.That(decision.Attempts[0].Error!.Message, Does.Contain("'cheap' returned no response"));
            Assert.That(decision.Attempts[1].Error!.Message, Does.Contain("'mid' returned a response with a null message"));
            Assert.That(router.GetInFlight("cheap") + router.GetInFlight("mid") + router.GetInFlight("strong"), Is.Zero, "every slot came back");
        });
    }

    [Test]
    public void A_null_message_in_the_request_is_an_argument_error_naming_it()
    {
        var (builder, _, _, _) = Pools.Three();
        using EccosChatClient router = builder.Build();
        Assert.Multiple(() =>
        {
            Assert.That(() => router.GetResponseAsync([new ChatMessage(ChatRole.User, "a"), null!]),
                Throws.ArgumentException.With.Message.Contains("messages[1] is null").And.Property("ParamName").EqualTo("messages"));
            Assert.That(() => router.GetStreamingResponseAsync([null!]),
                Throws.ArgumentException.With.Message.Contains("messages[0] is null"));
        });
    }

    [Test]
    public async Task A_client_that_returns_one_shared_response_object_never_mixes_up_the_callers_decisions()
    {
        // Regression: the router wrote its decision into the client's response; with one shared object, 335 of 3,200
        // callers read another request's decision.
        ChatResponse shared = FakeChatClient.Answer("same object");
        var only = new FakeChatClient("only") { Respond = (_, _, _) => Task.FromResult(shared) };
        await using EccosChatClient router = new EccosBuilder().AddModel(only, new ModelProfile("only", 1, 1))
            .UsePredictor(new FakePredictor(new Dictionary<string, (double, double)> { ["only"] = (0.9, 0.01) }))
            .Build();

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            var options = new ChatOptions { AdditionalProperties = new() { [EccosChatClient.QueryIdPropertyKey] = $"q{i}" } };
            ChatResponse r = await router.GetResponseAsync(Hello, options);
            return (Expected: $"q{i}", Seen: ((EccosDecision)r.AdditionalProperties![EccosDecision.PropertyKey]!).Query.Id);
        })).Within();

        Assert.Multiple(() =>
        {
            Assert.That(results.Where(r => r.Expected != r.Seen), Is.Empty);
            Assert.That(shared.AdditionalProperties?.ContainsKey(EccosDecision.PropertyKey) ?? false, Is.False, "the client's object is not changed");
        });
    }

    [Test]
    public void Options_past_what_a_timer_or_the_price_window_can_hold_fail_at_build_naming_the_option()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => Build(o => o.PriceRefreshInterval = TimeSpan.FromDays(60)),
                Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("EccosOptions.PriceRefreshInterval").And.Message.Contains("49 days"));
            Assert.That(() => Build(o => o.PriceWindowSize = int.MaxValue),
                Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("EccosOptions.PriceWindowSize"));
            Assert.That(() => Build(o => o.Models["nope"] = new EccosModelOptions()),
                Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("EccosOptions.Models['nope'] names no model of the pool"));
            Assert.That(() => Build(o => o.Models["cheap"] = new EccosModelOptions { RequestsPerMinute = 0, LimitGroup = "none" }),
                Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("EccosOptions.Models['cheap'].RequestsPerMinute is 0")
                    .And.Message.Contains("LimitGroup is 'none'"));
            Assert.That(() => Build(o => o.AttemptTimeout = TimeSpan.Zero),
                Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("EccosOptions.AttemptTimeout"));
            Assert.That(() => new EccosBuilder().AddModel(new FakeChatClient("a"), new ModelProfile("a", 1, 1, capacity: 0))
                    .AddModel(new FakeChatClient("b"), new ModelProfile("b", 1, 1, capacity: 0)).UsePredictor(Pools.Predictor()).Build(),
                Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("Every model of the pool (a, b) has capacity 0"));
        });

        static EccosChatClient Build(Action<EccosOptions> configure)
        {
            var (builder, _, _, _) = Pools.Three();
            return builder.Configure(configure).Build();
        }
    }

    [Test]
    public void A_knn_history_that_names_no_pool_model_fails_the_build()
    {
        // Regression: it was accepted and predicted quality 1.000 for every model.
        OutcomeRecord[] history = [new OutcomeRecord("h1", "hello there", 3, [new ModelOutcome("gpt-4o", 1, 10)])];
        Assert.That(() => new EccosBuilder().AddModel(new FakeChatClient("cheap"), Pools.Cheap).UseKnnPredictor(history).Build(),
            Throws.ArgumentException.With.Message.Contains("names none of the pool's models (cheap)").And.Message.Contains("gpt-4o"));
    }

    /// <summary>Signals when asked to predict, then waits for its cancellation.</summary>
    private sealed class BlockingPredictor(TaskCompletionSource entered) : IPredictor
    {
        public async ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
        {
            entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return new PredictionMatrix(queries.Count, models);
        }
    }

    /// <summary>A sink that never returns and ignores cancellation.</summary>
    private sealed class NeverSink : IOutcomeSink
    {
        public bool Entered { get; private set; }

        public ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default)
        {
            Entered = true;
            return new ValueTask(new TaskCompletionSource().Task);
        }
    }
}
