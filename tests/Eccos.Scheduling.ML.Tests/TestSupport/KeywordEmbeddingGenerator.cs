using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.ML.Tests.TestSupport;

/// <summary>A deterministic embedding generator for tests: a few hand-made dimensions, one of which carries the signal.</summary>
internal sealed class KeywordEmbeddingGenerator(int dimension = 4) : IEmbeddingGenerator<string, Embedding<float>>
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _calls);
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (string text in values)
        {
            var vector = new float[dimension];
            vector[0] = text.Contains("tricky", StringComparison.Ordinal) ? 1 : 0;
            for (int d = 1; d < dimension; d++)
            {
                vector[d] = (text.Length * (d + 7) % 101) / 101f;
            }

            result.Add(new Embedding<float>(vector));
        }

        return Task.FromResult(result);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
