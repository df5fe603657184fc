using System.Globalization;

namespace Eccos.Scheduling;

/// <summary>
/// Blends N predictors: predicted quality <c>Σ_k γ_k·a_ij^(k)</c> and predicted output tokens <c>Σ_k δ_k·t_ij^(k)</c>,
/// with weights γ and δ on the simplex (non-negative, summing to 1), set by hand or fitted on validation outcomes by
/// <see cref="FitAsync"/>. Costs are derived from the blended output tokens.
/// </summary>
/// <remarks>
/// <para>
/// The components predict concurrently (each but the last on the thread pool, so that CPU-bound predictors run in
/// parallel); a component whose γ and δ are both 0 is not called at all. A pair is eligible when every called
/// component finds it eligible.
/// </para>
/// <para>
/// Immutable; thread-safe as long as the components are. Cancellation is passed to every component. The components
/// stay the caller's to dispose. <see cref="Save"/> writes the weights and every component (each an
/// <see cref="ISavablePredictor"/>); <see cref="Load"/> restores the whole blend.
/// </para>
/// </remarks>
public sealed class HybridPredictor : ISavablePredictor
{
    /// <summary>The kind of a saved hybrid predictor.</summary>
    internal const string SavedKind = "eccos.hybrid";

    private const int SavedVersion = 1;
    private readonly IPredictor[] _components;
    private readonly double[] _quality;
    private readonly double[] _tokens;

