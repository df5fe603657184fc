using Eccos.Scheduling;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Validates <see cref="EccosOptions"/> (every name) with <see cref="EccosOptions.Validate"/> and, for a router
/// registered by <c>AddEccos</c>, checks its pool, clients and predictor against the container.
/// </summary>
internal sealed class EccosOptionsValidator(IServiceProvider services) : IValidateOptions<EccosOptions>
{
    public ValidateOptionsResult Validate(string? name, EccosOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate().Select(e => $"Eccos router '{name}': {e}").ToList();
        if (errors.Count == 0 && name is not null && services.GetKeyedService<EccosBuilder>(name) is { } builder)
        {
            // What the build would find wrong — keyed clients, a predictor, a malformed history — fails at start too.
            errors.AddRange(builder.ValidateAgainst(services, options));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
