using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>Adds a <see cref="DiskCachingEmbeddingGenerator"/> to an embedding generator pipeline.</summary>
public static class DiskCachingEmbeddingGeneratorBuilderExtensions
{
    /// <summary>Adds a <see cref="DiskCachingEmbeddingGenerator"/> as the next stage of the pipeline.</summary>
    /// <param name="builder">The <see cref="EmbeddingGeneratorBuilder{TInput, TEmbedding}"/>.</param>
    /// <param name="directory">The cache folder; created if missing.</param>
    /// <param name="configure">An optional callback that configures the <see cref="DiskCachingEmbeddingGenerator"/>.</param>
    /// <returns>The <paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <example>
    /// <code>
    /// IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt; embedder = new MiniLMEmbeddingGenerator()
    ///     .AsBuilder()
    ///     .UseDiskCache("/var/cache/eccos/embeddings")
    ///     .Build();
    /// </code>
    /// </example>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> UseDiskCache(
        this EmbeddingGeneratorBuilder<string, Embedding<float>> builder,
        string directory,
        Action<DiskCachingEmbeddingGenerator>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return builder.Use(inner =>
        {
            var generator = new DiskCachingEmbeddingGenerator(inner, directory);
            configure?.Invoke(generator);
            return generator;
        });
    }
}
