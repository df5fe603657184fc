using System.Text;

namespace Eccos.Scheduling.Simulation;

/// <summary>A model's answer to one request, cut to the request's output limit: text, output tokens, finish reason.</summary>
internal sealed record Answer(string Text, int Tokens, string FinishReason)
{
    /// <summary>The <see cref="SimulatedModelOptions.Respond"/> answer, or the default one, cut to <see cref="SimulatedRequest.MaxOutputTokens"/>.</summary>
    /// <exception cref="InvalidOperationException">The hook gave a negative token count.</exception>
    internal static Answer For(SimulatedRequest request, SimulatedModelOptions options)
    {
        string text;
        int tokens;
        if (options.Respond is { } respond)
        {
            SimulatedAnswer answer = respond(request) ?? throw new InvalidOperationException("The Respond hook returned null.");
            text = answer.Text ?? string.Empty;
            tokens = answer.OutputTokens ?? SimulatedRequest.CountTokens(text.Length);
            if (tokens < 0)
            {
                throw new InvalidOperationException($"The Respond hook gave {tokens} output tokens; they must be ≥ 0.");
            }
        }
        else
        {
            tokens = checked(options.OutputTokens + (int)Math.Round(options.OutputTokensPerPromptToken * request.PromptTokens));
            text = Fill($"{request.Model}: {request.LastUserMessage}", checked(4 * tokens));
        }

        if (request.MaxOutputTokens is int max && tokens > Math.Max(max, 0))
        {
            max = Math.Max(max, 0);
            return new Answer(Cut(text, (int)((long)text.Length * max / tokens)), max, "length");
        }

        return new Answer(text, tokens, "stop");
    }

    /// <summary>
    /// The text in <paramref name="tokens"/> pieces of near-equal length (one streamed chunk each), at least one for a
    /// non-empty text, at most one per character; never splitting a surrogate pair.
    /// </summary>
    internal static IReadOnlyList<string> Split(string text, int tokens)
    {
        if (text.Length == 0)
        {
            return [];
        }

        int count = Math.Clamp(tokens, 1, text.Length);
        var pieces = new List<string>(count);
        int from = 0;
        for (int i = 1; i <= count; i++)
        {
            int to = (int)((long)text.Length * i / count);
            if (to < text.Length && char.IsLowSurrogate(text[to]))
            {
                to++;
            }

            if (to > from)
            {
                pieces.Add(text[from..to]);
                from = to;
            }
        }

        return pieces;
    }

    /// <summary>The seed repeated, separated by spaces, to exactly <paramref name="length"/> characters (less a split surrogate).</summary>
    private static string Fill(string seed, int length)
    {
        var text = new StringBuilder(length + seed.Length + 1);
        while (text.Length < length)
        {
            text.Append(seed).Append(' ');
        }

        return Cut(text.ToString(), length);
    }

    private static string Cut(string text, int length)
    {
        length = Math.Min(length, text.Length);
        if (length > 0 && length < text.Length && char.IsHighSurrogate(text[length - 1]))
        {
            length--;
        }

        return text[..length];
    }
}
