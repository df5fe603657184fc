using Eccos.Scheduling;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="EccosOptions"/> (every name) with <see cref="EccosOptions.Validate"/>.</summary>
internal sealed class EccosOptionsValidator : IValidateOptions<EccosOptions>
{
    public ValidateOptionsResult Validate(string? name, EccosOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> errors = options.Validate();
        return errors.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors.Select(e => $"Eccos router '{name}': {e}"));
    }
}
