using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

public class GateAndConversationTests
{
    [Test]
    public async Task Gate_hands_released_slots_to_waiters_in_order()
    {
        var gate = new ModelGate(capacity: 1, maxQueue: 2);
        Assert.That(gate.TryAcquire(), Is.True);
        Task<bool> first = gate.AcquireAsync(CancellationToken.None);
        Task<bool> second = gate.AcquireAsync(CancellationToken.None);
        Task<bool> third = gate.AcquireAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(third.IsCompletedSuccessfully && !third.Result, Is.True, "the queue is full");
            Assert.That(first.IsCompleted || second.IsCompleted, Is.False);
            Assert.That(gate.TryAcquire(), Is.False, "no overtaking while others wait");
        });

        gate.Release();
        Assert.That(await first.Within(), Is.True);
        Assert.That(second.IsCompleted, Is.False);
        gate.Release();
        Assert.That(await second.Within(), Is.True);
        gate.Release();
        Assert.Multiple(() =>
        {
            Assert.That(gate.InFlight, Is.Zero);
            Assert.That(gate.Waiting, Is.Zero);
        });
    }

    [Test]
    public async Task Gate_cancellation_and_close()
    {
        var gate = new ModelGate(capacity: 1, maxQueue: 5);
        gate.TryAcquire();
        using var cts = new CancellationTokenSource();
        Task<bool> cancelled = gate.AcquireAsync(cts.Token);
        Task<bool> closed = gate.AcquireAsync(CancellationToken.None);
        await cts.CancelAsync();

        Assert.That(async () => await cancelled, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(gate.Waiting, Is.EqualTo(1));
        gate.Close(new ObjectDisposedException("gate"));
        Assert.That(async () => await closed, Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => gate.AcquireAsync(CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>());
        gate.Release();
        Assert.That(gate.InFlight, Is.Zero);
    }

    [Test]
    public void Conversations_are_bounded_least_recently_used_first_and_expire()
    {
        var time = new FakeTimeProvider();
        var map = new ConversationMap(capacity: 2, TimeSpan.FromMinutes(10), time);
        map.Set("a", 0);
        map.Set("b", 1);
        Assert.That(map.TryGet("a", out _), Is.True); // a is now more recent than b
        map.Set("c", 2);

        Assert.Multiple(() =>
        {
            Assert.That(map.Count, Is.EqualTo(2));
            Assert.That(map.TryGet("b", out _), Is.False, "b was the least recently used");
            Assert.That(map.TryGet("a", out int a) && a == 0, Is.True);
            Assert.That(map.TryGet("c", out int c) && c == 2, Is.True);
        });

        time.Advance(TimeSpan.FromMinutes(11));
        Assert.That(map.TryGet("a", out _), Is.False);
        Assert.That(new ConversationMap(0, TimeSpan.FromMinutes(1), time).Count, Is.Zero);
    }
}
