using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Eccos.Scheduling;

/// <summary>
/// Builds an <see cref="EccosChatClient"/> without dependency injection: the pool of models, the predictor, the
/// solver, the quality target and the other options, the outcome sinks.
/// </summary>
/// <example>
/// <code>
/// IChatClient chat = new EccosBuilder()
///     .AddModel(cheapClient, new ModelProfile("small", 0.15, 0.6, capacity: 8), ownsClient: true)
///     .AddModel(strongClient, new ModelProfile("large", 2.5, 10, capacity: 4), ownsClient: true)
///     .UsePredictor(predictor)
///     .WithQualityTarget(0.8)
///     .Build()
///     .AsBuilder()          // Microsoft.Extensions.AI middleware composes as usual
///     .UseLogging(loggerFactory)
///     .Build();
/// </code>
/// </example>
/// <remarks>Not thread-safe; build once, then share the router (which is).</remarks>
public sealed class EccosBuilder
{
    private readonly RouterSetup _setup = new();

    /// <summary>Adds a model to the pool.</summary>
    /// <param name="client">The model's client (any <see cref="IChatClient"/>: OpenAI, Azure, Ollama, ...).</param>
    /// <param name="profile">Its name, prices and capacity (the most calls in flight at once; <see langword="null"/> for unlimited).</param>
    /// <param name="ownsClient">
    /// Whether the router disposes <paramref name="client"/> when it is disposed. Default <see langword="false"/>:
    /// the caller keeps ownership.
    /// </param>
    /// <param name="modelId">An optional model id put into <see cref="ChatOptions.ModelId"/> of every call to this client.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The profile's name is already in the pool.</exception>
    public EccosBuilder AddModel(IChatClient client, ModelProfile profile, bool ownsClient = false, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(profile);
        if (modelId is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        }

        if (_setup.Models.Any(m => string.Equals(m.Profile.Name, profile.Name, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"A model named '{profile.Name}' is already in the pool.", nameof(profile));
        }

        _setup.Models.Add(new PoolEntry(client, profile, ownsClient, modelId));
        return this;
    }

    /// <summary>Sets the predictor of quality and cost.</summary>
    /// <param name="predictor">The predictor; the router does not dispose it.</param>
    /// <param name="learnFromTraffic">
    /// When the predictor is also an <see cref="IOutcomeSink"/>, whether to register it as a sink so that it learns
    /// from every call. Default <see langword="true"/>.
    /// </param>
    /// <returns>This builder.</returns>
    public EccosBuilder UsePredictor(IPredictor predictor, bool learnFromTraffic = true)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        _setup.Predictor = predictor;
        if (learnFromTraffic && predictor is IOutcomeSink sink)
        {
            _setup.AddSink(sink);
        }

        return this;
    }

    /// <summary>
    /// Uses a <see cref="KnnPredictor"/> built from recorded outcomes: it predicts from the most similar past queries,
    /// learns from every call (it is an outcome sink), and its history's most recent queries give the first prices.
    /// </summary>
    /// <param name="history">Recorded outcomes (an outcome log, a benchmark's records, earlier traffic).</param>
    /// <param name="embeddingGenerator">
    /// Embeds query texts; the router does not dispose it. Default: a <see cref="HashingEmbeddingGenerator"/> fitted
    /// on the history (offline, no model files), which the router owns.
    /// </param>
    /// <param name="options">
    /// The kNN options; <see langword="null"/> for the defaults with <see cref="KnnPredictorOptions.Search"/> =
    /// <see cref="KnnSearch.Clustered"/> (online routing predicts one request at a time: the clustered search keeps the
    /// router's overhead within tens of microseconds on a 10k history). Pass options with
    /// <see cref="KnnSearch.Exact"/> for the exact search.
    /// </param>
    /// <returns>This builder.</returns>
    /// <remarks>
    /// The history is embedded here, synchronously (immediate with the hashing embedder). With a remote embedding
    /// generator, prefer <c>await KnnPredictor.CreateAsync(...)</c> and <see cref="UsePredictor"/>.
    /// </remarks>
    public EccosBuilder UseKnnPredictor(IEnumerable<OutcomeRecord> history, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null, KnnPredictorOptions? options = null)
    {
        _setup.UseKnn(history, embeddingGenerator, options);
        return this;
    }

