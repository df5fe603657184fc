namespace Eccos.Scheduling;

/// <summary>
/// Decorates a predictor with per-model isotonic maps of its predicted quality (and optionally of its predicted output
/// tokens), fitted on validation outcomes the inner predictor was not trained on, so that a predicted 0.7 means
/// "right 70% of the time" for that model.
/// </summary>
/// <remarks>
/// <para>
/// Models without a map (too little validation data, or not in the validation pool) pass through unchanged. When
/// output tokens are recalibrated, costs are derived again from the calibrated output tokens.
/// </para>
/// <para>
/// Immutable once built; thread-safe as long as the inner predictor is. Cancellation is passed to the inner predictor.
/// The decorator owns nothing to dispose (the inner predictor stays the caller's). <see cref="Save"/> writes the maps
/// and the inner predictor (which must be an <see cref="ISavablePredictor"/>); <see cref="Load"/> restores both.
/// </para>
/// </remarks>
public sealed class CalibratedPredictor : ISavablePredictor
{
    /// <summary>The kind of a saved calibrated predictor.</summary>
    internal const string SavedKind = "eccos.calibrated";

    private const int SavedVersion = 1;
    private readonly Dictionary<string, IsotonicCalibrator> _quality;
    private readonly Dictionary<string, IsotonicCalibrator> _tokens;

    /// <summary>Initializes a decorator from maps already fitted (or loaded).</summary>
    /// <param name="inner">The predictor to calibrate.</param>
    /// <param name="qualityCalibrators">Per model name, the map of predicted quality; models absent pass through.</param>
    /// <param name="outputTokenCalibrators">Per model name, the map of predicted output tokens; <see langword="null"/> for none.</param>
    public CalibratedPredictor(
        IPredictor inner,
        IReadOnlyDictionary<string, IsotonicCalibrator> qualityCalibrators,
        IReadOnlyDictionary<string, IsotonicCalibrator>? outputTokenCalibrators = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(qualityCalibrators);
        Inner = inner;
        _quality = Copy(qualityCalibrators, nameof(qualityCalibrators));
        _tokens = outputTokenCalibrators is null ? new(StringComparer.Ordinal) : Copy(outputTokenCalibrators, nameof(outputTokenCalibrators));
    }

    /// <summary>Gets the decorated predictor.</summary>
    public IPredictor Inner { get; }

    /// <summary>Gets the quality maps by model name.</summary>
    public IReadOnlyDictionary<string, IsotonicCalibrator> QualityCalibrators => _quality;

    /// <summary>Gets the output-token maps by model name (empty when output tokens are not recalibrated).</summary>
    public IReadOnlyDictionary<string, IsotonicCalibrator> OutputTokenCalibrators => _tokens;

    /// <summary>
    /// Fits per-model maps on <paramref name="validation"/>: predicts every record with <paramref name="inner"/> and
    /// fits, for each model with enough graded answers, the isotonic map from predicted quality to recorded score.
    /// </summary>
    /// <param name="inner">The predictor to calibrate; it must not have been trained on <paramref name="validation"/>.</param>
    /// <param name="validation">Recorded outcomes held out from <paramref name="inner"/>'s training.</param>
    /// <param name="models">The models to calibrate (with prices, for the predictions).</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels fitting.</param>
    /// <returns>The calibrated predictor.</returns>
    /// <exception cref="ArgumentException">An argument is null or invalid, or an option is out of range.</exception>
    public static async Task<CalibratedPredictor> FitAsync(
        IPredictor inner,
        IReadOnlyList<OutcomeRecord> validation,
        IReadOnlyList<ModelProfile> models,
        CalibratedPredictorOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(models);
        options ??= new CalibratedPredictorOptions();
        options.Validate(nameof(options));
        ValidationPairs pairs = await ValidationPairs.CollectAsync(inner, validation, models, options.BatchSize, cancellationToken).ConfigureAwait(false);

        var quality = new Dictionary<string, IsotonicCalibrator>(StringComparer.Ordinal);
        var tokens = new Dictionary<string, IsotonicCalibrator>(StringComparer.Ordinal);
        var x = new List<double>();
        var y = new List<double>();
        for (int j = 0; j < models.Count; j++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            x.Clear();
            y.Clear();
            for (int k = 0; k < pairs.Count; k++)
            {
                if (pairs.Model[k] == j && !double.IsNaN(pairs.Score[k]))
                {
                    x.Add(pairs.PredictedQuality[k]);
                    y.Add(pairs.Score[k]);
                }
            }

            if (x.Count >= options.MinSamplesPerModel)
            {
                quality[models[j].Name] = IsotonicCalibrator.Fit([.. x], [.. y]);
            }

            if (!options.CalibrateOutputTokens)
            {
                continue;
            }

            x.Clear();
            y.Clear();
            for (int k = 0; k < pairs.Count; k++)
            {
                if (pairs.Model[k] == j)
                {
                    x.Add(pairs.PredictedTokens[k]);
                    y.Add(pairs.ActualTokens[k]);
                }
            }

            if (x.Count >= options.MinSamplesPerModel)
            {
                tokens[models[j].Name] = IsotonicCalibrator.Fit([.. x], [.. y]);
            }
        }

        return new CalibratedPredictor(inner, quality, tokens);
    }

