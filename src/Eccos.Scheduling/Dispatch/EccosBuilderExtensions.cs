using Eccos.Scheduling;
using Microsoft.Extensions.AI;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures an Eccos router registered with <c>services.AddEccos(...)</c>.</summary>
public static class EccosBuilderExtensions
{
    /// <summary>Adds a model whose client is the <see cref="IChatClient"/> registered in the container under <paramref name="serviceKey"/>.</summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="serviceKey">The key of the client's keyed <see cref="IChatClient"/> registration (for example from <c>AddKeyedChatClient</c>).</param>
    /// <param name="profile">The model's name, prices and capacity.</param>
    /// <param name="modelId">An optional model id put into <see cref="ChatOptions.ModelId"/> of every call to this client.</param>
    /// <returns>The builder.</returns>
    /// <remarks>The container owns the client: the router never disposes it.</remarks>
    /// <exception cref="ArgumentException">A model of that name is already in this router's pool.</exception>
    public static IEccosBuilder AddModel(this IEccosBuilder builder, object serviceKey, ModelProfile profile, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        return Add(builder, new EccosRegistration.ModelRegistration(profile, serviceKey, null, modelId));
    }

    /// <summary>Adds a model whose client the router creates with <paramref name="factory"/> and owns (disposes).</summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="profile">The model's name, prices and capacity.</param>
    /// <param name="factory">Creates the client when the router is created.</param>
    /// <param name="modelId">An optional model id put into <see cref="ChatOptions.ModelId"/> of every call to this client.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A model of that name is already in this router's pool.</exception>
    public static IEccosBuilder AddModel(this IEccosBuilder builder, ModelProfile profile, Func<IServiceProvider, IChatClient> factory, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Add(builder, new EccosRegistration.ModelRegistration(profile, null, factory, modelId));
    }

    /// <summary>
    /// Sets the predictor. Without this call the router uses the <see cref="IPredictor"/> keyed by its name, or else
    /// the unkeyed one, from the container.
    /// </summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="factory">Creates (or resolves) the predictor; the router does not dispose it.</param>
    /// <param name="learnFromTraffic">When the predictor is an <see cref="IOutcomeSink"/>, whether it receives every call's outcome. Default <see langword="true"/>.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder UsePredictor(this IEccosBuilder builder, Func<IServiceProvider, IPredictor> factory, bool learnFromTraffic = true)
    {
        ArgumentNullException.ThrowIfNull(factory);
        EccosRegistration r = EccosRegistration.Of(builder);
        r.Predictor = factory;
        r.LearnFromTraffic = learnFromTraffic;
        return builder;
    }

    /// <summary>Sets the predictor to the <typeparamref name="TPredictor"/> registered in the container (which owns it).</summary>
    /// <typeparam name="TPredictor">The predictor's registered type.</typeparam>
    /// <param name="builder">The router's builder.</param>
    /// <param name="learnFromTraffic">When the predictor is an <see cref="IOutcomeSink"/>, whether it receives every call's outcome. Default <see langword="true"/>.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder UsePredictor<TPredictor>(this IEccosBuilder builder, bool learnFromTraffic = true)
        where TPredictor : class, IPredictor =>
        UsePredictor(builder, static sp => sp.GetRequiredService<TPredictor>(), learnFromTraffic);