    /// <summary>
    /// Makes α a target on <em>realized</em> quality: the router solves for the internal target t(α) that
    /// <paramref name="calibration"/> learned on validation outcomes (see <see cref="QualityTargetCurve"/>).
    /// </summary>
    /// <param name="calibration">The calibration of the predictor in use.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseQualityTargetCurve(QualityTargetCurve calibration)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        _setup.Calibration = calibration;
        return this;
    }

    /// <summary>
    /// Sets the assignment solver: it gives the online prices (λ, μ_j) and assigns batches in batched mode. Default:
    /// a <see cref="LagrangianAssignmentSolver"/> with default options.
    /// </summary>
    /// <param name="solver">The solver.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseSolver(IAssignmentSolver solver)
    {
        ArgumentNullException.ThrowIfNull(solver);
        _setup.Solver = solver;
        return this;
    }

    /// <summary>Sets α, the quality target (see <see cref="EccosOptions.QualityTarget"/>).</summary>
    /// <param name="alpha">A number in [0, 1].</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not in [0, 1].</exception>
    public EccosBuilder WithQualityTarget(double alpha)
    {
        if (!double.IsFinite(alpha) || alpha < 0 || alpha > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The quality target α must be a number in [0, 1].");
        }

        _setup.Options.QualityTarget = alpha;
        return this;
    }

    /// <summary>Changes options (mode, windows, queues, attempts, ...). Checked by <see cref="Build"/>.</summary>
    /// <param name="configure">Changes the options.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder Configure(Action<EccosOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(_setup.Options);
        return this;
    }

    /// <summary>Adds a sink that receives an <see cref="OutcomeRecord"/> for every call (for example an <see cref="OutcomeLogWriter"/>).</summary>
    /// <param name="sink">The sink; called off the request path, one record at a time; the router does not dispose it.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder AddOutcomeSink(IOutcomeSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _setup.AddSink(sink);

        return this;
    }

    /// <summary>
    /// Sets a quality signal: grades each served answer in [0, 1] (or <see langword="null"/> for "unknown"); the score
    /// goes into the outcome records, so that learning predictors learn quality from live traffic.
    /// </summary>
    /// <param name="signal">The grader; runs off the request path (see <see cref="EccosQualityContext"/>).</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseQualitySignal(Func<EccosQualityContext, CancellationToken, ValueTask<double?>> signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        _setup.QualitySignal = signal;
        return this;
    }

    /// <summary>
    /// Sets how a request becomes a <see cref="SchedulingQuery"/>. Default: the text of the last user message, prompt
    /// tokens estimated from all messages and instructions (about four characters a token), the task from
    /// <c>ChatOptions.AdditionalProperties["eccos.task"]</c> and the id from <c>["eccos.query_id"]</c>.
    /// </summary>
    /// <param name="factory">Builds the query; must be fast and thread-safe.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseQueryFactory(Func<IEnumerable<ChatMessage>, ChatOptions?, SchedulingQuery> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _setup.QueryFactory = factory;
        return this;
    }

    /// <summary>
    /// Adds queries to solve the first online prices from before live traffic arrives (for example the queries of the
    /// predictor's history). Without them, requests before the first solve follow the threshold rule.
    /// </summary>
    /// <param name="queries">Representative queries; the last <see cref="EccosOptions.ResolveWindowSize"/> are used.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder WarmUpWith(IEnumerable<SchedulingQuery> queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        _setup.WarmUp.AddRange(queries);
        return this;
    }

    /// <summary>Sets the time source of windows, timers, expiry and latencies. Default <see cref="TimeProvider.System"/>.</summary>
    /// <param name="timeProvider">The time provider.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _setup.Time = timeProvider;
        return this;
    }

    /// <summary>Sets the logger factory. Default: no logging.</summary>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _setup.LoggerFactory = loggerFactory;
        return this;
    }

    /// <summary>Sets the meter factory that creates the <c>Eccos.Scheduling</c> meter. Default: a meter the router owns.</summary>
    /// <param name="meterFactory">The meter factory.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseMeterFactory(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _setup.MeterFactory = meterFactory;
        return this;
    }

    /// <summary>Sets the router's name (the <c>eccos.router</c> telemetry tag). Default <c>"eccos"</c>.</summary>
    /// <param name="name">The name.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder WithName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _setup.Name = name;
        return this;
    }

    /// <summary>Builds the router. Its background loop starts at once.</summary>
    /// <returns>The router; dispose it (preferably with <see cref="EccosChatClient.DisposeAsync"/>) when done.</returns>
    /// <exception cref="InvalidOperationException">No model was added, or no predictor was set.</exception>
    /// <exception cref="OptionsValidationException">The options are invalid; the message lists every problem.</exception>
    public EccosChatClient Build()
    {
        _setup.Solver ??= new LagrangianAssignmentSolver();
        return _setup.Build();
    }
}
