using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>
/// Loads any predictor saved by <see cref="ISavablePredictor.Save"/>: reads the kind the file declares and hands it to
/// the loader registered for that kind. Knows the predictors of this package; other packages register theirs (for
/// example <c>AddMlPredictor()</c> of Eccos.Scheduling.ML).
/// </summary>
/// <remarks>
/// Composite predictors (hybrid, calibrated) load their components through the same loader, so one
/// <see cref="Load"/> restores a whole pipeline. Registering is not thread-safe; once set up, <see cref="Load"/> may be
/// called from several threads at once.
/// </remarks>
public sealed class PredictorLoader
{
    private readonly Dictionary<string, Func<Stream, PredictorLoader, IPredictor>> _loaders = new(StringComparer.Ordinal);

    /// <summary>Initializes a loader that knows the predictors of this package.</summary>
    /// <param name="embeddingGenerator">
    /// The embedding generator for saved kNN predictors that were not built on a <see cref="HashingEmbeddingGenerator"/>
    /// (which is saved with them); the loader does not own it.
    /// </param>
    public PredictorLoader(IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null)
    {
        EmbeddingGenerator = embeddingGenerator;
        Register(TaskPriorPredictor.SavedKind, static (s, _) => TaskPriorPredictor.Load(s));
        Register(KnnPredictor.SavedKind, static (s, l) => KnnPredictor.Load(s, l.EmbeddingGenerator));
        Register(HybridPredictor.SavedKind, static (s, l) => HybridPredictor.Load(s, l));
        Register(CalibratedPredictor.SavedKind, static (s, l) => CalibratedPredictor.Load(s, l));
    }

    /// <summary>Gets the embedding generator handed to loaded predictors that need one.</summary>
    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; }

    /// <summary>Registers (or replaces) the loader of a saved kind.</summary>
    /// <param name="kind">The kind the saved file declares.</param>
    /// <param name="load">Reads the file from the start of its stream; gets this loader for its components.</param>
    /// <returns>This loader.</returns>
    public PredictorLoader Register(string kind, Func<Stream, PredictorLoader, IPredictor> load)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(load);
        _loaders[kind] = load;
        return this;
    }

    /// <summary>Loads the predictor saved in <paramref name="stream"/>, whatever its kind.</summary>
    /// <param name="stream">A readable stream positioned at a saved predictor; read to the end of it and left open.</param>
    /// <returns>The predictor.</returns>
    /// <exception cref="InvalidDataException">The stream holds no saved model, a kind no loader is registered for, or a truncated or corrupt one.</exception>
    public IPredictor Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Stream source = stream;
        MemoryStream? copy = null;
        if (!stream.CanSeek)
        {
            copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            source = copy;
        }

        try
        {
            long start = source.Position;
            string kind = ModelFile.PeekKind(source);
            source.Position = start;
            if (!_loaders.TryGetValue(kind, out Func<Stream, PredictorLoader, IPredictor>? load))
            {
                throw new InvalidDataException(
                    $"The stream holds a saved '{kind}', which no loader is registered for (known: {string.Join(", ", _loaders.Keys.Order(StringComparer.Ordinal))}).");
            }

            return load(source, this) ?? throw new InvalidDataException($"The loader of '{kind}' returned null.");
        }
        finally
        {
            copy?.Dispose();
        }
    }

    /// <summary>Saves a component of a composite predictor as a blob that <see cref="LoadPart"/> reads back.</summary>
    internal static void SavePart(BinaryWriter writer, IPredictor component, string owner)
    {
        if (component is not ISavablePredictor savable)
        {
            throw new NotSupportedException($"{owner}: its component {component.GetType().Name} cannot be saved (it is not an ISavablePredictor).");
        }

        using var buffer = new MemoryStream();
        savable.Save(buffer);
        ModelFile.WriteBlob(writer, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>Reads a component saved by <see cref="SavePart"/>.</summary>
    internal IPredictor LoadPart(BinaryReader reader)
    {
        using var part = new MemoryStream(ModelFile.ReadBlob(reader), writable: false);
        return Load(part);
    }
}
