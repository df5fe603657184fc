using System.Text;

namespace Eccos.Scheduling.ML;

/// <summary>
/// What the predictor reads from a query's text: the question without its prompt template (for n-grams), and a few
/// shape numbers. Multiple-choice prompts of the form "Question: … Options: A. … B. … Answer:" are split into stem and
/// options; any other text is all stem, with no options.
/// </summary>
internal readonly record struct QueryShape(
    string Content,
    float OptionCount,
    float LogStemChars,
    float LogMeanOptionChars,
    float DigitShare,
    float NumericOptionShare,
    float LogNumberCount,
    float FormulaShare,
    float Negation,
    float OptionLengthSpread)
{
    /// <summary>The number of shape values <see cref="CopyTo"/> writes besides log input tokens.</summary>
    public const int ValueCount = 9;

    private static readonly string[] TemplateWords = ["Question:", "Options:", "Answer:"];

    // Words that turn a question around ("which is NOT…", "all EXCEPT…"): a classic source of wrong answers.
    private static readonly string[] NegationWords = ["not", "except", "incorrect", "false", "never", "least"];

    private static readonly System.Buffers.SearchValues<char> FormulaCharacters = System.Buffers.SearchValues.Create("=+^*/\\$%<>_{}");

    public static QueryShape Parse(string text)
    {
        var stem = new StringBuilder(text.Length);
        var content = new StringBuilder(text.Length);
        int options = 0;
        int optionChars = 0;
        int numericOptions = 0;
        int digits = 0;
        int letters = 0;
        int numbers = 0;
        int formula = 0;
        bool negation = false;
        double optionSquares = 0;
        foreach (ReadOnlySpan<char> rawLine in text.AsSpan().EnumerateLines())
        {
            ReadOnlySpan<char> line = StripTemplate(rawLine.Trim());
            if (line.IsEmpty)
            {
                continue;
            }

            if (IsOptionLine(line, out ReadOnlySpan<char> option))
            {
                options++;
                optionChars += option.Length;
                optionSquares += (double)option.Length * option.Length;
                if (LooksNumeric(option))
                {
                    numericOptions++;
                }

                content.Append(option).Append(" ; ");
            }
            else
            {
                stem.Append(line).Append(' ');
                content.Append(line).Append(' ');
                numbers += CountNumbers(line);
                formula += CountFormula(line);
                negation |= HasNegation(line);
            }

            foreach (char c in line)
            {
                if (char.IsDigit(c))
                {
                    digits++;
                }
                else if (char.IsLetter(c))
                {
                    letters++;
                }
            }
        }

        return new QueryShape(
            content.ToString(),
            options,
            MathF.Log(1 + stem.Length),
            options == 0 ? 0 : MathF.Log(1 + ((float)optionChars / options)),
            digits + letters == 0 ? 0 : (float)digits / (digits + letters),
            options == 0 ? 0 : (float)numericOptions / options,
            MathF.Log(1 + numbers),
            stem.Length == 0 ? 0 : (float)formula / stem.Length,
            negation ? 1 : 0,
            options == 0 ? 0 : Spread(optionChars, optionSquares, options));
    }

    /// <summary>Writes the shape values (not the text) into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination)
    {
        destination[0] = OptionCount;
        destination[1] = LogStemChars;
        destination[2] = LogMeanOptionChars;
        destination[3] = DigitShare;
        destination[4] = NumericOptionShare;
        destination[5] = LogNumberCount;
        destination[6] = FormulaShare;
        destination[7] = Negation;
        destination[8] = OptionLengthSpread;
    }

    // Coefficient of variation of the option lengths: near-identical options make a harder question.
    private static float Spread(int sum, double squares, int count)
    {
        double mean = (double)sum / count;
        double variance = Math.Max(0, (squares / count) - (mean * mean));
        return mean == 0 ? 0 : (float)(Math.Sqrt(variance) / mean);
    }

    private static int CountNumbers(ReadOnlySpan<char> line)
    {
        int count = 0;
        for (int i = 0; i < line.Length; i++)
        {
            if (char.IsDigit(line[i]) && (i == 0 || !char.IsDigit(line[i - 1])))
            {
                count++;
            }
        }

        return count;
    }

    private static int CountFormula(ReadOnlySpan<char> line)
    {
        int count = 0;
        int at;
        while ((at = line.IndexOfAny(FormulaCharacters)) >= 0)
        {
            count++;
            line = line[(at + 1)..];
        }

        return count;
    }

    private static bool HasNegation(ReadOnlySpan<char> line)
    {
        foreach (string word in NegationWords)
        {
            for (int from = 0; from < line.Length;)
            {
                int at = line[from..].IndexOf(word, StringComparison.OrdinalIgnoreCase);
                if (at < 0)
                {
                    break;
                }

                at += from;
                int end = at + word.Length;
                if ((at == 0 || !char.IsLetter(line[at - 1])) && (end == line.Length || !char.IsLetter(line[end])))
                {
                    return true;
                }

                from = end;
            }
        }

        return false;
    }

    private static ReadOnlySpan<char> StripTemplate(ReadOnlySpan<char> line)
    {
        foreach (string word in TemplateWords)
        {
            if (line.StartsWith(word, StringComparison.Ordinal))
            {
                return line[word.Length..].Trim();
            }
        }

        return line;
    }

    // "A. text", "A) text" or "(A) text" with a capital letter A–Z.
    private static bool IsOptionLine(ReadOnlySpan<char> line, out ReadOnlySpan<char> option)
    {
        option = default;
        int start = line.Length > 0 && line[0] == '(' ? 1 : 0;
        if (line.Length < start + 3 || line[start] is < 'A' or > 'Z')
        {
            return false;
        }

        char mark = line[start + 1];
        if (!(start == 0 ? mark is '.' or ')' : mark == ')') || line[start + 2] != ' ')
        {
            return false;
        }

        option = line[(start + 3)..].Trim();
        return true;
    }

    private static bool LooksNumeric(ReadOnlySpan<char> option)
    {
        int digits = 0;
        int letters = 0;
        foreach (char c in option)
        {
            if (char.IsDigit(c))
            {
                digits++;
            }
            else if (char.IsLetter(c))
            {
                letters++;
            }
        }

        return digits > 0 && digits >= letters;
    }
}
