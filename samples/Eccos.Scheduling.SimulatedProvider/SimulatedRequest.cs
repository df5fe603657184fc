namespace Eccos.Scheduling.Simulation;

/// <summary>One message of a request, as the simulated model reads it.</summary>
/// <param name="Role">The <c>role</c> field (<c>system</c>, <c>user</c>, <c>assistant</c>, …).</param>
/// <param name="Content">The text content: a string content as is, the text parts of an array content joined.</param>
public sealed record SimulatedMessage(string Role, string Content);

/// <summary>A chat request as handed to <see cref="SimulatedModelOptions.Respond"/>. Immutable.</summary>
/// <param name="Model">The model the request names.</param>
/// <param name="Messages">The messages, in order.</param>
/// <param name="Stream">Whether the client asked for a stream.</param>
/// <param name="MaxOutputTokens">
/// The request's <c>max_completion_tokens</c> (else <c>max_tokens</c>); a longer answer is cut to it and finishes with
/// <c>length</c>. <see langword="null"/> when neither is given.
/// </param>
public sealed record SimulatedRequest(string Model, IReadOnlyList<SimulatedMessage> Messages, bool Stream, int? MaxOutputTokens)
{
    /// <summary>Gets the contents of all messages joined with line feeds.</summary>
    public string Prompt => string.Join('\n', Messages.Select(m => m.Content));

    /// <summary>Gets the content of the last <c>user</c> message, or the empty string.</summary>
    public string LastUserMessage => Messages.LastOrDefault(m => m.Role == "user")?.Content ?? string.Empty;

    /// <summary>
    /// Gets the prompt tokens the server reports and counts against <see cref="SimulatedModelOptions.TokensPerWindow"/>:
    /// ⌈total characters of all message contents / 4⌉ (about 4 characters per token, no per-message overhead).
    /// </summary>
    public int PromptTokens => CountTokens(Messages.Sum(m => m.Content.Length));

    /// <summary>The simulation's token count of a text of <paramref name="characters"/> characters: ⌈characters / 4⌉.</summary>
    /// <param name="characters">A number of characters, ≥ 0.</param>
    /// <returns>The tokens.</returns>
    public static int CountTokens(int characters) => (int)((Math.Max(characters, 0) + 3L) / 4);
}

/// <summary>What a simulated model answers: the text and how many output tokens it reports.</summary>
/// <param name="Text">The answer text.</param>
/// <param name="OutputTokens">
/// The output (completion) tokens to report and stream (one chunk each); <see langword="null"/> counts the text,
/// <see cref="SimulatedRequest.CountTokens"/>. Must be ≥ 0.
/// </param>
public sealed record SimulatedAnswer(string Text, int? OutputTokens = null);
