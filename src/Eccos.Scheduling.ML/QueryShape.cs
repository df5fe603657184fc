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
    float NumericOptionShare)
{
    /// <summary>The number of shape values <see cref="CopyTo"/> writes besides log input tokens.</summary>
    public const int ValueCount = 5;

    private static readonly string[] TemplateWords = ["Question:", "Options:", "Answer:"];

    public static QueryShape Parse(string text)
    {
        var stem = new StringBuilder(text.Length);
        var content = new StringBuilder(text.Length);
        int options = 0;
        int optionChars = 0;
        int numericOptions = 0;
        int digits = 0;
        int letters = 0;
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
            options == 0 ? 0 : (float)numericOptions / options);
    }

    /// <summary>Writes the shape values (not the text) into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination)
    {
        destination[0] = OptionCount;
        destination[1] = LogStemChars;
        destination[2] = LogMeanOptionChars;
        destination[3] = DigitShare;
        destination[4] = NumericOptionShare;
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
