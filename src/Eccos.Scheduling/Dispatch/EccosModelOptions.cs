using System.Globalization;

namespace Eccos.Scheduling;

/// <summary>
/// A provider's rate limits: requests and tokens per minute (input plus output tokens), as providers list them. Each
/// is enforced over a sliding window of <see cref="EccosOptions.RateWindow"/>, scaled to its length.
/// </summary>
/// <remarks>A plain settable POCO so that it binds from configuration; <see langword="null"/> means "no limit of this kind".</remarks>
public class EccosLimitOptions
{
    /// <summary>Gets or sets the requests per minute allowed; <see langword="null"/> (the default) for no limit. At least 1.</summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>
    /// Gets or sets the tokens per minute allowed (prompt plus answer); <see langword="null"/> (the default) for no limit.
    /// A call reserves its prompt tokens plus its predicted output tokens when it is admitted, and the reservation is
    /// settled to the usage the model reports when it ends. At least 1.
    /// </summary>
    public int? TokensPerMinute { get; set; }

    internal virtual void Validate(string path, List<string> errors)
    {
        if (RequestsPerMinute is < 1)
        {
            errors.Add(Problem(path, nameof(RequestsPerMinute), RequestsPerMinute, "must be at least 1 (or null for no limit)"));
        }

        if (TokensPerMinute is < 1)
        {
            errors.Add(Problem(path, nameof(TokensPerMinute), TokensPerMinute, "must be at least 1 (or null for no limit)"));
        }
    }

    internal static string Problem(string path, string property, object? value, string rule) =>
        string.Create(CultureInfo.InvariantCulture, $"{path}.{property} is {value ?? "null"}; it {rule}.");
}

/// <summary>
/// Dispatch settings of one pool model (in <see cref="EccosOptions.Models"/>, keyed by the model's name): its own rate
/// limits, the shared limit group it draws from, and timeouts that override the router's.
/// </summary>
/// <remarks>A plain settable POCO so that it binds from configuration (<c>Eccos:Models:gpt-4o:RequestsPerMinute</c>).</remarks>
public sealed class EccosModelOptions : EccosLimitOptions
{
    /// <summary>
    /// Gets or sets the name of a group in <see cref="EccosOptions.LimitGroups"/> whose limits this model shares with the
    /// other models of the group (one API key or deployment); <see langword="null"/> (the default) for none.
    /// </summary>
    public string? LimitGroup { get; set; }

    /// <summary>Gets or sets this model's <see cref="EccosOptions.AttemptTimeout"/>; <see langword="null"/> (the default) for the router's.</summary>
    public TimeSpan? AttemptTimeout { get; set; }

    /// <summary>Gets or sets this model's <see cref="EccosOptions.FirstTokenTimeout"/>; <see langword="null"/> (the default) for the router's.</summary>
    public TimeSpan? FirstTokenTimeout { get; set; }

    internal EccosModelOptions Clone() => (EccosModelOptions)MemberwiseClone();

    internal override void Validate(string path, List<string> errors)
    {
        base.Validate(path, errors);
        EccosOptions.CheckTimeout(path, nameof(AttemptTimeout), AttemptTimeout, errors);
        EccosOptions.CheckTimeout(path, nameof(FirstTokenTimeout), FirstTokenTimeout, errors);
    }
}

/// <summary>
/// When a model is taken out of rotation: throttling cools it down, repeated failures open its circuit; either makes it
/// ineligible until it may be tried again (one probe request when a circuit half-opens). Modelled on Polly's advanced
/// circuit breaker (failure ratio over a sampling window, with a minimum throughput).
/// </summary>
/// <remarks>A plain settable POCO so that it binds from configuration.</remarks>
public sealed class EccosHealthOptions
{
    /// <summary>
    /// Gets or sets the failure ratio (failed calls over calls in <see cref="SamplingDuration"/>) at which a model's
    /// circuit opens, in (0, 1]. Default 0.5. Throttling (429, 503) does not count: it cools the model down instead.
    /// </summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Gets or sets the window over which the failure ratio is measured. Default 30 seconds. Must be positive.</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the calls a window needs before its ratio may open the circuit. Default 10. At least 1.</summary>
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>
    /// Gets or sets the consecutive failures that open the circuit whatever the ratio (a model that hangs or refuses
    /// every call). Default 5. At least 1.
    /// </summary>
    public int ConsecutiveFailures { get; set; } = 5;

    /// <summary>Gets or sets how long an opened circuit stays open before one probe is let through. Default 5 seconds. Must be positive.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets the first cool-down after throttling that came without a Retry-After header; it doubles (with ±20 %
    /// jitter) with each throttle in a row, up to <see cref="MaxCooldown"/>. Default 1 second. Must be positive.
    /// </summary>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the longest cool-down, also the cap on a provider's Retry-After. Default 2 minutes. At least <see cref="Cooldown"/>.</summary>
    public TimeSpan MaxCooldown { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Gets or sets a value indicating whether a throttled model gets a learned request rate: when it is throttled after
    /// taking at least 10 requests in the current <see cref="EccosOptions.RateWindow"/>, its rate is cut to 80 % of what it
    /// took, and the rate it was throttled at becomes its ceiling. After each window without a throttle the rate grows by
    /// 5 % up to 90 % of the ceiling, then by 1 % after every 2 clean windows, a wait that doubles (up to 64 windows) each
    /// time the model is throttled again near the same ceiling; a rate 5 % past the ceiling without a throttle becomes the
    /// new ceiling. So traffic stops running into a provider limit nobody configured, and a steady limit is probed ever
    /// more rarely. Default <see langword="true"/>.
    /// </summary>
    public bool LearnRateLimits { get; set; } = true;

    internal EccosHealthOptions Clone() => (EccosHealthOptions)MemberwiseClone();

    internal void Validate(List<string> errors)
    {
        const string Path = "EccosOptions.Health";
        if (!(FailureRatio > 0 && FailureRatio <= 1))
        {
            errors.Add(EccosLimitOptions.Problem(Path, nameof(FailureRatio), FailureRatio, "must lie in (0, 1]"));
        }

        if (MinimumThroughput < 1)
        {
            errors.Add(EccosLimitOptions.Problem(Path, nameof(MinimumThroughput), MinimumThroughput, "must be at least 1"));
        }

        if (ConsecutiveFailures < 1)
        {
            errors.Add(EccosLimitOptions.Problem(Path, nameof(ConsecutiveFailures), ConsecutiveFailures, "must be at least 1"));
        }

        EccosOptions.CheckTimeout(Path, nameof(SamplingDuration), SamplingDuration, errors);
        EccosOptions.CheckTimeout(Path, nameof(BreakDuration), BreakDuration, errors);
        EccosOptions.CheckTimeout(Path, nameof(Cooldown), Cooldown, errors);
        EccosOptions.CheckTimeout(Path, nameof(MaxCooldown), MaxCooldown, errors);
        if (MaxCooldown < Cooldown)
        {
            errors.Add(EccosLimitOptions.Problem(Path, nameof(MaxCooldown), MaxCooldown, "must not be below Cooldown"));
        }
    }
}
