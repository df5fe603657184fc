namespace Eccos.Scheduling;

/// <summary>
/// A predictor whose fitted state can be written to a stream in the library's saved-model format and read back by
/// its type's <c>Load</c> or by a <see cref="PredictorLoader"/>, so that a whole fitted pipeline (a hybrid of
/// calibrated components, say) can be saved and served elsewhere.
/// </summary>
/// <remarks>
/// The format is versioned and checksummed; loading refuses another kind, a newer version, a truncated or corrupt
/// stream with an <see cref="InvalidDataException"/> that says which. Embedding generators other than the
/// <see cref="HashingEmbeddingGenerator"/> (for example a remote model) are not saved: the loader supplies them.
/// Saving reads a consistent snapshot and may run while the predictor is used from other threads.
/// </remarks>
public interface ISavablePredictor : IPredictor
{
    /// <summary>Writes the predictor's fitted state to <paramref name="stream"/>.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    void Save(Stream stream);
}
