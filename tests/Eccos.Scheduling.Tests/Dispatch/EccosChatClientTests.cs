using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

public class EccosChatClientTests
{
    private static readonly ChatMessage[] Hello = [new(ChatRole.User, "What is 2 + 2?")];

    [Test]
    public async Task Before_any_solve_routes_to_the_cheapest_model_predicted_to_reach_alpha()
    {
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7);
        await using EccosChatClient router = builder.Build();

        ChatResponse response = await router.GetResponseAsync(Hello).Within();

        var decision = (EccosDecision)response.AdditionalProperties![EccosDecision.PropertyKey]!;
        Assert.Multiple(() =>
        {
            Assert.That(response.Text, Is.EqualTo("answer from mid"));
            Assert.That((cheap.Calls, mid.Calls, strong.Calls), Is.EqualTo((0, 1, 0)));
            Assert.That(decision.Model, Is.EqualTo("mid"));
            Assert.That(decision.Reason, Is.EqualTo(EccosRouteReason.Scheduled));
            Assert.That(decision.Prices, Is.Null);
            Assert.That(decision.Candidates.Select(c => c.Model), Is.EqualTo(Seq("cheap", "mid", "strong")));
            Assert.That(decision.Candidates.Single(c => c.Model == decision.Model).PredictedQuality, Is.EqualTo(0.8));
            Assert.That(decision.Attempts, Has.Count.EqualTo(1));
            Assert.That(decision.Attempts[0].Error, Is.Null);
        });
    }

    [Test]
    public async Task Online_prices_come_from_a_solve_and_score_requests()
    {
        var solver = new FakeSolver { Lambda = 0 };
        var (builder, cheap, _, _) = Pools.Three(alpha: 0.6);
        await using EccosChatClient router = builder.UseSolver(solver)
            .WarmUpWith(Enumerable.Range(0, 10).Select(i => new SchedulingQuery("q" + i, 10)))
            .Build();

        await Pools.Eventually(() => router.CurrentPrices is not null);
        EccosPrices prices = router.CurrentPrices!;
        ChatResponse response = await router.GetResponseAsync(Hello).Within();
        var decision = (EccosDecision)response.AdditionalProperties![EccosDecision.PropertyKey]!;

        // Every query at cheap (0.5) misses α = 0.6, at mid (0.8) meets it: λ is raised from the solver's 0 until mid wins.
        double perQuery = prices.QualityPrice / prices.WindowSize;
        Assert.Multiple(() =>
        {
            Assert.That(solver.Calls, Is.GreaterThanOrEqualTo(1));
            Assert.That(prices.WindowSize, Is.EqualTo(10));
            Assert.That(prices.Status, Is.EqualTo(AssignmentStatus.Feasible));
            Assert.That(prices.QualityPrice, Is.GreaterThan(0));
            Assert.That(0.01 - (perQuery * 0.8), Is.LessThanOrEqualTo(0.001 - (perQuery * 0.5)).Within(1e-9));
            Assert.That(decision.Model, Is.EqualTo("mid"));
            Assert.That(decision.Prices, Is.SameAs(prices));
            Assert.That(decision.Candidates.Single(c => c.Model == decision.Model).Score, Is.EqualTo(0.01 - (perQuery * 0.8)).Within(1e-12));
            Assert.That(cheap.Calls, Is.Zero);
        });
    }

    [Test]
    public async Task Capacity_prices_move_traffic_off_a_model()
    {
        // The solver says mid's capacity is scarce (μ_mid large): strong becomes the better score.
        var solver = new FakeSolver { Lambda = 100, Mu = [0, 1, 0] };
        var (builder, _, mid, strong) = Pools.Three(alpha: 0.0);
        await using EccosChatClient router = builder.UseSolver(solver).WarmUpWith([new SchedulingQuery("q", 10)]).Build();
        await Pools.Eventually(() => router.CurrentPrices is not null);

        await router.GetResponseAsync(Hello).Within();

        Assert.That((mid.Calls, strong.Calls), Is.EqualTo((0, 1)));
    }

    [Test]
    public async Task Streaming_returns_every_update_and_the_decision_on_the_first()
    {
        var (builder, _, mid, _) = Pools.Three();
        await using EccosChatClient router = builder.Build();

        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(Hello))
        {
            updates.Add(update);
        }

        Assert.Multiple(() =>
        {
            Assert.That(updates.ToChatResponse().Text, Is.EqualTo("answer from mid"));
            Assert.That(updates[0].AdditionalProperties![EccosDecision.PropertyKey], Is.InstanceOf<EccosDecision>());
            Assert.That(((EccosDecision)updates[0].AdditionalProperties![EccosDecision.PropertyKey]!).Model, Is.EqualTo("mid"));
            Assert.That(mid.Calls, Is.EqualTo(1));
            Assert.That(router.GetInFlight("mid"), Is.Zero);
        });
    }

    [Test]
    public async Task A_failed_call_fails_over_to_the_next_best_model()
    {
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7);
        mid.Respond = (_, _, _) => throw new HttpRequestException("503 from mid");
        await using EccosChatClient router = builder.Build();

        ChatResponse response = await router.GetResponseAsync(Hello).Within();

        var decision = (EccosDecision)response.AdditionalProperties![EccosDecision.PropertyKey]!;
        Assert.Multiple(() =>
        {
            // threshold order: mid (meets α, cheapest), strong (meets α), cheap
            Assert.That(response.Text, Is.EqualTo("answer from strong"));
            Assert.That((cheap.Calls, mid.Calls, strong.Calls), Is.EqualTo((0, 1, 1)));
            Assert.That(decision.Attempts.Select(a => a.Model), Is.EqualTo(Seq("mid", "strong")));
            Assert.That(decision.Attempts[0].Error, Is.InstanceOf<HttpRequestException>());
            Assert.That(decision.Attempts[1].Error, Is.Null);
            Assert.That(router.GetInFlight("mid") + router.GetInFlight("strong"), Is.Zero);
        });
    }

    [Test]
    public async Task Streaming_fails_over_before_the_first_update()
    {
        var (builder, _, mid, strong) = Pools.Three(alpha: 0.7);
        mid.Stream = (_, _, _) => Failing(0);
        await using EccosChatClient router = builder.Build();

        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(Hello))
        {
            updates.Add(update);
        }

        var decision = (EccosDecision)updates[0].AdditionalProperties![EccosDecision.PropertyKey]!;
        Assert.Multiple(() =>
        {
            Assert.That(updates.ToChatResponse().Text, Is.EqualTo("answer from strong"));
            Assert.That((mid.Calls, strong.Calls), Is.EqualTo((1, 1)));
            Assert.That(decision.Attempts.Select(a => a.Model), Is.EqualTo(Seq("mid", "strong")));
        });
    }

    [Test]
    public async Task Streaming_error_after_the_first_update_reaches_the_caller_and_no_other_model_is_tried()
    {
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7);
        mid.Stream = (_, _, _) => Failing(2);
        await using EccosChatClient router = builder.Build();

        var received = new List<ChatResponseUpdate>();
        var ex = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(Hello))
            {
                received.Add(update);
            }
        });

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Is.EqualTo("connection reset after 2 updates"));
            Assert.That(received, Has.Count.EqualTo(2));
            Assert.That((cheap.Calls, mid.Calls, strong.Calls), Is.EqualTo((0, 1, 0)));
            Assert.That(router.GetInFlight("mid"), Is.Zero);
        });
    }

    [Test]
    public async Task When_every_try_fails_the_exception_lists_each_attempt_once()
    {
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7);
        foreach (FakeChatClient c in new[] { cheap, mid, strong })
        {
            string name = c.Name;
            c.Respond = (_, _, _) => throw new InvalidOperationException("down: " + name);
        }

        await using EccosChatClient router = builder.Build();

        var ex = await Assert.ThrowsAsync<EccosRoutingException>(() => router.GetResponseAsync(Hello));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Attempts.Select(a => a.Model), Is.EqualTo(Seq("mid", "strong", "cheap")));
            Assert.That(ex.Attempts.Select(a => a.Error!.Message), Is.EqualTo(Seq("down: mid", "down: strong", "down: cheap")));
            Assert.That(ex.Message, Does.Contain("down: mid").And.Contain("down: cheap"));
            Assert.That(ex.InnerException!.Message, Is.EqualTo("down: cheap"));
            Assert.That((cheap.Calls, mid.Calls, strong.Calls), Is.EqualTo((1, 1, 1)));
            Assert.That(ex.Decision!.Model, Is.Null);
        });
    }

    [Test]
    public async Task MaxAttempts_bounds_the_failovers()
    {
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7);
        foreach (FakeChatClient c in new[] { cheap, mid, strong })
        {
            c.Respond = (_, _, _) => throw new InvalidOperationException("down");
        }

        await using EccosChatClient router = builder.Configure(o => o.MaxAttempts = 2).Build();

        var ex = await Assert.ThrowsAsync<EccosRoutingException>(() => router.GetResponseAsync(Hello));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Attempts, Has.Count.EqualTo(2));
            Assert.That(cheap.Calls, Is.Zero);
        });
    }

    [Test]
    public async Task The_callers_cancellation_is_final_no_failover()
    {
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        mid.Respond = async (_, _, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return FakeChatClient.Answer("never");
        };
        await using EccosChatClient router = builder.Build();
        using var cts = new CancellationTokenSource();

        Task<ChatResponse> call = router.GetResponseAsync(Hello, cancellationToken: cts.Token);
        await started.Task.Within();
        await cts.CancelAsync();

        Assert.That(async () => await call.Within(), Throws.InstanceOf<OperationCanceledException>());
        Assert.Multiple(() =>
        {
            Assert.That((cheap.Calls, mid.Calls, strong.Calls), Is.EqualTo((0, 1, 0)));
            Assert.That(router.GetInFlight("mid"), Is.Zero);
        });
    }

    [Test]
    public async Task A_cancellation_that_is_not_the_callers_is_an_error_and_fails_over()
    {
        var (builder, _, mid, strong) = Pools.Three(alpha: 0.7);
        mid.Respond = (_, _, _) => throw new TaskCanceledException("HttpClient timeout");
        await using EccosChatClient router = builder.Build();

        ChatResponse response = await router.GetResponseAsync(Hello).Within();

        Assert.That((response.Text, strong.Calls), Is.EqualTo(("answer from strong", 1)));
    }

    [Test]
    public async Task A_busy_model_spills_to_the_next_best_one_with_a_free_slot()
    {
        var (builder, _, mid, strong) = Pools.Three(alpha: 0.7, capacity: 1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        mid.Respond = async (_, _, _) =>
        {
            await release.Task;
            return FakeChatClient.Answer("answer from mid");
        };
        await using EccosChatClient router = builder.Build();

        Task<ChatResponse> first = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => mid.InFlight == 1);
        ChatResponse second = await router.GetResponseAsync(Hello).Within();
        release.SetResult();

        Assert.Multiple(async () =>
        {
            Assert.That((await first.Within()).Text, Is.EqualTo("answer from mid"));
            Assert.That(second.Text, Is.EqualTo("answer from strong"));
            Assert.That(mid.MaxInFlight, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task When_every_slot_is_taken_requests_wait_in_a_bounded_queue_then_fail_fast()
    {
        var (builder, only, release) = Pools.OneBlockingModel();
        await using EccosChatClient router = builder.Configure(o => o.MaxQueueLength = 1).Build();

        Task<ChatResponse> running = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => only.InFlight == 1);
        Task<ChatResponse> queued = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => router.Waiting == 1);

        var rejected = await Assert.ThrowsAsync<EccosQueueFullException>(() => router.GetResponseAsync(Hello));
        Assert.That(rejected!.Message, Does.Contain("only").And.Contain("queue of 1 is full"));
        Assert.That(queued.IsCompleted, Is.False);

        release.SetResult();
        await Task.WhenAll(running, queued).Within();
        var waited = (EccosDecision)queued.Result.AdditionalProperties![EccosDecision.PropertyKey]!;
        Assert.Multiple(() =>
        {
            Assert.That(only.Calls, Is.EqualTo(2));
            Assert.That(only.MaxInFlight, Is.EqualTo(1));
            Assert.That(waited.Attempts[0].QueueWait, Is.GreaterThan(TimeSpan.Zero));
        });
    }

    [Test]
    public async Task Waiting_for_a_slot_is_cancellable_and_leaves_the_queue()
    {
        var (builder, only, release) = Pools.OneBlockingModel();
        await using EccosChatClient router = builder.Build();

        Task<ChatResponse> running = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => only.InFlight == 1);
        using var cts = new CancellationTokenSource();
        Task<ChatResponse> queued = router.GetResponseAsync(Hello, cancellationToken: cts.Token);
        await Pools.Eventually(() => router.Waiting == 1);
        await cts.CancelAsync();

        Assert.That(async () => await queued.Within(), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(router.Waiting, Is.Zero);
        release.SetResult();
        await running.Within();
        await router.GetResponseAsync(Hello).Within();
        Assert.Multiple(() =>
        {
            Assert.That(only.Calls, Is.EqualTo(2));
            Assert.That(router.GetInFlight("only"), Is.Zero);
        });
    }

    [Test]
    public async Task A_conversation_stays_with_the_model_that_holds_it_until_it_expires()
    {
        var time = new FakeTimeProvider();
        var (builder, cheap, mid, _) = Pools.Three(alpha: 0.7);
        cheap.Respond = (_, o, _) => Task.FromResult(FakeChatClient.Answer("cheap", conversationId: o?.ConversationId ?? "conv-1"));
        await using EccosChatClient router = builder.Configure(o => o.ConversationExpiry = TimeSpan.FromMinutes(5)).Build(TestServices.With(time));

        // Start the conversation on cheap (pinned), which returns conversation id "conv-1".
        await router.GetResponseAsync(Hello, new ChatOptions { ModelId = "cheap" }).Within();
        ChatResponse next = await router.GetResponseAsync(Hello, new ChatOptions { ConversationId = "conv-1" }).Within();
        var decision = (EccosDecision)next.AdditionalProperties![EccosDecision.PropertyKey]!;

        time.Advance(TimeSpan.FromMinutes(6));
        await router.GetResponseAsync(Hello, new ChatOptions { ConversationId = "conv-1" }).Within();

        Assert.Multiple(() =>
        {
            Assert.That(decision.Model, Is.EqualTo("cheap"));
            Assert.That(decision.Reason, Is.EqualTo(EccosRouteReason.ConversationAffinity));
            Assert.That(cheap.Calls, Is.EqualTo(2));
            Assert.That(mid.Calls, Is.EqualTo(1), "after expiry the conversation is routed afresh");
        });
    }

    [Test]
    public async Task A_pool_model_named_in_ModelId_is_pinned_and_the_alias_is_not_sent_to_the_provider()
    {
        var (builder, cheap, _, _) = Pools.Three(alpha: 0.7);
        await using EccosChatClient router = builder.Build();

        ChatResponse response = await router.GetResponseAsync(Hello, new ChatOptions { ModelId = "cheap", Temperature = 0.5f }).Within();

        Assert.That(cheap.SeenOptions.TryPeek(out ChatOptions? sent), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(response.Text, Is.EqualTo("answer from cheap"));
            Assert.That(((EccosDecision)response.AdditionalProperties![EccosDecision.PropertyKey]!).Reason, Is.EqualTo(EccosRouteReason.Pinned));
            Assert.That(sent!.ModelId, Is.Null);
            Assert.That(sent.Temperature, Is.EqualTo(0.5f));
        });
    }

    [Test]
    public async Task A_model_id_override_is_put_into_the_options_without_touching_the_callers()
    {
        var client = new FakeChatClient("x");
        await using EccosChatClient router = new EccosBuilder()
            .AddModel(client, new ModelProfile("x", 1, 1), modelId: "gpt-4o-mini")
            .UsePredictor(new FakePredictor(new Dictionary<string, (double, double)> { ["x"] = (0.9, 0.01) }))
            .Build();
        var options = new ChatOptions { Temperature = 0.5f };

        await router.GetResponseAsync(Hello, options).Within();

        Assert.That(client.SeenOptions.TryPeek(out ChatOptions? sent), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(sent!.ModelId, Is.EqualTo("gpt-4o-mini"));
            Assert.That(sent.Temperature, Is.EqualTo(0.5f));
            Assert.That(options.ModelId, Is.Null, "the caller's options are not changed");
        });
    }

    [Test]
    public async Task A_model_id_pins_by_pool_name_or_provider_id_and_one_naming_no_pool_model_is_refused()
    {
        // Regression: a ModelId naming no pool model was forwarded as-is to whichever model the router chose.
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7);
        var large = new FakeChatClient("large");
        await using EccosChatClient router = builder.AddModel(large, new ModelProfile("large", 3, 9), modelId: "provider-large").Build();

        await router.GetResponseAsync(Hello, new ChatOptions { ModelId = "cheap" }).Within();
        await router.GetResponseAsync(Hello, new ChatOptions { ModelId = "provider-large" }).Within();
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => router.GetResponseAsync(Hello, new ChatOptions { ModelId = "gpt-4o" }));
        Assert.Multiple(() =>
        {
            Assert.That((cheap.Calls, large.Calls, mid.Calls + strong.Calls), Is.EqualTo((1, 1, 0)));
            Assert.That(refused!.Message, Does.Contain("'gpt-4o' names no model of the pool (cheap, mid, strong, large)"));
            Assert.That(refused.ParamName, Is.EqualTo("options"));
        });
    }

    [Test]
    public async Task A_failing_predictor_routes_by_list_price_and_the_request_is_served()
    {
        var predictor = Pools.Predictor();
        predictor.Throw = new InvalidOperationException("model file missing");
        var (builder, cheap, _, _) = Pools.Three(alpha: 0.7, predictor: predictor);
        await using EccosChatClient router = builder.Build();

        ChatResponse response = await router.GetResponseAsync(Hello).Within();

        Assert.That((response.Text, cheap.Calls), Is.EqualTo(("answer from cheap", 1)));
    }

    [Test]
    public async Task GetService_exposes_the_router_its_metadata_prices_and_pool_clients_by_name()
    {
        var (builder, cheap, _, _) = Pools.Three();
        await using EccosChatClient router = builder.Build();
        IChatClient client = router;

        Assert.Multiple(() =>
        {
            Assert.That(client.GetService<EccosChatClient>(), Is.SameAs(router));
            Assert.That(client.GetService<ChatClientMetadata>()!.ProviderName, Is.EqualTo("eccos"));
            Assert.That(client.GetService<IChatClient>("cheap"), Is.SameAs(cheap));
            Assert.That(client.GetService<ModelProfile>("strong")!.Name, Is.EqualTo("strong"));
            Assert.That(client.GetService<IChatClient>("nope"), Is.Null);
            Assert.That(client.GetService<EccosPrices>(), Is.Null);
            Assert.That(router.Models.Select(m => m.Name), Is.EqualTo(Seq("cheap", "mid", "strong")));
        });
    }

    [Test]
    public async Task Composes_with_ChatClientBuilder_middleware()
    {
        var (builder, _, mid, _) = Pools.Three();
        await using EccosChatClient router = builder.Build();
        IChatClient pipeline = router.AsBuilder().UseOpenTelemetry().Build();

        ChatResponse response = await pipeline.GetResponseAsync(Hello).Within();

        Assert.Multiple(() =>
        {
            Assert.That(response.Text, Is.EqualTo("answer from mid"));
            Assert.That(pipeline.GetService<EccosChatClient>(), Is.SameAs(router));
        });
    }

    [Test]
    public async Task Disposal_lets_calls_in_flight_finish_fails_waiters_refuses_new_requests_and_disposes_owned_clients()
    {
        var owned = new FakeChatClient("owned");
        var borrowed = new FakeChatClient("borrowed");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        owned.Respond = async (_, _, _) =>
        {
            await release.Task;
            return FakeChatClient.Answer("late but fine");
        };
        EccosChatClient router = new EccosBuilder()
            .AddModel(owned, new ModelProfile("owned", 0.1, 0.1, capacity: 1), ownsClient: true)
            .AddModel(borrowed, new ModelProfile("borrowed", 1, 1, capacity: 0))
            .UsePredictor(new FakePredictor(new Dictionary<string, (double, double)> { ["owned"] = (0.9, 0.01), ["borrowed"] = (0.9, 0.1) }))
            .Build();

        Task<ChatResponse> inFlight = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => owned.InFlight == 1);
        Task<ChatResponse> waiting = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => router.Waiting == 1);

        ValueTask disposing = router.DisposeAsync();
        Assert.That(async () => await waiting.Within(), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => router.GetResponseAsync(Hello), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(owned.Disposed, Is.False, "not while its call is in flight");

        release.SetResult();
        Assert.That((await inFlight.Within()).Text, Is.EqualTo("late but fine"));
        await disposing.AsTask().Within();
        Assert.Multiple(() =>
        {
            Assert.That(owned.Disposed, Is.True);
            Assert.That(borrowed.Disposed, Is.False);
            Assert.That(router.Online!.Completion.IsCompleted, Is.True);
        });
        await router.DisposeAsync(); // idempotent
        router.Dispose();
    }

    [Test]
    public void Builder_rejects_bad_input_with_clear_messages()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new EccosBuilder().UsePredictor(Pools.Predictor()).Build(),
                Throws.InvalidOperationException.With.Message.Contains("add at least one model"));
            Assert.That(() => new EccosBuilder().AddModel(new FakeChatClient("a"), Pools.Cheap).Build(),
                Throws.InvalidOperationException.With.Message.Contains("predictor"));
            Assert.That(() => new EccosBuilder().AddModel(new FakeChatClient("a"), Pools.Cheap).AddModel(new FakeChatClient("b"), Pools.Cheap),
                Throws.ArgumentException.With.Message.Contains("'cheap' is already in the pool"));
            Assert.That(() => new EccosBuilder().WithQualityTarget(1.5),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("alpha"));
            Assert.That(() => Pools.Three().Builder.Configure(o => { o.MaxAttempts = 0; o.BatchWindow = TimeSpan.Zero; }).Build(),
                Throws.InstanceOf<Microsoft.Extensions.Options.OptionsValidationException>()
                    .With.Message.Contains("EccosOptions.MaxAttempts is 0; it must be at least 1")
                    .And.Message.Contains("EccosOptions.BatchWindow"));
        });
    }

    private static string[] Seq(params string[] items) => items;

    private static async IAsyncEnumerable<ChatResponseUpdate> Failing(int after)
    {
        for (int i = 0; i < after; i++)
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, "part" + i);
        }

        await Task.Yield();
        throw after == 0 ? new HttpRequestException("refused") : new IOException($"connection reset after {after} updates");
    }
}
