using System.Diagnostics.Metrics;
using Eccos.Scheduling;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>What <see cref="IEccosBuilder"/> calls collected for one router; turned into the router on first resolution.</summary>
internal sealed class EccosRegistration(string name)
{
    public string Name { get; } = name;

    public List<ModelRegistration> Models { get; } = [];

    public Func<IServiceProvider, IPredictor>? Predictor { get; set; }

    public bool LearnFromTraffic { get; set; } = true;

    public Func<IServiceProvider, IAssignmentSolver>? Solver { get; set; }

    public Func<IServiceProvider, QualityTargetCurve>? Calibration { get; set; }

    /// <summary>Gets or sets the kNN set-up: history, optional embedding generator, options.</summary>
    public (Func<IServiceProvider, IEnumerable<OutcomeRecord>> History, Func<IServiceProvider, IEmbeddingGenerator<string, Embedding<float>>>? Generator, KnnPredictorOptions? Options)? Knn { get; set; }

    public List<Func<IServiceProvider, IOutcomeSink>> Sinks { get; } = [];

    public Func<EccosQualityContext, CancellationToken, ValueTask<double?>>? QualitySignal { get; set; }

    public Func<IEnumerable<ChatMessage>, ChatOptions?, SchedulingQuery>? QueryFactory { get; set; }

    public List<Func<IServiceProvider, IEnumerable<SchedulingQuery>>> WarmUp { get; } = [];

    public static EccosRegistration Of(IEccosBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (ServiceDescriptor d in builder.Services)
        {
            if (d.ServiceType == typeof(EccosRegistration) && Equals(d.ServiceKey, builder.Name) && d.KeyedImplementationInstance is EccosRegistration r)
            {
                return r;
            }
        }

        throw new InvalidOperationException($"No Eccos router named '{builder.Name}' is registered; call services.AddEccos(\"{builder.Name}\") first.");
    }

    public EccosChatClient Create(IServiceProvider services)
    {
        var setup = new RouterSetup
        {
            Name = Name,
            Options = services.GetRequiredService<IOptionsMonitor<EccosOptions>>().Get(Name),
            QualitySignal = QualitySignal,
            QueryFactory = QueryFactory,
            Time = services.GetService<TimeProvider>() ?? TimeProvider.System,
            LoggerFactory = services.GetService<ILoggerFactory>(),
            MeterFactory = services.GetService<IMeterFactory>(),
        };
        foreach (ModelRegistration m in Models)
        {
            IChatClient client = m.Factory is not null
                ? m.Factory(services) ?? throw new InvalidOperationException($"Eccos router '{Name}': the client factory of model '{m.Profile.Name}' returned null.")
                : services.GetKeyedService<IChatClient>(m.ServiceKey)
                    ?? throw new InvalidOperationException($"Eccos router '{Name}': model '{m.Profile.Name}' uses the IChatClient keyed '{m.ServiceKey}', which is not registered.");
            setup.Models.Add(new PoolEntry(client, m.Profile, m.Factory is not null, m.ModelId));
        }

        setup.Calibration = Calibration?.Invoke(services);
        if (Knn is { } knn)
        {
            setup.UseKnn(knn.History(services), knn.Generator?.Invoke(services), knn.Options);
        }

        setup.Predictor ??= Predictor?.Invoke(services) ?? services.GetKeyedService<IPredictor>(Name) ?? services.GetService<IPredictor>();
        setup.Solver = Solver?.Invoke(services) ?? services.GetKeyedService<IAssignmentSolver>(Name) ?? services.GetService<IAssignmentSolver>()
            ?? new LagrangianAssignmentSolver();
        if (LearnFromTraffic && setup.Predictor is IOutcomeSink learner)
        {
            setup.AddSink(learner);
        }

        foreach (Func<IServiceProvider, IOutcomeSink> sink in Sinks)
        {
            setup.AddSink(sink(services));
        }

        foreach (Func<IServiceProvider, IEnumerable<SchedulingQuery>> warmUp in WarmUp)
        {
            setup.WarmUp.AddRange(warmUp(services));
        }

        return setup.Build();
    }

    internal sealed record ModelRegistration(ModelProfile Profile, object? ServiceKey, Func<IServiceProvider, IChatClient>? Factory, string? ModelId);
}
