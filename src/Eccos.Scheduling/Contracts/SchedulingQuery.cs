namespace Eccos.Scheduling;

/// <summary>One query to be scheduled: its text, its prompt length and, optionally, a task tag and an id.</summary>
/// <param name="Text">The prompt text as it will be sent to a model; not null (may be empty).</param>
/// <param name="InputTokens">The prompt's length in tokens; must not be negative.</param>
/// <param name="Task">An optional task or category tag (for example a benchmark subject or an application route).</param>
/// <param name="Id">An optional caller-chosen id, carried into outcome logs.</param>
/// <remarks>
/// The text and the token count are checked when the query is created (and by <c>with</c>), so every predictor can
/// rely on them. Immutable; safe to share between threads.
/// </remarks>
/// <exception cref="ArgumentNullException"><paramref name="Text"/> is null.</exception>
/// <exception cref="ArgumentOutOfRangeException"><paramref name="InputTokens"/> is negative.</exception>
public sealed record SchedulingQuery(string Text, int InputTokens, string? Task = null, string? Id = null)
{
    private readonly string _text = Text ?? throw new ArgumentNullException(nameof(Text));
    private readonly int _inputTokens = InputTokens >= 0
        ? InputTokens
        : throw new ArgumentOutOfRangeException(nameof(InputTokens), InputTokens, "A query's input tokens must not be negative.");

    /// <summary>Gets the prompt text as it will be sent to a model; never null.</summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    public string Text
    {
        get => _text;
        init => _text = value ?? throw new ArgumentNullException(nameof(Text));
    }

    /// <summary>Gets the prompt's length in tokens; never negative.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    public int InputTokens
    {
        get => _inputTokens;
        init => _inputTokens = value >= 0
            ? value
            : throw new ArgumentOutOfRangeException(nameof(InputTokens), value, "A query's input tokens must not be negative.");
    }
}