    /// <inheritdoc />
    public async ValueTask<PredictionMatrix> PredictAsync(
        IReadOnlyList<SchedulingQuery> queries,
        IReadOnlyList<ModelProfile> models,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(models);
        PredictionMatrix p = await Inner.PredictAsync(queries, models, cancellationToken).ConfigureAwait(false);
        int m = p.ModelCount;
        Span<double> quality = p.Quality;
        Span<double> tokens = p.OutputTokens;
        bool recost = false;
        for (int j = 0; j < m; j++)
        {
            ModelProfile model = p.Models[j];
            if (_quality.TryGetValue(model.Name, out IsotonicCalibrator? q))
            {
                for (int k = j; k < quality.Length; k += m)
                {
                    quality[k] = Math.Clamp(q.Apply(quality[k]), 0, 1);
                }
            }

            if (_tokens.TryGetValue(model.Name, out IsotonicCalibrator? t))
            {
                for (int k = j; k < tokens.Length; k += m)
                {
                    tokens[k] = Math.Max(0, t.Apply(tokens[k]));
                }

                recost = true;
            }
        }

        if (recost)
        {
            p.ComputeCosts(queries);
        }

        return p;
    }

    /// <summary>Writes the maps and the inner predictor in the library's saved-model format.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    /// <exception cref="NotSupportedException">The inner predictor is not an <see cref="ISavablePredictor"/>.</exception>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelFile.Write(stream, SavedKind, SavedVersion, writer =>
        {
            PredictorLoader.SavePart(writer, Inner, "CalibratedPredictor");
            WriteMaps(writer, _quality);
            WriteMaps(writer, _tokens);
        });
    }

    /// <summary>Loads a predictor written by <see cref="Save"/>, its inner predictor through <paramref name="loader"/>.</summary>
    /// <param name="stream">The stream, positioned at the saved predictor; left open.</param>
    /// <param name="loader">Loads the inner predictor; <see langword="null"/> for a <see cref="PredictorLoader"/> of this package's predictors.</param>
    /// <returns>The predictor.</returns>
    /// <exception cref="InvalidDataException">The stream holds no saved calibrated predictor, or a truncated or corrupt one, or an inner kind the loader does not know.</exception>
    public static CalibratedPredictor Load(Stream stream, PredictorLoader? loader = null)
    {
        loader ??= new PredictorLoader();
        return ModelFile.Read(stream, SavedKind, SavedVersion, (reader, _) =>
        {
            IPredictor inner = loader.LoadPart(reader);
            return new CalibratedPredictor(inner, ReadMaps(reader), ReadMaps(reader));
        });
    }

    private static void WriteMaps(BinaryWriter writer, Dictionary<string, IsotonicCalibrator> maps)
    {
        writer.Write(maps.Count);
        foreach ((string model, IsotonicCalibrator map) in maps.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            writer.Write(model);
            map.Write(writer);
        }
    }

    private static Dictionary<string, IsotonicCalibrator> ReadMaps(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        if (count < 0 || count > 1_000_000)
        {
            throw new InvalidDataException($"The saved calibrated predictor is corrupt ({count} maps).");
        }

        var maps = new Dictionary<string, IsotonicCalibrator>(count, StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string model = reader.ReadString();
            if (!maps.TryAdd(model, IsotonicCalibrator.Read(reader)))
            {
                throw new InvalidDataException($"The saved calibrated predictor is corrupt (model '{model}' has two maps).");
            }
        }

        return maps;
    }

    private static Dictionary<string, IsotonicCalibrator> Copy(IReadOnlyDictionary<string, IsotonicCalibrator> source, string paramName)
    {
        var copy = new Dictionary<string, IsotonicCalibrator>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, IsotonicCalibrator> kv in source)
        {
            copy[kv.Key] = kv.Value ?? throw new ArgumentException($"Model '{kv.Key}': the calibrator is null.", paramName);
        }

        return copy;
    }
}