    /// <summary>
    /// Uses a <see cref="KnnPredictor"/> built from recorded outcomes when the router is created (see
    /// <see cref="EccosBuilder.UseKnnPredictor"/>): it learns from every call and its history gives the first prices.
    /// </summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="history">Returns the recorded outcomes (for example <c>OutcomeLog.Read(path)</c>).</param>
    /// <param name="embeddingGenerator">
    /// Returns the embedding generator (for example one registered in the container, which then owns it); default: a
    /// <see cref="HashingEmbeddingGenerator"/> fitted on the history, owned by the router.
    /// </param>
    /// <param name="options">
    /// The kNN options; <see langword="null"/> for the defaults with <see cref="KnnPredictorOptions.Search"/> =
    /// <see cref="KnnSearch.Clustered"/>, as in <see cref="EccosBuilder.UseKnnPredictor"/>.
    /// </param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder UseKnnPredictor(
        this IEccosBuilder builder,
        Func<IServiceProvider, IEnumerable<OutcomeRecord>> history,
        Func<IServiceProvider, IEmbeddingGenerator<string, Embedding<float>>>? embeddingGenerator = null,
        KnnPredictorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        EccosRegistration.Of(builder).Knn = (history, embeddingGenerator, options);
        return builder;
    }

    /// <summary>Makes α a target on realized quality through a calibration (see <see cref="EccosBuilder.UseQualityTargetCurve"/>).</summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="calibration">Returns the calibration of the predictor in use.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder UseQualityTargetCurve(this IEccosBuilder builder, Func<IServiceProvider, QualityTargetCurve> calibration)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        EccosRegistration.Of(builder).Calibration = calibration;
        return builder;
    }

    /// <summary>
    /// Sets the assignment solver. Without this call the router uses the <see cref="IAssignmentSolver"/> keyed by its
    /// name, or else the unkeyed one, from the container, or else a <see cref="LagrangianAssignmentSolver"/>.
    /// </summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="factory">Creates (or resolves) the solver.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder UseSolver(this IEccosBuilder builder, Func<IServiceProvider, IAssignmentSolver> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        EccosRegistration.Of(builder).Solver = factory;
        return builder;
    }

    /// <summary>Sets α, the quality target.</summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="alpha">A number in [0, 1] (checked when the options are validated).</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder WithQualityTarget(this IEccosBuilder builder, double alpha) =>
        Configure(builder, o => o.QualityTarget = alpha);

    /// <summary>Configures the router's named options.</summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="configure">Changes the options.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder Configure(this IEccosBuilder builder, Action<EccosOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(builder.Name, configure);
        return builder;
    }

    /// <summary>Adds an outcome sink (for example an <see cref="OutcomeLogWriter"/>); the router does not dispose it.</summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="factory">Creates (or resolves) the sink.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder AddOutcomeSink(this IEccosBuilder builder, Func<IServiceProvider, IOutcomeSink> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        EccosRegistration.Of(builder).Sinks.Add(factory);
        return builder;
    }

    /// <summary>Adds the <typeparamref name="TSink"/> registered in the container as an outcome sink.</summary>
    /// <typeparam name="TSink">The sink's registered type.</typeparam>
    /// <param name="builder">The router's builder.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder AddOutcomeSink<TSink>(this IEccosBuilder builder)
        where TSink : class, IOutcomeSink =>
        AddOutcomeSink(builder, static sp => sp.GetRequiredService<TSink>());

    /// <summary>Sets the quality signal that grades served answers (see <see cref="EccosBuilder.UseQualitySignal"/>).</summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="signal">The grader.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder UseQualitySignal(this IEccosBuilder builder, Func<EccosQualityContext, CancellationToken, ValueTask<double?>> signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        EccosRegistration.Of(builder).QualitySignal = signal;
        return builder;
    }

    /// <summary>Sets how a request becomes a <see cref="SchedulingQuery"/> (see <see cref="EccosBuilder.UseQueryFactory"/>).</summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="factory">Builds the query.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder UseQueryFactory(this IEccosBuilder builder, Func<IEnumerable<ChatMessage>, ChatOptions?, SchedulingQuery> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        EccosRegistration.Of(builder).QueryFactory = factory;
        return builder;
    }

    /// <summary>Adds queries to solve the first online prices from (see <see cref="EccosBuilder.WarmUpWith"/>).</summary>
    /// <param name="builder">The router's builder.</param>
    /// <param name="queries">Returns representative queries when the router is created.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder WarmUpWith(this IEccosBuilder builder, Func<IServiceProvider, IEnumerable<SchedulingQuery>> queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        EccosRegistration.Of(builder).WarmUp.Add(queries);
        return builder;
    }

    /// <summary>Also registers the router as the container's default (unkeyed) <see cref="IChatClient"/>.</summary>
    /// <param name="builder">The router's builder.</param>
    /// <returns>The builder.</returns>
    public static IEccosBuilder AsDefaultChatClient(this IEccosBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string name = builder.Name;
        builder.Services.AddSingleton<IChatClient>(sp => sp.GetRequiredKeyedService<EccosChatClient>(name));
        return builder;
    }

    private static IEccosBuilder Add(IEccosBuilder builder, EccosRegistration.ModelRegistration model)
    {
        ArgumentNullException.ThrowIfNull(model.Profile);
        EccosRegistration r = EccosRegistration.Of(builder);
        if (r.Models.Any(m => string.Equals(m.Profile.Name, model.Profile.Name, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"Eccos router '{r.Name}': a model named '{model.Profile.Name}' is already in the pool.", nameof(model));
        }

        r.Models.Add(model);
        return builder;
    }
}
