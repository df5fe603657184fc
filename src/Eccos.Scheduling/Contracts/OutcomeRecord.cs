namespace Eccos.Scheduling;

/// <summary>
/// One line of an outcome log: a query and what each model did with it. This is both the format of recorded datasets
/// and what the router writes from live traffic (see docs/outcome-log-format.md).
/// </summary>
/// <param name="Id">Unique id of the query.</param>
/// <param name="Text">The prompt text as sent to the models.</param>
/// <param name="InputTokens">Prompt length in tokens.</param>
/// <param name="Outputs">What each model did with this query; a model may be missing.</param>
/// <param name="Task">Optional task or category.</param>
/// <param name="Split">Optional fixed split: <c>"train"</c> or <c>"test"</c>.</param>
public sealed record OutcomeRecord(
    string Id,
    string Text,
    int InputTokens,
    IReadOnlyList<ModelOutcome> Outputs,
    string? Task = null,
    string? Split = null)
{
    /// <summary>Gets the optional time the record was made (live traffic).</summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>Returns this record's query as a <see cref="SchedulingQuery"/>.</summary>
    /// <returns>A query with the record's text, input tokens, task and id.</returns>
    public SchedulingQuery ToQuery() => new(Text, InputTokens, Task, Id);
}

/// <summary>What one model did with one query.</summary>
/// <param name="Model">The model's name, as in the model catalog.</param>
/// <param name="Quality">
/// Quality of the answer in [0, 1] (1 correct, 0 wrong; graded scores allowed); <see langword="null"/> when the answer
/// was not graded (live traffic without a quality signal), in which case only its length and cost are evidence.
/// </param>
/// <param name="OutputTokens">Length of the answer in tokens.</param>
/// <param name="Cost">Optional recorded cost of the call; without it, cost follows from tokens and list prices.</param>
public sealed record ModelOutcome(string Model, double? Quality, int OutputTokens, double? Cost = null)
{
    /// <summary>Gets the optional latency of the call in milliseconds (live traffic).</summary>
    public double? LatencyMs { get; init; }

    /// <summary>Gets the optional error of a failed call (live traffic); a failed call has no score.</summary>
    public string? Error { get; init; }
}
