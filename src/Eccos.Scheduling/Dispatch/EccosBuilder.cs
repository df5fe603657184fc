using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Eccos.Scheduling;

/// <summary>
/// Builds an <see cref="EccosChatClient"/>: the pool of models, the predictor, the solver, the quality target and the
/// other options, the outcome sinks. Like <see cref="ChatClientBuilder"/>, it holds factories and builds against an
/// <see cref="IServiceProvider"/>; <c>services.AddEccos(...)</c> returns one and registers what it builds.
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
/// <remarks>
/// <para>
/// <see cref="Build"/> takes the <see cref="TimeProvider"/>, <see cref="ILoggerFactory"/> and
/// <see cref="IMeterFactory"/> from the service provider (defaults: <see cref="TimeProvider.System"/>, no logging, a
/// meter the router owns), and, when no predictor or solver was set, the <see cref="IPredictor"/> and
/// <see cref="IAssignmentSolver"/> keyed by <see cref="Name"/> or else unkeyed (default solver: a
/// <see cref="LagrangianAssignmentSolver"/>). The options are this builder's <see cref="Configure"/> calls applied in
/// order; for a builder made by <c>AddEccos</c>, the named options <see cref="Name"/> of the container (bound from
/// configuration, then these calls, validated at start).
/// </para>
/// <para>
/// A predictor given by an asynchronous factory (for example <see cref="KnnEccosBuilderExtensions.UseKnnPredictor(EccosBuilder, IEnumerable{OutcomeRecord}, IEmbeddingGenerator{string, Embedding{float}}?, KnnPredictorOptions?)"/>)
/// is created in the background once the router is built: nothing blocks, and requests that arrive first wait for it
/// (their cancellation honoured). If it fails, those requests fail with an <see cref="InvalidOperationException"/>
/// that carries its error.
/// </para>
/// <para>Not thread-safe; configure from one thread, then build (as often as wanted: each build is a new router).</para>
/// </remarks>
public sealed class EccosBuilder
{
    /// <summary>The name of a router built without one.</summary>
    public const string DefaultName = "eccos";

    private readonly List<ModelEntry> _models = [];
    private readonly List<Action<EccosOptions>> _configure = [];
    private readonly List<Func<IServiceProvider, IOutcomeSink>> _sinks = [];
    private readonly List<IEnumerable<SchedulingQuery>> _warmUp = [];
    private readonly List<(string Target, EccosLimitKind Kind, Func<IServiceProvider, System.Threading.RateLimiting.RateLimiter> Factory)> _limiters = [];
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<IServiceProvider, StartedPredictor> _started = [];
    private Func<IServiceProvider, IReadOnlyList<ModelProfile>, CancellationToken, Task<PredictorSetup>>? _predictor;
    private bool _learnFromTraffic = true;
    private IAssignmentSolver? _solver;
    private QualityTargetCurve? _curve;
    private Func<EccosQualityContext, CancellationToken, ValueTask<double?>>? _qualitySignal;
    private Func<IEnumerable<ChatMessage>, ChatOptions?, SchedulingQuery>? _queryFactory;

    /// <summary>Initializes a builder.</summary>
    /// <param name="name">The router's name: its <c>eccos.router</c> telemetry tag and, in a container, its service key and options name.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public EccosBuilder(string name = DefaultName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>Gets the router's name.</summary>
    public string Name { get; }

    /// <summary>Gets or sets a value indicating whether the options come from the container's named options (set by <c>AddEccos</c>).</summary>
    internal bool OptionsFromServices { get; set; }

    /// <summary>Adds a model whose client the caller supplies.</summary>
    /// <param name="client">The model's client (any <see cref="IChatClient"/>: OpenAI, Azure, Ollama, ...).</param>
    /// <param name="profile">Its name, prices and capacity (the most calls in flight at once; <see langword="null"/> for unlimited).</param>
    /// <param name="ownsClient">Whether the router disposes <paramref name="client"/> when it is disposed. Default <see langword="false"/>.</param>
    /// <param name="modelId">An optional model id put into <see cref="ChatOptions.ModelId"/> of every call to this client.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The profile's name is already in the pool, or <paramref name="modelId"/> is blank.</exception>
    public EccosBuilder AddModel(IChatClient client, ModelProfile profile, bool ownsClient = false, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        return Add(new ModelEntry(profile, _ => client, ownsClient, modelId, null));
    }

