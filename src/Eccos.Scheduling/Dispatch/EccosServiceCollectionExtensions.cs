using Eccos.Scheduling;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Eccos routers in an <see cref="IServiceCollection"/>.</summary>
public static class EccosServiceCollectionExtensions
{
    /// <summary>The name of a router registered without one.</summary>
    public const string DefaultName = "eccos";

    /// <summary>Registers an Eccos router named <see cref="DefaultName"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Optionally configures its options.</param>
    /// <returns>A builder to add models, the predictor and the rest.</returns>
    public static IEccosBuilder AddEccos(this IServiceCollection services, Action<EccosOptions>? configure = null) =>
        AddEccos(services, DefaultName, configure);

    /// <summary>
    /// Registers an Eccos router: a keyed singleton <see cref="IChatClient"/> and <see cref="EccosChatClient"/> (key
    /// <paramref name="name"/>) over the models added with the returned builder, with named options
    /// (<paramref name="name"/>) validated at start.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The router's name and service key.</param>
    /// <param name="configure">Optionally configures its options (they may also be bound from configuration as named options).</param>
    /// <returns>A builder to add models, the predictor and the rest.</returns>
    /// <remarks>
    /// The router is created on first resolution and disposed with the container. It disposes only the clients it
    /// created from factories (<see cref="EccosBuilderExtensions.AddModel(IEccosBuilder, ModelProfile, Func{IServiceProvider, IChatClient}, string?)"/>),
    /// never clients resolved from the container. <see cref="TimeProvider"/> comes from the container
    /// (<see cref="TimeProvider.System"/> is added if none is registered), and so do the optional
    /// <c>ILoggerFactory</c> and <c>IMeterFactory</c>.
    /// </remarks>
    /// <exception cref="ArgumentException">A router with this name is already registered.</exception>
    public static IEccosBuilder AddEccos(this IServiceCollection services, string name, Action<EccosOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (services.Any(d => d.ServiceType == typeof(EccosRegistration) && Equals(d.ServiceKey, name)))
        {
            throw new ArgumentException($"An Eccos router named '{name}' is already registered.", nameof(name));
        }

        var registration = new EccosRegistration(name);
        services.AddKeyedSingleton(name, registration);
        OptionsBuilder<EccosOptions> options = services.AddOptions<EccosOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EccosOptions>, EccosOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddKeyedSingleton(name, static (sp, key) => sp.GetRequiredKeyedService<EccosRegistration>(key).Create(sp));
        services.AddKeyedSingleton<IChatClient>(name, static (sp, key) => sp.GetRequiredKeyedService<EccosChatClient>(key));
        return new EccosServiceBuilder(services, name);
    }

    private sealed class EccosServiceBuilder(IServiceCollection services, string name) : IEccosBuilder
    {
        public IServiceCollection Services { get; } = services;

        public string Name { get; } = name;
    }
}
