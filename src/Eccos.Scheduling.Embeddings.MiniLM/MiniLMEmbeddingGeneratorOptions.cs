namespace Eccos.Scheduling;

/// <summary>Options of a <see cref="MiniLMEmbeddingGenerator"/>.</summary>
/// <remarks>A plain mutable object, not thread-safe; the generator reads it once, when built.</remarks>
public sealed class MiniLMEmbeddingGeneratorOptions
{
    /// <summary>
    /// Gets or sets how many texts go through the model at once. Texts are sorted by length first, so a batch pads
    /// little. Default: 32 (larger batches gain little on CPU, and the peak memory of a batch grows with its size).
    /// </summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>
    /// Gets or sets the number of threads ONNX Runtime may use inside one batch; 0 (the default) lets ONNX Runtime
    /// choose (one per physical core). Set 1 on a machine shared with other work.
    /// </summary>
    public int IntraOpThreads { get; set; }
}
