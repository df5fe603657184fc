using System.Text;

namespace Eccos.Scheduling;

/// <summary>
/// The one saved-model format of the library: every fitted piece (predictors, embedders, calibrators, target curves)
/// is written as <c>magic "ECCOSMDL", format version, kind, kind version, payload, SHA-256 of all before</c>, so that
/// a file says what it holds, a reader refuses another kind or a newer version by name, and truncation or corruption
/// is detected. Composite pieces nest their parts as complete model files inside their payload.
/// </summary>
/// <remarks>
/// Little-endian <see cref="BinaryWriter"/> primitives; strings are length-prefixed UTF-8. A stream is read exactly up
/// to the checksum, so model files can follow each other in one stream. Compiled into Eccos.Scheduling.ML as well.
/// </remarks>
internal static class ModelFile
{
    /// <summary>The version of the envelope (not of any kind's payload).</summary>
    public const int FormatVersion = 1;

    private static readonly byte[] Magic = "ECCOSMDL"u8.ToArray();

    /// <summary>Writes one model file: the header, the payload <paramref name="write"/> produces, the checksum.</summary>
    public static void Write(Stream stream, string kind, int version, Action<BinaryWriter> write)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var hashing = new ChecksumStream(stream);
        using (var writer = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(kind);
            writer.Write(version);
            write(writer);
            writer.Flush();
        }

        stream.Write(hashing.CurrentHash());
    }

    /// <summary>
    /// Reads one model file of <paramref name="kind"/> (versions 1 to <paramref name="maxVersion"/>) with
    /// <paramref name="read"/>, which gets the payload reader and the file's kind version, and checks the checksum.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a model file, another kind, an unsupported version, truncated, or corrupt.</exception>
    public static T Read<T>(Stream stream, string kind, int maxVersion, Func<BinaryReader, int, T> read) =>
        ReadAny(stream, (found, version, reader) =>
        {
            if (!string.Equals(found, kind, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"The stream holds a saved '{found}', not a '{kind}'.");
            }

            if (version < 1 || version > maxVersion)
            {
                throw new InvalidDataException($"Saved '{kind}' version {version} is not supported (this library reads versions 1 to {maxVersion}).");
            }

            return read(reader, version);
        });

    /// <summary>Reads one model file of any kind: <paramref name="read"/> gets the kind, its version and the payload reader.</summary>
    /// <exception cref="InvalidDataException">Not a model file, an unsupported envelope version, truncated, or corrupt.</exception>
    public static T ReadAny<T>(Stream stream, Func<string, int, BinaryReader, T> read)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var hashing = new ChecksumStream(stream);
        using var reader = new BinaryReader(hashing, Encoding.UTF8, leaveOpen: true);
        string kind = "model";
        try
        {
            Span<byte> magic = stackalloc byte[8];
            hashing.ReadExactly(magic);
            if (!magic.SequenceEqual(Magic))
            {
                throw new InvalidDataException("The stream does not hold a saved Eccos model (bad magic number).");
            }

            int format = reader.ReadInt32();
            if (format != FormatVersion)
            {
                throw new InvalidDataException($"Saved-model format version {format} is not supported (this library reads version {FormatVersion}).");
            }

            kind = reader.ReadString();
            int version = reader.ReadInt32();
            T result = read(kind, version, reader);
            byte[] expected = hashing.CurrentHash();
            Span<byte> stored = stackalloc byte[expected.Length];
            stream.ReadExactly(stored); // past the hashing stream: the checksum is not part of what it covers
            if (!stored.SequenceEqual(expected))
            {
                throw new InvalidDataException($"The saved '{kind}' is corrupt (checksum mismatch).");
            }

            return result;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"The saved '{kind}' is truncated.", ex);
        }
    }

    /// <summary>Reads the kind a model file declares (the stream is left after the kind).</summary>
    /// <exception cref="InvalidDataException">Not a model file, or truncated.</exception>
    public static string PeekKind(Stream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            byte[] magic = reader.ReadBytes(8);
            if (!magic.AsSpan().SequenceEqual(Magic))
            {
                throw new InvalidDataException("The stream does not hold a saved Eccos model (bad magic number).");
            }

            _ = reader.ReadInt32();
            return reader.ReadString();
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The saved model is truncated.", ex);
        }
    }

    /// <summary>Writes a length-prefixed blob (for example an ML.NET model, or a part built in memory).</summary>
    public static void WriteBlob(BinaryWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    /// <summary>Reads a blob written by <see cref="WriteBlob"/>, refusing lengths beyond <paramref name="maxLength"/>.</summary>
    public static byte[] ReadBlob(BinaryReader reader, int maxLength = int.MaxValue)
    {
        int length = reader.ReadInt32();
        if (length < 0 || length > maxLength)
        {
            throw new InvalidDataException($"A saved part claims {length} bytes.");
        }

        byte[] bytes = reader.ReadBytes(length);
        return bytes.Length == length ? bytes : throw new EndOfStreamException();
    }

    /// <summary>Writes a count-prefixed list of distinct names.</summary>
    public static void WriteNames(BinaryWriter writer, IReadOnlyList<string> names)
    {
        writer.Write(names.Count);
        foreach (string name in names)
        {
            writer.Write(name);
        }
    }

    /// <summary>Reads what <see cref="WriteNames"/> wrote, checking the count and that the names are distinct.</summary>
    public static string[] ReadNames(BinaryReader reader, string what, int maxCount = 1_000_000)
    {
        int count = reader.ReadInt32();
        if (count < 0 || count > maxCount)
        {
            throw new InvalidDataException($"The saved model is corrupt ({count} {what} names).");
        }

        var names = new string[count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            names[i] = reader.ReadString();
            if (!seen.Add(names[i]))
            {
                throw new InvalidDataException($"The saved model is corrupt ({what} '{names[i]}' appears twice).");
            }
        }

        return names;
    }

    /// <summary>Reads a finite double (a saved option or statistic), naming it when it is not.</summary>
    public static double ReadFinite(BinaryReader reader, string what)
    {
        double value = reader.ReadDouble();
        return double.IsFinite(value) ? value : throw new InvalidDataException($"The saved model is corrupt ({what} is {value}).");
    }
}
