using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

public class ConversationMapTests
{
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