    /// <summary>Initializes a blend with the given weights.</summary>
    /// <param name="components">The predictors to blend; at least one, none null.</param>
    /// <param name="qualityWeights">γ, one non-negative weight per component; normalized to sum to 1.</param>
    /// <param name="outputTokenWeights">δ, one non-negative weight per component, normalized; <see langword="null"/> to use γ.</param>
    /// <exception cref="ArgumentException">No components, a null component, or weights of the wrong count, negative, not finite or all 0.</exception>
    public HybridPredictor(IReadOnlyList<IPredictor> components, IReadOnlyList<double> qualityWeights, IReadOnlyList<double>? outputTokenWeights = null)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(qualityWeights);
        _components = CheckComponents(components);
        _quality = Normalize(qualityWeights, _components.Length, nameof(qualityWeights));
        _tokens = outputTokenWeights is null ? _quality : Normalize(outputTokenWeights, _components.Length, nameof(outputTokenWeights));
    }

    /// <summary>Restores a saved blend with its weights exactly as saved (normalizing again could move their last bits).</summary>
    private HybridPredictor(IPredictor[] components, double[] qualityWeights, double[] outputTokenWeights, bool saved)
    {
        _ = saved;
        _components = components;
        _quality = qualityWeights;
        _tokens = outputTokenWeights;
    }

    /// <summary>Gets the blended predictors.</summary>
    public IReadOnlyList<IPredictor> Components => _components;

    /// <summary>Gets γ, the quality weights (summing to 1).</summary>
    public IReadOnlyList<double> QualityWeights => _quality;

    /// <summary>Gets δ, the output-token weights (summing to 1).</summary>
    public IReadOnlyList<double> OutputTokenWeights => _tokens;

    /// <summary>
    /// Fits the weights on <paramref name="validation"/>: γ minimizes <see cref="HybridPredictorOptions.QualityLoss"/>
    /// over the graded answers, δ minimizes the mean absolute error of output tokens over all answers.
    /// </summary>
    /// <param name="components">The predictors to blend; none may have been trained on <paramref name="validation"/>.</param>
    /// <param name="validation">Recorded outcomes held out from the components' training.</param>
    /// <param name="models">The models to predict for.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels fitting.</param>
    /// <returns>The fitted blend.</returns>
    /// <exception cref="ArgumentException">An argument is invalid, an option is out of range, or the validation records hold no answer of the models.</exception>
    public static async Task<HybridPredictor> FitAsync(
        IReadOnlyList<IPredictor> components,
        IReadOnlyList<OutcomeRecord> validation,
        IReadOnlyList<ModelProfile> models,
        HybridPredictorOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(models);
        options ??= new HybridPredictorOptions();
        options.Validate(nameof(options));
        IPredictor[] parts = CheckComponents(components);
        ValidationPairs[] pairs = await Task.WhenAll(parts.Select(c =>
            Task.Run(() => ValidationPairs.CollectAsync(c, validation, models, options.BatchSize, cancellationToken), cancellationToken))).ConfigureAwait(false);
        int n = parts.Length;
        int count = pairs[0].Count;
        if (count == 0)
        {
            throw new ArgumentException("The validation records hold no answer of the given models.", nameof(validation));
        }

        // Column-major copies: one array per component, graded pairs only for quality (centred per record for the
        // within-query loss, whose value is then the Brier score of the centred arrays).
        HybridQualityLoss loss = options.QualityLoss;
        bool[] keep = GradedPairs(pairs[0], loss == HybridQualityLoss.WithinQuery);
        if (loss == HybridQualityLoss.WithinQuery && !keep.Contains(true))
        {
            loss = HybridQualityLoss.Brier;
            keep = GradedPairs(pairs[0], centred: false);
        }

        double[] y = Gather(pairs[0].Score, keep);
        var a = new double[n][];
        var t = new double[n][];
        for (int c = 0; c < n; c++)
        {
            a[c] = Gather(pairs[c].PredictedQuality, keep);
            t[c] = pairs[c].PredictedTokens;
        }

        if (loss == HybridQualityLoss.WithinQuery)
        {
            int[] record = Gather(pairs[0].Record, keep);
            CentreByRecord(y, record);
            foreach (double[] column in a)
            {
                CentreByRecord(column, record);
            }

            loss = HybridQualityLoss.Brier;
        }

        int graded = y.Length;
        double[] actual = pairs[0].ActualTokens;
        var blend = new double[Math.Max(graded, count)];
        double[] gamma = graded == 0
            ? Uniform(n)
            : SimplexSearch.Minimize(n, w => QualityLoss(loss, a, w, y, blend), options.GridResolution, cancellationToken);
        double[] delta = SimplexSearch.Minimize(n, w => TokenMae(t, w, actual, blend), options.GridResolution, cancellationToken);
        return new HybridPredictor(parts, gamma, delta);
    }

    /// <inheritdoc />
    public async ValueTask<PredictionMatrix> PredictAsync(
        IReadOnlyList<SchedulingQuery> queries,
        IReadOnlyList<ModelProfile> models,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(models);
        var used = new List<int>(_components.Length);
        for (int c = 0; c < _components.Length; c++)
        {
            if (_quality[c] > 0 || _tokens[c] > 0)
            {
                used.Add(c);
            }
        }

        var running = new Task<PredictionMatrix>[used.Count];
        for (int u = 0; u < used.Count; u++)
        {
            IPredictor component = _components[used[u]];
            running[u] = u == used.Count - 1
                ? component.PredictAsync(queries, models, cancellationToken).AsTask()
                : Task.Run(() => component.PredictAsync(queries, models, cancellationToken).AsTask(), cancellationToken);
        }

        PredictionMatrix[] parts = await Task.WhenAll(running).ConfigureAwait(false);
        var result = new PredictionMatrix(queries.Count, models);
        Span<double> quality = result.Quality;
        Span<double> tokens = result.OutputTokens;
        Span<bool> eligible = result.Eligible;
        for (int u = 0; u < parts.Length; u++)
        {
            PredictionMatrix p = parts[u];
            if (p.QueryCount != result.QueryCount || p.ModelCount != result.ModelCount)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Component {used[u]} ({_components[used[u]].GetType().Name}) returned {p.QueryCount}×{p.ModelCount} predictions for {result.QueryCount}×{result.ModelCount}."));
            }

            double g = _quality[used[u]];
            double d = _tokens[used[u]];
            ReadOnlySpan<double> pq = p.Quality;
            ReadOnlySpan<double> pt = p.OutputTokens;
            ReadOnlySpan<bool> pe = p.Eligible;
            for (int k = 0; k < quality.Length; k++)
            {
                quality[k] += g * pq[k];
                tokens[k] += d * pt[k];
                eligible[k] &= pe[k];
            }
        }

        for (int k = 0; k < quality.Length; k++)
        {
            quality[k] = Math.Clamp(quality[k], 0, 1);
            tokens[k] = Math.Max(0, tokens[k]);
        }

        result.ComputeCosts(queries);
        return result;
    }

    /// <summary>Writes the weights and every component in the library's saved-model format.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    /// <exception cref="NotSupportedException">A component is not an <see cref="ISavablePredictor"/>.</exception>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelFile.Write(stream, SavedKind, SavedVersion, writer =>
        {
            writer.Write(_components.Length);
            for (int c = 0; c < _components.Length; c++)
            {
                writer.Write(_quality[c]);
                writer.Write(_tokens[c]);
                PredictorLoader.SavePart(writer, _components[c], $"HybridPredictor component {c}");
            }
        });
    }

    /// <summary>Loads a blend written by <see cref="Save"/>, its components through <paramref name="loader"/>.</summary>
    /// <param name="stream">The stream, positioned at the saved blend; left open.</param>
    /// <param name="loader">Loads the components; <see langword="null"/> for a <see cref="PredictorLoader"/> of this package's predictors.</param>
    /// <returns>The blend.</returns>
    /// <exception cref="InvalidDataException">The stream holds no saved blend, a truncated or corrupt one, or a component kind the loader does not know.</exception>
    public static HybridPredictor Load(Stream stream, PredictorLoader? loader = null)
    {
        loader ??= new PredictorLoader();
        return ModelFile.Read(stream, SavedKind, SavedVersion, (reader, _) =>
        {
            int count = reader.ReadInt32();
            if (count < 1 || count > 1024)
            {
                throw new InvalidDataException($"The saved hybrid predictor is corrupt ({count} components).");
            }

            var components = new IPredictor[count];
            var gamma = new double[count];
            var delta = new double[count];
            for (int c = 0; c < count; c++)
            {
                gamma[c] = ModelFile.ReadFinite(reader, "a quality weight");
                delta[c] = ModelFile.ReadFinite(reader, "an output-token weight");
                components[c] = loader.LoadPart(reader);
            }

            if (gamma.Any(w => w < 0) || delta.Any(w => w < 0) || Math.Abs(gamma.Sum() - 1) > 1e-9 || Math.Abs(delta.Sum() - 1) > 1e-9)
            {
                throw new InvalidDataException("The saved hybrid predictor's weights are invalid (negative, or not summing to 1).");
            }

            return new HybridPredictor(components, gamma, delta, saved: true);
        });
    }

    /// <summary>
    /// Marks the graded pairs; with <paramref name="centred"/>, only those of records with at least two graded pairs
    /// (a lone answer has no contrast).
    /// </summary>
    private static bool[] GradedPairs(ValidationPairs pairs, bool centred)
    {
        var keep = new bool[pairs.Count];
        for (int start = 0; start < pairs.Count;)
        {
            int end = start;
            int graded = 0;
            while (end < pairs.Count && pairs.Record[end] == pairs.Record[start])
            {
                graded += double.IsNaN(pairs.Score[end]) ? 0 : 1;
                end++;
            }

            bool use = !centred || graded >= 2;
            for (int k = start; k < end; k++)
            {
                keep[k] = use && !double.IsNaN(pairs.Score[k]);
            }

            start = end;
        }

        return keep;
    }

    private static T[] Gather<T>(T[] values, bool[] keep)
    {
        var result = new T[keep.Count(static k => k)];
        for (int k = 0, g = 0; k < keep.Length; k++)
        {
            if (keep[k])
            {
                result[g++] = values[k];
            }
        }

        return result;
    }

    /// <summary>Subtracts from each value the mean of the values of the same record (records are contiguous).</summary>
    private static void CentreByRecord(double[] values, int[] record)
    {
        for (int start = 0; start < values.Length;)
        {
            int end = start;
            double sum = 0;
            while (end < values.Length && record[end] == record[start])
            {
                sum += values[end++];
            }

            double mean = sum / (end - start);
            for (int k = start; k < end; k++)
            {
                values[k] -= mean;
            }

            start = end;
        }
    }

    private static double QualityLoss(HybridQualityLoss loss, double[][] a, double[] w, double[] y, double[] blend)
    {
        Span<double> p = blend.AsSpan(0, y.Length);
        Mix(a, w, p);
        double sum = 0;
        if (loss == HybridQualityLoss.Brier)
        {
            for (int k = 0; k < p.Length; k++)
            {
                double e = p[k] - y[k];
                sum += e * e;
            }
        }
        else
        {
            for (int k = 0; k < p.Length; k++)
            {
                double q = Math.Clamp(p[k], 1e-6, 1 - 1e-6);
                sum -= (y[k] * Math.Log(q)) + ((1 - y[k]) * Math.Log(1 - q));
            }
        }

        return sum / p.Length;
    }

    private static double TokenMae(double[][] t, double[] w, double[] actual, double[] blend)
    {
        Span<double> p = blend.AsSpan(0, actual.Length);
        Mix(t, w, p);
        double sum = 0;
        for (int k = 0; k < p.Length; k++)
        {
            sum += Math.Abs(p[k] - actual[k]);
        }

        return sum / p.Length;
    }

    private static void Mix(double[][] columns, double[] w, Span<double> destination)
    {
        destination.Clear();
        for (int c = 0; c < columns.Length; c++)
        {
            if (w[c] != 0)
            {
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(columns[c].AsSpan(0, destination.Length), w[c], destination, destination);
            }
        }
    }

    private static double[] Uniform(int n)
    {
        var w = new double[n];
        Array.Fill(w, 1.0 / n);
        return w;
    }

    private static IPredictor[] CheckComponents(IReadOnlyList<IPredictor> components)
    {
        if (components.Count == 0)
        {
            throw new ArgumentException("At least one component predictor is required.", nameof(components));
        }

        var copy = new IPredictor[components.Count];
        for (int c = 0; c < copy.Length; c++)
        {
            copy[c] = components[c] ?? throw new ArgumentException($"Component {c} is null.", nameof(components));
        }

        return copy;
    }

    private static double[] Normalize(IReadOnlyList<double> weights, int count, string paramName)
    {
        if (weights.Count != count)
        {
            throw new ArgumentException($"{weights.Count} weights were given for {count} components; give one per component.", paramName);
        }

        double sum = 0;
        for (int c = 0; c < count; c++)
        {
            double w = weights[c];
            if (!double.IsFinite(w) || w < 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Weight {c} is {w}; weights must be finite and non-negative."), paramName);
            }

            sum += w;
        }

        if (sum <= 0)
        {
            throw new ArgumentException("The weights sum to 0; at least one must be positive.", paramName);
        }

        var normalized = new double[count];
        for (int c = 0; c < count; c++)
        {
            normalized[c] = weights[c] / sum;
        }

        return normalized;
    }
}
