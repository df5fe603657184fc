using Eccos.Scheduling;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Eccos routers in an <see cref="IServiceCollection"/>.</summary>
public static class EccosServiceCollectionExtensions
{
    /// <summary>
    /// Registers the default Eccos router (named <see cref="EccosBuilder.DefaultName"/>): the container's
    /// <see cref="IChatClient"/> and <see cref="EccosChatClient"/>, unkeyed and keyed by its name.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Optionally configures its options.</param>
    /// <returns>The router's builder: add models, the predictor and the rest to it.</returns>
    /// <exception cref="ArgumentException">A router with this name is already registered.</exception>
    public static EccosBuilder AddEccos(this IServiceCollection services, Action<EccosOptions>? configure = null)
    {
        EccosBuilder builder = AddEccos(services, EccosBuilder.DefaultName, configure);
        services.AddSingleton(static sp => sp.GetRequiredKeyedService<EccosChatClient>(EccosBuilder.DefaultName));
        services.AddSingleton<IChatClient>(static sp => sp.GetRequiredKeyedService<EccosChatClient>(EccosBuilder.DefaultName));
        return builder;
    }

    /// <summary>
    /// Registers a named Eccos router: a keyed singleton <see cref="IChatClient"/> and <see cref="EccosChatClient"/>
    /// (key <paramref name="name"/>) built from the returned builder, with named options (<paramref name="name"/>)
    /// validated at start.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The router's name and service key.</param>
    /// <param name="configure">Optionally configures its options (they may also be bound from configuration as named options).</param>
    /// <returns>The router's builder: add models, the predictor and the rest to it.</returns>
    /// <remarks>
    /// The router is built on first resolution, against the container, and disposed with it. It disposes only the
    /// clients created by factories it was given, never clients resolved from the container. To make a named router
    /// the default <see cref="IChatClient"/>, register <c>sp =&gt; sp.GetRequiredKeyedService&lt;EccosChatClient&gt;(name)</c>.
    /// </remarks>
    /// <exception cref="ArgumentException">A router with this name is already registered.</exception>
    public static EccosBuilder AddEccos(this IServiceCollection services, string name, Action<EccosOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (services.Any(d => d.ServiceType == typeof(EccosBuilder) && Equals(d.ServiceKey, name)))
        {
            throw new ArgumentException($"An Eccos router named '{name}' is already registered.", nameof(name));
        }

        var builder = new EccosBuilder(name) { OptionsFromServices = true };
        services.AddKeyedSingleton(name, builder);
        OptionsBuilder<EccosOptions> options = services.AddOptions<EccosOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Configure(builder.ApplyConfiguration);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EccosOptions>, EccosOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddKeyedSingleton(name, static (sp, key) => sp.GetRequiredKeyedService<EccosBuilder>(key).Build(sp));
        services.AddKeyedSingleton<IChatClient>(name, static (sp, key) => sp.GetRequiredKeyedService<EccosChatClient>(key));
        return builder;
    }
}
