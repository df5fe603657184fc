using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

public class BatchedModeTests
{
    private static readonly ChatMessage[] Hello = [new(ChatRole.User, "hi")];

    [Test]
    public async Task A_batch_closes_when_BatchSize_requests_wait_and_is_solved_jointly()
    {
        var time = new FakeTimeProvider();
        var solver = new FakeSolver();
        var (builder, cheap, _, _) = Pools.Three();
        await using EccosChatClient router = builder.UseSolver(solver)
            .Configure(o => { o.Mode = EccosMode.Batched; o.BatchSize = 4; o.BatchWindow = TimeSpan.FromHours(1); })
            .Build(TestServices.With(time));

        ChatResponse[] responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => router.GetResponseAsync(Hello))).Within();

        var decision = (EccosDecision)responses[0].AdditionalProperties![EccosDecision.PropertyKey]!;
        Assert.Multiple(() =>
        {
            Assert.That(solver.Seen.Single().Queries, Is.EqualTo(4));
            Assert.That(cheap.Calls, Is.EqualTo(4), "the test solver takes the cheapest model");
            Assert.That(decision.Reason, Is.EqualTo(EccosRouteReason.Batched));
            Assert.That(decision.Prices!.WindowSize, Is.EqualTo(4));
            Assert.That(decision.Candidates, Has.Count.EqualTo(3));
        });
    }

    [Test]
    public async Task A_batch_closes_when_its_window_has_passed_on_the_time_provider()
    {
        var time = new FakeTimeProvider();
        var solver = new FakeSolver();
        var (builder, _, _, _) = Pools.Three();
        await using EccosChatClient router = builder.UseSolver(solver)
            .Configure(o => { o.Mode = EccosMode.Batched; o.BatchSize = 100; o.BatchWindow = TimeSpan.FromMilliseconds(100); })
            .Build(TestServices.With(time));

        Task<ChatResponse>[] calls = [.. Enumerable.Range(0, 3).Select(_ => router.GetResponseAsync(Hello))];
        await Pools.Eventually(() => router.Batcher!.Waiting == 3);
        await Task.Delay(50);
        time.Advance(TimeSpan.FromMilliseconds(99));
        await Task.Delay(50);
        Assert.That(calls.Any(c => c.IsCompleted), Is.False, "nothing leaves before the window ends");

        for (int i = 0; i < 100 && !calls.All(c => c.IsCompleted); i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(1));
            await Task.Delay(10);
        }

        await Task.WhenAll(calls).Within();
        Assert.That(solver.Seen.Single().Queries, Is.EqualTo(3));
    }

    [Test]
    public async Task Deferred_requests_go_to_the_next_batch_when_a_slot_frees_and_are_never_lost()
    {
        var time = new FakeTimeProvider();
        var solver = new FakeSolver();
        var (builder, only, release) = Pools.OneBlockingModel();
        await using EccosChatClient router = builder
            .UseSolver(solver)
            .Configure(o => { o.Mode = EccosMode.Batched; o.BatchSize = 3; o.BatchWindow = TimeSpan.FromHours(1); })
            .Build(TestServices.With(time));

        Task<ChatResponse>[] calls = [.. Enumerable.Range(0, 3).Select(_ => router.GetResponseAsync(Hello))];
        await Pools.Eventually(() => only.InFlight == 1);
        Assert.That(router.Batcher!.Waiting, Is.EqualTo(2), "two deferred for lack of slots");

        release.SetResult();
        await Task.WhenAll(calls).Within();

        Assert.Multiple(() =>
        {
            Assert.That(only.Calls, Is.EqualTo(3));
            Assert.That(only.MaxInFlight, Is.EqualTo(1));
            Assert.That(solver.Seen.Select(s => s.Capacities[0]), Has.All.EqualTo(1), "each batch gets the free slots only");
            Assert.That(solver.Calls, Is.GreaterThanOrEqualTo(3));
        });
    }

    [Test]
    public async Task Waiting_for_a_batch_is_cancellable_and_disposal_fails_the_waiting_requests()
    {
        var time = new FakeTimeProvider();
        var (builder, cheap, _, _) = Pools.Three();
        EccosChatClient router = builder.UseSolver(new FakeSolver())
            .Configure(o => { o.Mode = EccosMode.Batched; o.BatchSize = 10; o.BatchWindow = TimeSpan.FromHours(1); })
            .Build(TestServices.With(time));
        using var cts = new CancellationTokenSource();

        Task<ChatResponse> cancelled = router.GetResponseAsync(Hello, cancellationToken: cts.Token);
        Task<ChatResponse> abandoned = router.GetResponseAsync(Hello);
        await Pools.Eventually(() => router.Batcher!.Waiting == 2);
        await cts.CancelAsync();

        Assert.That(async () => await cancelled.Within(), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(router.Batcher!.Waiting, Is.EqualTo(1));
        await router.DisposeAsync();
        Assert.Multiple(() =>
        {
            Assert.That(async () => await abandoned.Within(), Throws.InstanceOf<ObjectDisposedException>());
            Assert.That(router.Batcher.Completion.IsCompleted, Is.True);
            Assert.That(cheap.Calls, Is.Zero);
        });
    }
}
