using System.Buffers;
using System.Globalization;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>
/// An offline, deterministic text embedder: words and in-word character n-grams, hashed into a fixed number of signed
/// buckets (the hashing trick), weighted by sublinear term frequency, each part L2-normalized, then summed and
/// normalized. Once fitted on a corpus it drops the features most texts share (a learned stop list). No model, no
/// download, microseconds per text.
/// </summary>
/// <remarks>
/// <para>
/// Unfitted, every feature weighs the same. Prompts built from one template ("Question: … Options: A. … Answer:")
/// then look alike whatever their content, so fit the generator on the history's texts
/// (<see cref="Fit(IEnumerable{string}, HashingEmbeddingGeneratorOptions?)"/>): features found in more than
/// <see cref="HashingEmbeddingGeneratorOptions.MaxDocumentFrequency"/> of the texts are dropped, and with
/// <see cref="HashingEmbeddingGeneratorOptions.UseIdf"/> the rest are weighted by inverse document frequency. Save a
/// fitted generator with <see cref="Save"/> and restore it with <see cref="Load"/>, since a predictor's index is only
/// meaningful with the same embedder.
/// </para>
/// <para>
/// Hashing uses FNV-1a over UTF-16 code units with a SplitMix64 finalizer, so the same text embeds to the same vector
/// in every process and on every platform (unlike <see cref="string.GetHashCode()"/>). Text is lowercased with the
/// invariant culture; words are runs of letters and digits.
/// </para>
/// <para>
/// Thread safety: immutable once built; <see cref="GenerateAsync"/> may be called from any number of threads. The
/// work is CPU-bound and runs on the calling thread; cancellation is checked between texts. Disposing does nothing
/// (there are no resources), and the generator stays usable.
/// </para>
/// </remarks>
public sealed class HashingEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private const string SavedKind = "eccos.hashing-embedder";
    private const int SavedVersion = 1;
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;
    private const ulong WordSeed = 0x9E3779B97F4A7C15UL;
    private const ulong CharSeed = 0xC2B2AE3D27D4EB4FUL;

    [ThreadStatic]
    private static Scratch? t_scratch;

    private readonly HashingEmbeddingGeneratorOptions _options;
    private readonly Dictionary<ulong, float>? _idf;
    private readonly float _rareIdf;
    private readonly int _corpusSize;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Initializes an unfitted generator: every feature weighs the same.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public HashingEmbeddingGenerator(HashingEmbeddingGeneratorOptions? options = null)
        : this((options ?? new HashingEmbeddingGeneratorOptions()).Validated(), null, 0)
    {
    }

    private HashingEmbeddingGenerator(HashingEmbeddingGeneratorOptions validated, Dictionary<ulong, float>? idf, int corpusSize)
    {
        _options = validated;
        _idf = idf;
        _corpusSize = corpusSize;
        _rareIdf = idf is null || !validated.UseIdf ? 1f : Idf(corpusSize, 1);
        ModelId = BuildModelId(validated, idf, corpusSize);
        _metadata = new EmbeddingGeneratorMetadata("Eccos.Scheduling.Hashing", null, ModelId, validated.Dimensions);
    }

    /// <summary>Gets the number of dimensions of every embedding.</summary>
    public int Dimensions => _options.Dimensions;

    /// <summary>Gets a value indicating whether a stop list (and, with <see cref="HashingEmbeddingGeneratorOptions.UseIdf"/>, IDF weights) was learned by <see cref="Fit"/>.</summary>
    public bool IsFitted => _idf is not null;

    /// <summary>
    /// Gets the model id reported in the metadata and on every embedding: it encodes the options and a fingerprint of
    /// the fitted weights, so differently configured or fitted generators have different ids (and cache keys).
    /// </summary>
    public string ModelId { get; }

    /// <summary>
    /// Learns a stop list (and, with <see cref="HashingEmbeddingGeneratorOptions.UseIdf"/>, IDF weights) from
    /// <paramref name="corpus"/> — typically the texts of the history a predictor is built from — and returns a
    /// fitted generator.
    /// </summary>
    /// <param name="corpus">The texts; at least one.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <returns>A fitted generator.</returns>
    /// <exception cref="ArgumentException">The corpus is empty or holds a null text, or an option is out of range.</exception>
    public static HashingEmbeddingGenerator Fit(IEnumerable<string> corpus, HashingEmbeddingGeneratorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        HashingEmbeddingGeneratorOptions o = (options ?? new HashingEmbeddingGeneratorOptions()).Validated();
        var df = new Dictionary<ulong, int>();
        var words = new Dictionary<ulong, int>();
        var chars = new Dictionary<ulong, int>();
        int n = 0;
        foreach (string text in corpus)
        {
            if (text is null)
            {
                throw new ArgumentException($"Text at index {n} is null.", nameof(corpus));
            }

            n++;
            words.Clear();
            chars.Clear();
            CountFeatures(text, o, words, chars);
            foreach (ulong f in words.Keys)
            {
                df[f] = df.GetValueOrDefault(f) + 1;
            }

            foreach (ulong f in chars.Keys)
            {
                df[f] = df.GetValueOrDefault(f) + 1;
            }
        }

        if (n == 0)
        {
            throw new ArgumentException("The corpus is empty; fitting needs at least one text.", nameof(corpus));
        }

        double maxDf = o.MaxDocumentFrequency * n;
        var idf = new Dictionary<ulong, float>();
        foreach ((ulong f, int count) in df)
        {
            if (count > maxDf)
            {
                idf[f] = 0f; // stop feature
            }
            else if (o.UseIdf && count >= o.MinDocumentFrequency)
            {
                idf[f] = Idf(n, count);
            }
        }

        return new HashingEmbeddingGenerator(o, idf, n);
    }

    /// <summary>Loads a generator written by <see cref="Save"/>.</summary>
    /// <param name="stream">The stream, positioned at the generator; left open.</param>
    /// <returns>The generator.</returns>
    /// <exception cref="InvalidDataException">The stream does not hold a saved generator, has an unsupported version, or is truncated or corrupt.</exception>
    public static HashingEmbeddingGenerator Load(Stream stream) => ModelFile.Read(stream, SavedKind, SavedVersion, static (reader, _) =>
    {
        HashingEmbeddingGeneratorOptions o;
        try
        {
            o = new HashingEmbeddingGeneratorOptions
            {
                Dimensions = reader.ReadInt32(),
                MaxWordNGram = reader.ReadInt32(),
                MinCharNGram = reader.ReadInt32(),
                MaxCharNGram = reader.ReadInt32(),
                CharNGramWeight = reader.ReadSingle(),
                MaxDocumentFrequency = reader.ReadDouble(),
                UseIdf = reader.ReadBoolean(),
                MinDocumentFrequency = reader.ReadInt32(),
            }.Validated();
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"The saved hashing embedder's options are invalid: {ex.Message}", ex);
        }

        if (!reader.ReadBoolean())
        {
            return new HashingEmbeddingGenerator(o, null, 0);
        }

        int corpusSize = reader.ReadInt32();
        int count = reader.ReadInt32();
        if (corpusSize < 1 || count < 0)
        {
            throw new InvalidDataException($"The saved hashing embedder is corrupt (corpus size {corpusSize}, {count} weights).");
        }

        var idf = new Dictionary<ulong, float>(Math.Min(count, 1 << 20));
        for (int i = 0; i < count; i++)
        {
            ulong key = reader.ReadUInt64();
            float weight = reader.ReadSingle();
            if (!float.IsFinite(weight) || weight < 0 || !idf.TryAdd(key, weight))
            {
                throw new InvalidDataException($"The saved hashing embedder is corrupt (weight {i} of {count}).");
            }
        }

        return new HashingEmbeddingGenerator(o, idf, corpusSize);
    });

    /// <summary>Writes this generator (options and fitted weights) in the library's saved-model format.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelFile.Write(stream, SavedKind, SavedVersion, writer =>
        {
            writer.Write(_options.Dimensions);
            writer.Write(_options.MaxWordNGram);
            writer.Write(_options.MinCharNGram);
            writer.Write(_options.MaxCharNGram);
            writer.Write(_options.CharNGramWeight);
            writer.Write(_options.MaxDocumentFrequency);
            writer.Write(_options.UseIdf);
            writer.Write(_options.MinDocumentFrequency);
            writer.Write(_idf is not null);
            if (_idf is null)
            {
                return;
            }

            writer.Write(_corpusSize);
            writer.Write(_idf.Count);
            foreach (ulong key in SortedKeys(_idf))
            {
                writer.Write(key);
                writer.Write(_idf[key]);
            }
        });
    }

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is { } dims && dims != Dimensions)
        {
            throw new ArgumentException($"This generator produces {Dimensions} dimensions; {dims} were requested.", nameof(options));
        }

        var result = values is ICollection<string> c ? new GeneratedEmbeddings<Embedding<float>>(c.Count) : [];
        int i = 0;
        foreach (string text in values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (text is null)
            {
                throw new ArgumentException($"Text at index {i} is null.", nameof(values));
            }

            var vector = new float[Dimensions];
            Embed(text, vector);
            result.Add(new Embedding<float>(vector) { ModelId = ModelId });
            i++;
        }

        return Task.FromResult(result);
    }

    /// <summary>Embeds one text into <paramref name="destination"/> (length <see cref="Dimensions"/>): the allocation-free core of <see cref="GenerateAsync"/>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="destination">Receives the L2-normalized embedding (all zeros when the text has no features).</param>
    internal void Embed(string text, Span<float> destination)
    {
        if (destination.Length != Dimensions)
        {
            throw new ArgumentException($"The destination has {destination.Length} elements; {Dimensions} are needed.", nameof(destination));
        }

        Scratch s = t_scratch ??= new Scratch();
        s.Words.Clear();
        s.Chars.Clear();
        CountFeatures(text, _options, s.Words, s.Chars);
        destination.Clear();
        if (s.Chars.Count == 0 || _options.CharNGramWeight == 0)
        {
            Accumulate(s.Words, destination);
        }
        else
        {
            float[] charPart = s.CharVector(Dimensions);
            Array.Clear(charPart);
            Accumulate(s.Words, destination);
            Accumulate(s.Chars, charPart);
            Normalize(destination);
            Normalize(charPart);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(charPart, _options.CharNGramWeight, destination, destination);
        }

        Normalize(destination);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <inheritdoc />
    /// <remarks>The generator holds no resources; this does nothing.</remarks>
    public void Dispose()
    {
    }

    private static float Idf(int documents, int documentFrequency) =>
        (float)(Math.Log((1.0 + documents) / (1.0 + documentFrequency)) + 1.0);

    private void Accumulate(Dictionary<ulong, int> counts, Span<float> vector)
    {
        int dims = vector.Length;
        foreach ((ulong feature, int tf) in counts)
        {
            float idf = _idf is null ? 1f : _idf.TryGetValue(feature, out float w) ? w : _rareIdf;
            if (idf == 0)
            {
                continue;
            }

            ulong h = Mix(feature);
            int bucket = (int)((h >> 1) % (ulong)dims);
            float weight = idf * (1f + MathF.Log(tf));
            vector[bucket] += (h & 1) == 0 ? weight : -weight;
        }
    }

    private static void Normalize(Span<float> vector)
    {
        float norm = System.Numerics.Tensors.TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
        }
    }

    /// <summary>Counts the word n-gram and character n-gram features of a text.</summary>
    private static void CountFeatures(string text, HashingEmbeddingGeneratorOptions o, Dictionary<ulong, int> words, Dictionary<ulong, int> chars)
    {
        char[] lower = ArrayPool<char>.Shared.Rent(text.Length + 2);
        Span<ulong> previous = stackalloc ulong[4];
        int seen = 0;
        try
        {
            for (int i = 0; i < text.Length;)
            {
                if (!char.IsLetterOrDigit(text[i]))
                {
                    i++;
                    continue;
                }

                lower[0] = '<';
                int length = 0;
                while (i < text.Length && char.IsLetterOrDigit(text[i]))
                {
                    lower[++length] = char.ToLowerInvariant(text[i]);
                    i++;
                }

                lower[length + 1] = '>';
                ReadOnlySpan<char> word = lower.AsSpan(1, length);
                ulong wordHash = Fnv(word, FnvOffset);

                // Word n-grams ending at this word: the word itself, then with the 1..n-1 words before it.
                for (int n = 1; n <= o.MaxWordNGram && n <= seen + 1; n++)
                {
                    ulong g = WordSeed + (ulong)n;
                    for (int back = n - 1; back >= 1; back--)
                    {
                        g = (g ^ previous[back - 1]) * FnvPrime;
                    }

                    g = (g ^ wordHash) * FnvPrime;
                    Increment(words, g);
                }

                for (int k = Math.Min(previous.Length - 1, seen); k >= 1; k--)
                {
                    previous[k] = previous[k - 1];
                }

                previous[0] = wordHash;
                seen++;

                if (o.MaxCharNGram > 0)
                {
                    ReadOnlySpan<char> padded = lower.AsSpan(0, length + 2);
                    for (int n = o.MinCharNGram; n <= o.MaxCharNGram && n <= padded.Length; n++)
                    {
                        for (int s = 0; s + n <= padded.Length; s++)
                        {
                            Increment(chars, Fnv(padded.Slice(s, n), CharSeed + (ulong)n));
                        }
                    }
                }

            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(lower);
        }
    }

    private static void Increment(Dictionary<ulong, int> counts, ulong feature)
    {
        ref int c = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, feature, out _);
        c++;
    }

    private static ulong Fnv(ReadOnlySpan<char> chars, ulong seed)
    {
        ulong h = seed;
        foreach (char c in chars)
        {
            h = (h ^ c) * FnvPrime;
        }

        return h;
    }

    /// <summary>SplitMix64's finalizer: spreads every input bit over the output.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong[] SortedKeys(Dictionary<ulong, float> idf)
    {
        ulong[] keys = [.. idf.Keys];
        Array.Sort(keys);
        return keys;
    }

    private static string BuildModelId(HashingEmbeddingGeneratorOptions o, Dictionary<ulong, float>? idf, int corpusSize)
    {
        string chars = o.MaxCharNGram == 0 ? "c0" : string.Create(CultureInfo.InvariantCulture, $"c{o.MinCharNGram}-{o.MaxCharNGram}x{o.CharNGramWeight:R}");
        string id = string.Create(CultureInfo.InvariantCulture, $"hashing-v1-d{o.Dimensions}-w{o.MaxWordNGram}-{chars}-{(o.UseIdf ? "idf" : "stop")}");
        if (idf is null)
        {
            return id + "-raw";
        }

        ulong h = FnvOffset;
        h = (h ^ (ulong)corpusSize) * FnvPrime;
        foreach (ulong key in SortedKeys(idf))
        {
            h = (h ^ key) * FnvPrime;
            h = (h ^ BitConverter.SingleToUInt32Bits(idf[key])) * FnvPrime;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{id}-fit{Mix(h):x16}");
    }

    private sealed class Scratch
    {
        private float[]? _charVector;

        public Dictionary<ulong, int> Words { get; } = [];

        public Dictionary<ulong, int> Chars { get; } = [];

        public float[] CharVector(int dimensions) =>
            _charVector is { } v && v.Length == dimensions ? v : _charVector = new float[dimensions];
    }
}
