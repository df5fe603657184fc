namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Configures one Eccos router registered by
/// <see cref="EccosServiceCollectionExtensions.AddEccos(IServiceCollection, string, System.Action{Eccos.Scheduling.EccosOptions}?)"/>;
/// see <see cref="EccosBuilderExtensions"/> for what can be configured.
/// </summary>
public interface IEccosBuilder
{
    /// <summary>Gets the service collection the router is registered in.</summary>
    IServiceCollection Services { get; }

    /// <summary>Gets the router's name: the key of its <c>IChatClient</c> and <c>EccosChatClient</c> registrations and of its options.</summary>
    string Name { get; }
}
