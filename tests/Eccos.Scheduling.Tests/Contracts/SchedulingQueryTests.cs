namespace Eccos.Scheduling.Tests.Contracts;

public class SchedulingQueryTests
{
    [Test]
    public void A_query_keeps_what_it_was_given()
    {
        var q = new SchedulingQuery("Hello", 3, "greeting", "q1");
        Assert.Multiple(() =>
        {
            Assert.That(q.Text, Is.EqualTo("Hello"));
            Assert.That(q.InputTokens, Is.EqualTo(3));
            Assert.That(q.Task, Is.EqualTo("greeting"));
            Assert.That(q.Id, Is.EqualTo("q1"));
            Assert.That(new SchedulingQuery(string.Empty, 0).InputTokens, Is.Zero, "empty text and zero tokens are valid");
            Assert.That(q with { InputTokens = 5 }, Is.EqualTo(new SchedulingQuery("Hello", 5, "greeting", "q1")));
        });
    }

    [Test]
    public void Null_text_and_negative_tokens_are_refused_on_creation_and_by_with()
    {
        var q = new SchedulingQuery("Hello", 3);
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentNullException>(() => _ = new SchedulingQuery(null!, 1))!.ParamName, Is.EqualTo("Text"));
            ArgumentOutOfRangeException negative = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SchedulingQuery("x", -2))!;
            Assert.That(negative.ParamName, Is.EqualTo("InputTokens"));
            Assert.That(negative.ActualValue, Is.EqualTo(-2));
            Assert.That(Assert.Throws<ArgumentNullException>(() => _ = q with { Text = null! })!.ParamName, Is.EqualTo("Text"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = q with { InputTokens = -1 })!.ParamName, Is.EqualTo("InputTokens"));
        });
    }

    [Test]
    public void A_recorded_outcome_with_negative_tokens_cannot_become_a_query()
    {
        var record = new OutcomeRecord("r1", "text", -4, []);
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => record.ToQuery())!.ParamName, Is.EqualTo("InputTokens"));
    }
}