    /// <summary>Adds a model whose client <paramref name="clientFactory"/> creates when the router is built; the router owns (disposes) it.</summary>
    /// <param name="clientFactory">Creates the client from the build's service provider.</param>
    /// <param name="profile">The model's name, prices and capacity.</param>
    /// <param name="modelId">An optional model id put into <see cref="ChatOptions.ModelId"/> of every call to this client.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The profile's name is already in the pool, or <paramref name="modelId"/> is blank.</exception>
    public EccosBuilder AddModel(Func<IServiceProvider, IChatClient> clientFactory, ModelProfile profile, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(clientFactory);
        return Add(new ModelEntry(profile, clientFactory, true, modelId, null));
    }

    /// <summary>
    /// Adds a model whose client is the <see cref="IChatClient"/> registered in the build's service provider under
    /// <paramref name="serviceKey"/> (for example by <c>AddKeyedChatClient</c>); the container owns it.
    /// </summary>
    /// <param name="serviceKey">The key of the client's keyed registration.</param>
    /// <param name="profile">The model's name, prices and capacity.</param>
    /// <param name="modelId">An optional model id put into <see cref="ChatOptions.ModelId"/> of every call to this client.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The profile's name is already in the pool, or <paramref name="modelId"/> is blank.</exception>
    public EccosBuilder AddModel(object serviceKey, ModelProfile profile, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        return Add(new ModelEntry(profile, null, false, modelId, serviceKey));
    }

