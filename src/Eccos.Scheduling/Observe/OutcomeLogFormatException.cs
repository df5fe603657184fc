namespace Eccos.Scheduling;

/// <summary>An outcome log or model catalog is malformed; the message names the file, the line and the field.</summary>
public sealed class OutcomeLogFormatException : FormatException
{
    /// <summary>Initializes a new instance with a message.</summary>
    public OutcomeLogFormatException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public OutcomeLogFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public OutcomeLogFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance that points at a place in a source.</summary>
    /// <param name="source">The file name or stream description.</param>
    /// <param name="lineNumber">The 1-based line number, or 0 when not line-based.</param>
    /// <param name="field">The offending field, if any.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public OutcomeLogFormatException(string source, long lineNumber, string? field, string problem, Exception? innerException = null)
        : base(Format(source, lineNumber, field, problem), innerException)
    {
        SourceName = source;
        LineNumber = lineNumber;
        Field = field;
    }

    /// <summary>Gets the file name or stream description.</summary>
    public string? SourceName { get; }

    /// <summary>Gets the 1-based line number, or 0 when not line-based.</summary>
    public long LineNumber { get; }

    /// <summary>Gets the offending field, if any.</summary>
    public string? Field { get; }

    private static string Format(string source, long line, string? field, string problem)
    {
        string where = line > 0 ? $"{source}:{line}" : source;
        return field is null ? $"{where}: {problem}" : $"{where}: field '{field}': {problem}";
    }
}
