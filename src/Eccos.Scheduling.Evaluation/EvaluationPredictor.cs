using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Evaluation;

/// <summary>
/// A named predictor for a <see cref="ScheduleEvaluator"/> run: how to fit it on the training records. The evaluator
/// fits it, then evaluates the <c>eccos:&lt;name&gt;</c> and <c>threshold:&lt;name&gt;</c> policies on its predictions.
/// </summary>
/// <remarks>Immutable; thread-safe. The fitted predictor must honour the <see cref="IPredictor"/> contract.</remarks>
public sealed class EvaluationPredictor
{
    private readonly Func<PredictorFitContext, CancellationToken, ValueTask<IPredictor>> _fit;

    /// <summary>Initializes a predictor that is fitted by <paramref name="fit"/>.</summary>
    /// <param name="name">The name used in policy names (<c>eccos:name</c>); non-empty, without ':' or whitespace.</param>
    /// <param name="fit">Fits the predictor on <see cref="PredictorFitContext.Train"/> (and, if it blends or calibrates, <see cref="PredictorFitContext.Validation"/>).</param>
    /// <exception cref="ArgumentException">The name is empty or contains ':' or whitespace.</exception>
    public EvaluationPredictor(string name, Func<PredictorFitContext, CancellationToken, ValueTask<IPredictor>> fit)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(fit);
        if (name.Any(static c => c == ':' || char.IsWhiteSpace(c)))
        {
            throw new ArgumentException($"Predictor name '{name}' must not contain ':' or whitespace.", nameof(name));
        }

        Name = name;
        _fit = fit;
    }

    /// <summary>Gets the predictor's name.</summary>
    public string Name { get; }

    /// <summary>Creates an entry for a predictor that is already fitted (the training records are then not used).</summary>
    /// <param name="name">The name used in policy names.</param>
    /// <param name="predictor">The fitted predictor.</param>
    /// <returns>The entry.</returns>
    public static EvaluationPredictor Fitted(string name, IPredictor predictor)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        return new EvaluationPredictor(name, (_, _) => ValueTask.FromResult(predictor));
    }

    internal ValueTask<IPredictor> FitAsync(PredictorFitContext context, CancellationToken cancellationToken) => _fit(context, cancellationToken);
}

/// <summary>What a predictor is fitted on in a <see cref="ScheduleEvaluator"/> run.</summary>
/// <remarks>
/// Thread-safe.
/// </remarks>
public sealed class PredictorFitContext
{
    private readonly EmbeddingClock _clock;

    internal PredictorFitContext(
        IReadOnlyList<OutcomeRecord> train, IReadOnlyList<OutcomeRecord> validation, ModelCatalog catalog, int seed, EmbeddingClock clock)
    {
        Train = train;
        Validation = validation;
        Catalog = catalog;
        Seed = seed;
        _clock = clock;
    }

    /// <summary>Gets the records to fit on: the training split less the validation slice.</summary>
    public IReadOnlyList<OutcomeRecord> Train { get; }

    /// <summary>Gets the validation slice of the training split (for calibration and blending); may be empty.</summary>
    public IReadOnlyList<OutcomeRecord> Validation { get; }

    /// <summary>Gets the models and prices.</summary>
    public ModelCatalog Catalog { get; }

    /// <summary>Gets the run's seed.</summary>
    public int Seed { get; }

    /// <summary>
    /// Wraps <paramref name="generator"/> so that the time spent in it counts as embedding time of
    /// <paramref name="embedderName"/>, reported per embedder and kept out of the scheduling overhead.
    /// </summary>
    /// <param name="generator">The embedding generator the predictor uses.</param>
    /// <param name="embedderName">How to name the embedder in the report.</param>
    /// <returns>The wrapping generator; disposing it disposes <paramref name="generator"/>.</returns>
    /// <remarks>
    /// Whatever is embedded while a predictor predicts the test split (by it or by a component it delegates to) is
    /// reported as that predictor's embedding time, apart from the scheduling overhead. Internal: the eccos tool wraps
    /// the embedders it builds.
    /// </remarks>
    internal IEmbeddingGenerator<string, Embedding<float>> MeasureEmbedding(IEmbeddingGenerator<string, Embedding<float>> generator, string embedderName)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentException.ThrowIfNullOrWhiteSpace(embedderName);
        return new TimedEmbeddingGenerator(generator, _clock, embedderName);
    }

    private sealed class TimedEmbeddingGenerator(IEmbeddingGenerator<string, Embedding<float>> inner, EmbeddingClock clock, string name)
        : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            long start = clock.TimeProvider.GetTimestamp();
            try
            {
                return await base.GenerateAsync(values, options, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                clock.Add(name, clock.TimeProvider.GetElapsedTime(start));
            }
        }
    }
}

/// <summary>Time spent in each named embedder during one evaluation run.</summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class EmbeddingClock(TimeProvider timeProvider)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _ticks = new(StringComparer.Ordinal);

    public TimeProvider TimeProvider { get; } = timeProvider;

    public void Add(string embedder, TimeSpan elapsed) => _ticks.AddOrUpdate(embedder, elapsed.Ticks, (_, t) => t + elapsed.Ticks);

    public Dictionary<string, long> Snapshot() => new(_ticks, StringComparer.Ordinal);

    /// <summary>The embedders that ran since <paramref name="before"/>, and their total time since then.</summary>
    public (string? Embedders, long Ticks) Since(Dictionary<string, long> before)
    {
        var names = new List<string>();
        long ticks = 0;
        foreach ((string name, long now) in _ticks)
        {
            long delta = now - before.GetValueOrDefault(name);
            if (delta > 0)
            {
                names.Add(name);
                ticks += delta;
            }
        }

        names.Sort(StringComparer.Ordinal);
        return (names.Count == 0 ? null : string.Join('+', names), ticks);
    }
}
