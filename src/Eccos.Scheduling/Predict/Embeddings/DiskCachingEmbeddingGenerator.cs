using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>
/// A delegating embedding generator that keeps every embedding it has produced in a folder on disk, one small file per
/// text, so that slow local models (MiniLM) or paid remote ones embed each text once across runs and processes.
/// </summary>
/// <remarks>
/// <para>
/// The key of an entry is a SHA-256 of the text together with the inner generator's provider name, default model id
/// and default dimensions (from its <see cref="EmbeddingGeneratorMetadata"/>), the model id and dimensions of the
/// call's <see cref="EmbeddingGenerationOptions"/>, and <see cref="CacheKeyPrefix"/>: two generators that would embed
/// a text differently never share an entry. A batch reads each text's entry and sends only the misses to the inner
/// generator, in one call.
/// </para>
/// <para>
/// Thread and process safety: entries are written to a temporary file and then moved into place, so a reader sees a
/// whole entry or none; concurrent writers of the same entry write the same bytes. Corruption tolerance: an entry
/// that cannot be read, has the wrong size, magic, dimensions or checksum is treated as a miss (and rewritten), never
/// as an error; a failure to write an entry (disk full, permissions) is swallowed, since the embedding itself was
/// produced. Cancellation is honoured between entries and passed to the inner generator. Disposing this generator
/// disposes the inner one.
/// </para>
/// </remarks>
public sealed class DiskCachingEmbeddingGenerator : CachingEmbeddingGenerator<string, Embedding<float>>
{
    private const uint Magic = 0x424D4545; // "EEMB" little-endian
    private const ushort FormatVersion = 1;
    private const int HeaderSize = 16;
    private const string Extension = ".emb";

    private readonly string _directory;
    private readonly string _identity;
    private readonly int? _expectedDimensions;
    private readonly string? _modelId;

    /// <summary>Initializes a new <see cref="DiskCachingEmbeddingGenerator"/>.</summary>
    /// <param name="innerGenerator">The generator whose embeddings are cached.</param>
    /// <param name="directory">The cache folder; created if missing. Keep caches of data you may not commit outside the repository.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    public DiskCachingEmbeddingGenerator(IEmbeddingGenerator<string, Embedding<float>> innerGenerator, string directory)
        : base(innerGenerator)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(_directory);
        EmbeddingGeneratorMetadata? metadata = innerGenerator.GetService<EmbeddingGeneratorMetadata>();
        _modelId = metadata?.DefaultModelId;
        _expectedDimensions = metadata?.DefaultModelDimensions;
        _identity = string.Create(
            CultureInfo.InvariantCulture,
            $"{metadata?.ProviderName}\u001f{metadata?.DefaultModelId}\u001f{metadata?.DefaultModelDimensions}");
    }

    /// <summary>Gets the cache folder (a full path).</summary>
    public string CacheDirectory => _directory;

    /// <summary>
    /// Gets or sets a string mixed into every key, to keep apart generators whose metadata does not tell them apart
    /// (for example two versions of a custom generator that report the same model id). Default: empty.
    /// </summary>
    public string CacheKeyPrefix { get; set; } = string.Empty;

    /// <summary>Gets the path of the file that holds the entry for <paramref name="key"/>.</summary>
    /// <param name="key">A key from <see cref="GetCacheKey"/>.</param>
    /// <returns>The entry's file path (it may not exist).</returns>
    internal string PathOf(string key) => Path.Combine(_directory, key[..2], key + Extension);

    /// <inheritdoc />
    protected override string GetCacheKey(ReadOnlySpan<object?> values)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, "eccos-embedding-cache-v1");
        Append(hash, _identity);
        Append(hash, CacheKeyPrefix);
        foreach (object? value in values)
        {
            switch (value)
            {
                case string text:
                    Append(hash, "t");
                    Append(hash, text);
                    break;
                case EmbeddingGenerationOptions options:
                    Append(hash, string.Create(CultureInfo.InvariantCulture, $"o{options.ModelId}\u001f{options.Dimensions}"));
                    break;
                case null:
                    Append(hash, "n");
                    break;
                default:
                    Append(hash, "v");
                    Append(hash, Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty);
                    break;
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <inheritdoc />
    protected override async Task<Embedding<float>?> ReadCacheAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        string path = PathOf(key);
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // missing or unreadable: a miss
        }

        float[]? vector = Decode(bytes, _expectedDimensions);
        return vector is null ? null : new Embedding<float>(vector) { ModelId = _modelId };
    }

    /// <inheritdoc />
    protected override async Task WriteCacheAsync(string key, Embedding<float> value, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        byte[] bytes = Encode(value.Vector.Span);
        string path = PathOf(key);
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The embedding was produced; failing to cache it only costs a recomputation later.
            TryDelete(temp);
        }
        catch (OperationCanceledException)
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Serializes a vector as a cache entry: a 16-byte header (magic, version, dimensions, checksum) and the floats.</summary>
    internal static byte[] Encode(ReadOnlySpan<float> vector)
    {
        var bytes = new byte[HeaderSize + (vector.Length * sizeof(float))];
        Span<byte> payload = bytes.AsSpan(HeaderSize);
        MemoryMarshal.AsBytes(vector).CopyTo(payload);
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> ints = MemoryMarshal.Cast<byte, int>(payload);
            BinaryPrimitives.ReverseEndianness(ints, ints);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), vector.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), Fnv1a32(payload));
        return bytes;
    }

    /// <summary>Reads a cache entry; <see langword="null"/> when it is not a whole, intact entry of the expected dimensions.</summary>
    internal static float[]? Decode(ReadOnlySpan<byte> bytes, int? expectedDimensions)
    {
        if (bytes.Length < HeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic
            || BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]) != FormatVersion)
        {
            return null;
        }

        int dimensions = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        if (dimensions <= 0
            || (expectedDimensions is { } expected && expected != dimensions)
            || bytes.Length != HeaderSize + ((long)dimensions * sizeof(float)))
        {
            return null;
        }

        ReadOnlySpan<byte> payload = bytes[HeaderSize..];
        if (Fnv1a32(payload) != BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]))
        {
            return null;
        }

        var vector = new float[dimensions];
        payload.CopyTo(MemoryMarshal.AsBytes(vector.AsSpan()));
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> ints = MemoryMarshal.Cast<float, int>(vector.AsSpan());
            BinaryPrimitives.ReverseEndianness(ints, ints);
        }

        return vector;
    }

    private static uint Fnv1a32(ReadOnlySpan<byte> data)
    {
        uint h = 2166136261;
        foreach (byte b in data)
        {
            h = (h ^ b) * 16777619;
        }

        return h;
    }

    private static void Append(IncrementalHash hash, string text)
    {
        hash.AppendData(Encoding.UTF8.GetBytes(text));
        hash.AppendData([0]);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A stray temporary file is harmless; it is never read as an entry.
        }
    }
}
