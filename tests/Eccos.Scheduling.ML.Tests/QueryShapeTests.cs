namespace Eccos.Scheduling.ML.Tests;

[TestFixture]
public sealed class QueryShapeTests
{
    [Test]
    public void A_multiple_choice_prompt_is_split_into_question_and_options()
    {
        const string prompt = "Question: Which of these is NOT a prime? Compute 2^3 = x.\nOptions:\nA. 7\nB. 11\nC. 21\nD. thirteen\nAnswer:";

        var shape = QueryShape.Parse(prompt);

        Assert.Multiple(() =>
        {
            Assert.That(shape.OptionCount, Is.EqualTo(4));
            Assert.That(shape.NumericOptionShare, Is.EqualTo(0.75f));
            Assert.That(shape.Negation, Is.EqualTo(1));
            Assert.That(shape.LogNumberCount, Is.EqualTo(MathF.Log(1 + 2)), "2 and 3 in the question");
            Assert.That(shape.FormulaShare, Is.GreaterThan(0));
            Assert.That(shape.Content, Does.Not.Contain("Question:").And.Not.Contain("Options:").And.Not.Contain("Answer:"));
            Assert.That(shape.Content, Does.Not.Contain("A. ").And.Contain("thirteen"));
            Assert.That(shape.LogStemChars, Is.EqualTo(MathF.Log(1 + "Which of these is NOT a prime? Compute 2^3 = x. ".Length)));
        });
    }

    [Test]
    public void Free_text_is_all_question()
    {
        var shape = QueryShape.Parse("Write a haiku about the sea, knotted and calm.");

        Assert.Multiple(() =>
        {
            Assert.That(shape.OptionCount, Is.Zero);
            Assert.That(shape.LogMeanOptionChars, Is.Zero);
            Assert.That(shape.OptionLengthSpread, Is.Zero);
            Assert.That(shape.Negation, Is.Zero, "'knotted' contains 'not' but is not the word");
            Assert.That(shape.Content, Does.Contain("haiku"));
        });
    }

    [Test]
    public void Option_markers_in_other_forms_are_recognised()
    {
        var shape = QueryShape.Parse("Pick one.\n(A) red\n(B) green\nC) blue\nD.no space is not an option");

        Assert.That(shape.OptionCount, Is.EqualTo(3));
    }

    [Test]
    public void Empty_text_has_an_empty_shape()
    {
        var shape = QueryShape.Parse(string.Empty);
        Span<float> values = stackalloc float[QueryShape.ValueCount];
        shape.CopyTo(values);

        Assert.That(values.ToArray(), Is.All.Zero);
    }
}
