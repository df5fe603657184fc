namespace Eccos.Scheduling;

/// <summary>One query to be scheduled: its text, its prompt length and, optionally, a task tag and an id.</summary>
/// <param name="Text">The prompt text as it will be sent to a model.</param>
/// <param name="InputTokens">The prompt's length in tokens; must not be negative.</param>
/// <param name="Task">An optional task or category tag (for example a benchmark subject or an application route).</param>
/// <param name="Id">An optional caller-chosen id, carried into outcome logs.</param>
public sealed record SchedulingQuery(string Text, int InputTokens, string? Task = null, string? Id = null);