    /// <summary>Sets the predictor of quality and cost; the router does not dispose it.</summary>
    /// <param name="predictor">The predictor.</param>
    /// <param name="learnFromTraffic">
    /// When the predictor is also an <see cref="IOutcomeSink"/>, whether it receives every call's outcome so that it
    /// learns from traffic. Default <see langword="true"/>.
    /// </param>
    /// <returns>This builder.</returns>
    public EccosBuilder UsePredictor(IPredictor predictor, bool learnFromTraffic = true)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        return UsePredictor((_, _) => Task.FromResult(predictor), learnFromTraffic);
    }

    /// <summary>
    /// Sets a factory that creates (or loads, or resolves) the predictor when the router is built. It runs in the
    /// background; see the remarks of <see cref="EccosBuilder"/>. The router does not dispose the predictor.
    /// </summary>
    /// <param name="factory">Creates the predictor from the build's service provider; the token is cancelled when the router is disposed.</param>
    /// <param name="learnFromTraffic">When the predictor is also an <see cref="IOutcomeSink"/>, whether it learns from every call. Default <see langword="true"/>.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UsePredictor(Func<IServiceProvider, CancellationToken, Task<IPredictor>> factory, bool learnFromTraffic = true)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return UsePredictorSetup(async (services, _, cancellationToken) => new PredictorSetup(await factory(services, cancellationToken).ConfigureAwait(false)), learnFromTraffic);
    }

    /// <summary>
    /// Sets the assignment solver: it gives the online prices (λ, μ_j) and assigns batches in batched mode. Default: the
    /// container's, else a <see cref="LagrangianAssignmentSolver"/> with default options.
    /// </summary>
    /// <param name="solver">The solver; it must be thread-safe.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseSolver(IAssignmentSolver solver)
    {
        ArgumentNullException.ThrowIfNull(solver);
        _solver = solver;
        return this;
    }

    /// <summary>
    /// Makes α a target on <em>realized</em> quality: the router solves for t(α) of a <see cref="QualityTargetCurve"/>
    /// fitted for the predictor in use on outcomes it was not fitted on.
    /// </summary>
    /// <param name="curve">The target curve.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseQualityTargetCurve(QualityTargetCurve curve)
    {
        ArgumentNullException.ThrowIfNull(curve);
        _curve = curve;
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

        return Configure(o => o.QualityTarget = alpha);
    }

    /// <summary>Changes options (mode, windows, queues, attempts, ...); applied in order at build, then validated.</summary>
    /// <param name="configure">Changes the options.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder Configure(Action<EccosOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _configure.Add(configure);
        return this;
    }

    /// <summary>Adds a sink that receives an <see cref="OutcomeRecord"/> for every call (for example an <see cref="OutcomeLogWriter"/>); the router does not dispose it.</summary>
    /// <param name="sink">The sink; called off the request path, one record at a time.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder AddOutcomeSink(IOutcomeSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return AddOutcomeSink(_ => sink);
    }

    /// <summary>Adds a sink created (or resolved) when the router is built; the router does not dispose it.</summary>
    /// <param name="factory">Creates the sink from the build's service provider.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder AddOutcomeSink(Func<IServiceProvider, IOutcomeSink> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _sinks.Add(factory);
        return this;
    }

    /// <summary>
    /// Sets a quality signal: grades each served answer in [0, 1] (or <see langword="null"/> for "unknown"); the grade
    /// goes into the outcome records, so that learning predictors learn quality from live traffic.
    /// </summary>
    /// <param name="signal">The grader; runs off the request path (see <see cref="EccosQualityContext"/>).</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseQualitySignal(Func<EccosQualityContext, CancellationToken, ValueTask<double?>> signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        _qualitySignal = signal;
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
        _queryFactory = factory;
        return this;
    }

    /// <summary>
    /// Adds queries to solve the first online prices from before live traffic arrives (for example the queries of the
    /// predictor's history). Without them, requests before the first solve follow the threshold rule.
    /// </summary>
    /// <param name="queries">Representative queries, enumerated at build; the last <see cref="EccosOptions.PriceWindowSize"/> are used.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder WarmUpWith(IEnumerable<SchedulingQuery> queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        _warmUp.Add(queries);
        return this;
    }

    /// <summary>
    /// Adds a <see cref="System.Threading.RateLimiting.RateLimiter"/> a model (or every model of a limit group, see
    /// <see cref="EccosModelOptions.LimitGroup"/>) is admitted through, besides its configured limits — for example a
    /// distributed limiter shared by several instances. The router asks it with <c>AttemptAcquire</c> and never queues in
    /// it; it does not dispose it. A token limiter whose whole limit is below what one call needs (it throws
    /// <see cref="ArgumentOutOfRangeException"/>, as the runtime's limiters do) makes that model ineligible for the call;
    /// when no candidate is left the call fails with an <see cref="EccosRoutingException"/> naming the limiter.
    /// </summary>
    /// <param name="modelOrGroup">A pool model's name, or a group of <see cref="EccosOptions.LimitGroups"/>.</param>
    /// <param name="kind">What its permits are: calls in flight (held until the call ends), requests, or tokens.</param>
    /// <param name="limiter">Creates (or resolves) the limiter from the build's service provider.</param>
    /// <returns>This builder.</returns>
    public EccosBuilder UseRateLimiter(string modelOrGroup, EccosLimitKind kind, Func<IServiceProvider, System.Threading.RateLimiting.RateLimiter> limiter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelOrGroup);
        ArgumentNullException.ThrowIfNull(limiter);
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "The limit kind must be Concurrency, Requests or Tokens.");
        }

        _limiters.Add((modelOrGroup, kind, limiter));
        return this;
    }

    /// <summary>Builds the router; its background loops start at once.</summary>
    /// <param name="services">
    /// The service provider that factories, keyed clients, the time provider, logging and metrics come from;
    /// <see langword="null"/> for none.
    /// </param>
    /// <returns>The router; dispose it (preferably with <see cref="EccosChatClient.DisposeAsync"/>) when done.</returns>
    /// <exception cref="InvalidOperationException">No model was added, no predictor is set or registered, a keyed client is not registered, or a factory returned null.</exception>
    /// <exception cref="Exception">The predictor factory failed before it returned (for example <see cref="ArgumentException"/> for a malformed history): its own exception.</exception>
    /// <exception cref="OptionsValidationException">The options are invalid; the message lists every problem.</exception>
    public EccosChatClient Build(IServiceProvider? services = null)
    {
        services ??= EmptyServiceProvider.Instance;
        EccosOptions options = ResolveOptions(services);
        if (_models.Count == 0)
        {
            throw new InvalidOperationException($"Eccos router '{Name}': add at least one model to the pool (AddModel).");
        }

        CheckPool(options);
        StartedPredictor started = StartPredictor(services);
        _started.Remove(services); // a router takes the predictor it was checked with; another build starts its own
        var setup = new RouterSetup
        {
            Name = Name,
            Options = options,
            Solver = _solver ?? services.GetKeyedService<IAssignmentSolver>(Name) ?? services.GetService<IAssignmentSolver>() ?? new LagrangianAssignmentSolver(),
            Curve = _curve,
            QualitySignal = _qualitySignal,
            QueryFactory = _queryFactory,
            LearnFromTraffic = _learnFromTraffic,
            Time = services.GetService<TimeProvider>() ?? TimeProvider.System,
            LoggerFactory = services.GetService<ILoggerFactory>(),
            MeterFactory = services.GetService<IMeterFactory>(),
            Startup = started.Cancellation,
        };
        var created = new List<IChatClient>();
        try
        {
            foreach (ModelEntry m in _models)
            {
                IChatClient client = Resolve(m, services);
                if (m.Owned)
                {
                    created.Add(client);
                }

                setup.Models.Add(new PoolEntry(client, m.Profile, m.Owned, m.ModelId));
            }

            foreach (Func<IServiceProvider, IOutcomeSink> sink in _sinks)
            {
                setup.AddSink(sink(services) ?? throw new InvalidOperationException($"Eccos router '{Name}': an outcome sink factory returned null."));
            }

            foreach (IEnumerable<SchedulingQuery> queries in _warmUp)
            {
                setup.WarmUp.AddRange(queries);
            }

            foreach ((string target, EccosLimitKind kind, Func<IServiceProvider, System.Threading.RateLimiting.RateLimiter> factory) in _limiters)
            {
                setup.Limiters.Add(new SuppliedLimiter(target, kind, factory(services)
                    ?? throw new InvalidOperationException($"Eccos router '{Name}': the {kind} limiter factory of '{target}' returned null.")));
            }
        }
        catch
        {
            foreach (IChatClient client in created)
            {
                client.Dispose();
            }

            throw;
        }

        Task<PredictorSetup> ready = started.Task;
        if (ready.IsFaulted)
        {
            // Known now (a bad history with a synchronous embedder, a factory that throws): fail the build, not the requests.
            foreach (IChatClient client in created)
            {
                client.Dispose();
            }

            setup.Startup.Dispose();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ready.Exception!.InnerExceptions.Count == 1 ? ready.Exception.InnerExceptions[0] : ready.Exception);
        }

        return new EccosChatClient(setup, ready);
    }

    /// <summary>
    /// Checks what the build would find wrong, without building: the options against the pool, keyed clients and a
    /// predictor in the service provider, and the predictor's creation, which starts here (and is reused by the build)
    /// so that a malformed history fails at start. Called by the container's options validation (ValidateOnStart).
    /// </summary>
    internal IEnumerable<string> ValidateAgainst(IServiceProvider services, EccosOptions options)
    {
        var errors = new List<string>();
        try
        {
            CheckPool(options);
        }
        catch (OptionsValidationException ex)
        {
            errors.AddRange(ex.Failures);
        }

        var keyed = services.GetService<IServiceProviderIsKeyedService>();
        foreach (ModelEntry m in _models.Where(m => m.ServiceKey is not null))
        {
            if (keyed is not null && !keyed.IsKeyedService(typeof(IChatClient), m.ServiceKey))
            {
                errors.Add($"Eccos router '{Name}': model '{m.Profile.Name}' uses the IChatClient keyed '{m.ServiceKey}', which is not registered.");
            }
        }

        if (_models.Count == 0)
        {
            errors.Add($"Eccos router '{Name}': add at least one model to the pool (AddModel).");
        }

        if (_predictor is null)
        {
            var known = services.GetService<IServiceProviderIsService>();
            bool registered = known is null || known.IsService(typeof(IPredictor)) || (keyed?.IsKeyedService(typeof(IPredictor), Name) ?? false);
            if (!registered)
            {
                errors.Add($"Eccos router '{Name}': set a predictor (UsePredictor, UseKnnPredictor) or register an IPredictor.");
            }
        }

        if (errors.Count == 0 && StartPredictor(services).Task is { IsFaulted: true } failed)
        {
            Exception error = failed.Exception!.InnerExceptions.Count == 1 ? failed.Exception.InnerExceptions[0] : failed.Exception;
            errors.Add($"Eccos router '{Name}': the predictor could not be created: {error.Message}");
        }

        return errors;
    }

    /// <summary>Sets the predictor set-up factory (a predictor plus warm-up queries and what the router owns); used by <c>Use…Predictor</c> extensions.</summary>
    internal EccosBuilder UsePredictorSetup(Func<IServiceProvider, IReadOnlyList<ModelProfile>, CancellationToken, Task<PredictorSetup>> factory, bool learnFromTraffic)
    {
        _predictor = factory;
        _learnFromTraffic = learnFromTraffic;
        return this;
    }

    /// <summary>Applies the configure calls to <paramref name="options"/> (the container's named options call this).</summary>
    internal void ApplyConfiguration(EccosOptions options)
    {
        foreach (Action<EccosOptions> configure in _configure)
        {
            configure(options);
        }
    }

    private EccosOptions ResolveOptions(IServiceProvider services)
    {
        EccosOptions options;
        if (OptionsFromServices && services.GetService<IOptionsMonitor<EccosOptions>>() is { } monitor)
        {
            options = monitor.Get(Name).Clone(); // configured and validated by the container
        }
        else
        {
            options = new EccosOptions();
            ApplyConfiguration(options);
        }

        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Name, typeof(EccosOptions), errors.Select(e => $"Eccos router '{Name}': {e}"));
        }

        return options;
    }

    /// <summary>What can only be checked against the pool: options and limiters naming models, and a pool that can take a call at all.</summary>
    private void CheckPool(EccosOptions options)
    {
        string pool = string.Join(", ", _models.Select(m => m.Profile.Name));
        bool IsModel(string name) => _models.Any(m => string.Equals(m.Profile.Name, name, StringComparison.Ordinal));
        var errors = new List<string>();
        foreach (string model in options.Models.Keys.Where(k => !IsModel(k)))
        {
            errors.Add($"EccosOptions.Models['{model}'] names no model of the pool ({pool}).");
        }

        foreach ((string target, EccosLimitKind kind, _) in _limiters.Where(l => !IsModel(l.Target) && !options.LimitGroups.ContainsKey(l.Target)))
        {
            errors.Add($"UseRateLimiter('{target}', {kind}): '{target}' names no model of the pool ({pool}) and no group of EccosOptions.LimitGroups.");
        }

        if (_models.All(m => m.Profile.Capacity == 0))
        {
            errors.Add($"Every model of the pool ({pool}) has capacity 0: no request could ever be served.");
        }

        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Name, typeof(EccosOptions), errors.Select(e => $"Eccos router '{Name}': {e}"));
        }
    }

    /// <summary>Starts creating the predictor for <paramref name="services"/> once (a start-up check and the build share it).</summary>
    private StartedPredictor StartPredictor(IServiceProvider services)
    {
        lock (_started)
        {
            if (_started.TryGetValue(services, out StartedPredictor? started))
            {
                return started;
            }

            var cancellation = new CancellationTokenSource();
            Task<PredictorSetup> task;
            try
            {
                IPredictor? registered = _predictor is null ? services.GetKeyedService<IPredictor>(Name) ?? services.GetService<IPredictor>() : null;
                task = _predictor is not null
                    ? _predictor(services, [.. _models.Select(m => m.Profile)], cancellation.Token)
                        ?? Task.FromException<PredictorSetup>(new InvalidOperationException($"Eccos router '{Name}': the predictor factory returned null."))
                    : registered is not null
                        ? Task.FromResult(new PredictorSetup(registered))
                        : Task.FromException<PredictorSetup>(new InvalidOperationException($"Eccos router '{Name}': set a predictor (UsePredictor, UseKnnPredictor) or register an IPredictor."));
            }
            catch (Exception ex)
            {
                task = Task.FromException<PredictorSetup>(ex);
            }

            started = new StartedPredictor(task, cancellation);
            _started.Add(services, started);
            return started;
        }
    }

    /// <summary>A predictor being created for one service provider, and what cancels its creation.</summary>
    private sealed record StartedPredictor(Task<PredictorSetup> Task, CancellationTokenSource Cancellation);

    private IChatClient Resolve(ModelEntry m, IServiceProvider services)
    {
        if (m.Factory is not null)
        {
            return m.Factory(services) ?? throw new InvalidOperationException($"Eccos router '{Name}': the client factory of model '{m.Profile.Name}' returned null.");
        }

        return services.GetKeyedService<IChatClient>(m.ServiceKey)
            ?? throw new InvalidOperationException($"Eccos router '{Name}': model '{m.Profile.Name}' uses the IChatClient keyed '{m.ServiceKey}', which is not registered.");
    }

    private EccosBuilder Add(ModelEntry model)
    {
        // The public AddModel overloads call this with their own arguments: report them by those names.
#pragma warning disable CA2208 // the names are of the calling AddModel's parameters, which is what the caller passed
        ArgumentNullException.ThrowIfNull(model.Profile, "profile");
        if (model.ModelId is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(model.ModelId, "modelId");
        }

        if (_models.Any(m => string.Equals(m.Profile.Name, model.Profile.Name, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"Eccos router '{Name}': a model named '{model.Profile.Name}' is already in the pool.", "profile");
        }
#pragma warning restore CA2208

        _models.Add(model);
        return this;
    }

    private sealed record ModelEntry(ModelProfile Profile, Func<IServiceProvider, IChatClient>? Factory, bool Owned, string? ModelId, object? ServiceKey);

    private sealed class EmptyServiceProvider : IKeyedServiceProvider
    {
        public static EmptyServiceProvider Instance { get; } = new();

        public object? GetService(Type serviceType) => null;

        public object? GetKeyedService(Type serviceType, object? serviceKey) => null;

        public object GetRequiredKeyedService(Type serviceType, object? serviceKey) =>
            throw new InvalidOperationException($"No service for type '{serviceType}' has been registered (no service provider was given to Build).");
    }
}
