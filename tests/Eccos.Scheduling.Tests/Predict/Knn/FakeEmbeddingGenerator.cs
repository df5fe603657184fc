using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Tests.Predict.Knn;

/// <summary>
/// A test embedding generator: texts of the form "v:x,y,z" embed to that vector, any other text to a registered
/// vector. Counts calls and texts, honours cancellation, reports configurable metadata.
/// </summary>
internal sealed class FakeEmbeddingGenerator(int dimensions, string modelId = "fake") : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly Dictionary<string, float[]> _vectors = new(StringComparer.Ordinal);
    private int _calls;
    private int _texts;

    public int Calls => Volatile.Read(ref _calls);

    public int Texts => Volatile.Read(ref _texts);

    public TimeSpan Delay { get; set; }

    public bool Disposed { get; private set; }

    public static string Text(params float[] vector) =>
        "v:" + string.Join(",", vector.Select(f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));

    public void Register(string text, float[] vector)
    {
        lock (_vectors)
        {
            _vectors[text] = vector;
        }
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        cancellationToken.ThrowIfCancellationRequested();
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }

        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (string text in values)
        {
            Interlocked.Increment(ref _texts);
            result.Add(new Embedding<float>(VectorOf(text)));
        }

        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("fake", null, modelId, dimensions)
        : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() => Disposed = true;

    private float[] VectorOf(string text)
    {
        if (text.StartsWith("v:", StringComparison.Ordinal))
        {
            return text[2..].Split(',').Select(s => float.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }

        lock (_vectors)
        {
            return _vectors.TryGetValue(text, out float[]? v) ? v : throw new AssertionException($"No vector registered for '{text}'.");
        }
    }
}
