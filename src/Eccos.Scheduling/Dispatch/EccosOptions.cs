using System.Globalization;

namespace Eccos.Scheduling;

/// <summary>How the <see cref="EccosChatClient"/> decides which model serves a request.</summary>
public enum EccosMode
{
    /// <summary>
    /// Each request is routed at once, by the dual prices (λ, μ_j) of the latest solve over a sliding window of recent
    /// requests: one prediction and an O(M) argmin per request; the prices are refreshed in the background.
    /// </summary>
    Online,

    /// <summary>
    /// Requests wait up to <see cref="EccosOptions.BatchWindow"/> (or until <see cref="EccosOptions.BatchSize"/> of
    /// them are waiting) and are assigned jointly by the <see cref="IAssignmentSolver"/>; requests the capacities
    /// cannot take go to the next batch.
    /// </summary>
    Batched,
}

/// <summary>Options of an <see cref="EccosChatClient"/>. Every property has a documented default.</summary>
/// <remarks>
/// A plain settable POCO so that it binds from configuration. The router copies the values it needs when it is
/// built; later changes have no effect on a running router. <see cref="Validate"/> lists every problem.
/// </remarks>
public sealed class EccosOptions
{
    /// <summary>The default of <see cref="QualityTarget"/>: 0.7.</summary>
    public const double DefaultQualityTarget = 0.7;

    /// <summary>
    /// Gets or sets α, the target for the mean predicted quality of the traffic, in [0, 1]. Default 0.7. The router
    /// spends as little as it can while the mean predicted quality of the requests it routes stays at α or above
    /// (when the pool can reach it).
    /// </summary>
    public double QualityTarget { get; set; } = DefaultQualityTarget;

    /// <summary>Gets or sets the scheduling mode. Default <see cref="EccosMode.Online"/>.</summary>
    public EccosMode Mode { get; set; } = EccosMode.Online;

    /// <summary>
    /// Gets or sets, in <see cref="EccosMode.Batched"/> mode, the longest a request waits for its batch to close,
    /// counted from the first request of the batch. Default 50 ms. Must be positive.
    /// </summary>
    public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Gets or sets, in <see cref="EccosMode.Batched"/> mode, the number of waiting requests that closes a batch
    /// before <see cref="BatchWindow"/> has passed; also the largest batch solved at once. Default 32. At least 1.
    /// </summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>
    /// Gets or sets, in <see cref="EccosMode.Online"/> mode, how many recent requests (their predictions) the
    /// background re-solve looks at. Default 512. At least 1.
    /// </summary>
    public int PriceWindowSize { get; set; } = 512;

    /// <summary>
    /// Gets or sets, in <see cref="EccosMode.Online"/> mode, how often the prices are re-solved while traffic arrives.
    /// Default 1 second. Must be positive.
    /// </summary>
    public TimeSpan PriceRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets how many requests may wait for a free slot of one model (its <see cref="ModelProfile.Capacity"/>
    /// in flight). A request that finds every candidate's queue full fails at once with
    /// <see cref="EccosQueueFullException"/>. In <see cref="EccosMode.Batched"/> mode the requests waiting for a batch
    /// are limited to this times the number of models. Default 256. 0 means "never wait".
    /// </summary>
    public int MaxQueueLength { get; set; } = 256;

    /// <summary>
    /// Gets or sets how many models a request may be tried on (the first choice plus failovers). Default 3. At least 1.
    /// </summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// Gets or sets how many conversations (<see cref="Microsoft.Extensions.AI.ChatOptions.ConversationId"/> →
    /// model) the router remembers; the least recently used is forgotten first. Default 10,000. 0 disables
    /// conversation affinity.
    /// </summary>
    public int ConversationCacheSize { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets how long a conversation unused is remembered. Default 1 hour. Must be positive.
    /// </summary>
    public TimeSpan ConversationExpiry { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Gets or sets how many finished calls may wait for the outcome sinks. When the sinks fall that far behind, new
    /// outcomes are dropped (counted and logged) rather than slowing requests. Default 10,000. At least 1.
    /// </summary>
    public int FeedbackQueueLength { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets how long disposal waits for requests already in flight to finish; calls still running then are
    /// cancelled, and the clients the router owns are disposed. Default 30 seconds. Must not be negative.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the longest one try on one model may take (the whole answer, streamed or not); a try that takes
    /// longer is cancelled and counts as a failure of that model (the request fails over). Default 10 minutes;
    /// <see langword="null"/> for none. Per model: <see cref="EccosModelOptions.AttemptTimeout"/>.
    /// </summary>
    public TimeSpan? AttemptTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Gets or sets, for streamed requests, the longest wait for a model's first update; a model that does not start
    /// answering by then is abandoned (its call cancelled) and the request fails over. Default <see langword="null"/>
    /// (none). Per model: <see cref="EccosModelOptions.FirstTokenTimeout"/>.
    /// </summary>
    public TimeSpan? FirstTokenTimeout { get; set; }

    /// <summary>
    /// Gets or sets the sliding window over which per-minute limits (<see cref="EccosLimitOptions"/>) are enforced,
    /// scaled to its length (a 500-request-per-minute limit admits 250 requests in any 30 seconds). Default 1 minute;
    /// between 1 second and 1 hour.
    /// </summary>
    public TimeSpan RateWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets per-model dispatch settings (rate limits, limit group, timeouts), keyed by model name.</summary>
    public IDictionary<string, EccosModelOptions> Models { get; private set; } = new Dictionary<string, EccosModelOptions>(StringComparer.Ordinal);

    /// <summary>Gets limits shared by several models (one API key or deployment), keyed by group name (see <see cref="EccosModelOptions.LimitGroup"/>).</summary>
    public IDictionary<string, EccosLimitOptions> LimitGroups { get; private set; } = new Dictionary<string, EccosLimitOptions>(StringComparer.Ordinal);

    /// <summary>Gets or sets when throttled or failing models are taken out of rotation, and for how long.</summary>
    public EccosHealthOptions Health { get; set; } = new();

    /// <summary>The longest timer this router can set (the limit of <see cref="ITimer"/>).</summary>
    internal static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>The largest price window (it holds a row of predictions per request).</summary>
    internal const int MaxPriceWindowSize = 1_000_000;

    /// <summary>Returns every problem with these options, one message per property; empty when they are valid.</summary>
    /// <returns>The problems, each naming the property, its value and the rule.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!double.IsFinite(QualityTarget) || QualityTarget < 0 || QualityTarget > 1)
        {
            errors.Add(Problem(nameof(QualityTarget), QualityTarget, "must be a number in [0, 1]"));
        }

        if (!Enum.IsDefined(Mode))
        {
            errors.Add(Problem(nameof(Mode), Mode, "must be Online or Batched"));
        }

        CheckTimeout("EccosOptions", nameof(BatchWindow), BatchWindow, errors);

        if (BatchSize < 1)
        {
            errors.Add(Problem(nameof(BatchSize), BatchSize, "must be at least 1"));
        }

        if (PriceWindowSize < 1 || PriceWindowSize > MaxPriceWindowSize)
        {
            errors.Add(Problem(nameof(PriceWindowSize), PriceWindowSize, $"must lie in [1, {MaxPriceWindowSize}]"));
        }

        CheckTimeout("EccosOptions", nameof(PriceRefreshInterval), PriceRefreshInterval, errors);

        if (MaxQueueLength < 0)
        {
            errors.Add(Problem(nameof(MaxQueueLength), MaxQueueLength, "must not be negative (0 means never wait)"));
        }

        if (MaxAttempts < 1)
        {
            errors.Add(Problem(nameof(MaxAttempts), MaxAttempts, "must be at least 1"));
        }

        if (ConversationCacheSize < 0)
        {
            errors.Add(Problem(nameof(ConversationCacheSize), ConversationCacheSize, "must not be negative (0 disables conversation affinity)"));
        }

        CheckTimeout("EccosOptions", nameof(ConversationExpiry), ConversationExpiry, errors);

        if (FeedbackQueueLength < 1)
        {
            errors.Add(Problem(nameof(FeedbackQueueLength), FeedbackQueueLength, "must be at least 1"));
        }

        if (ShutdownTimeout < TimeSpan.Zero || ShutdownTimeout > MaxTimeout)
        {
            errors.Add(Problem(nameof(ShutdownTimeout), ShutdownTimeout, "must lie between 0 and 49 days"));
        }

        CheckTimeout("EccosOptions", nameof(AttemptTimeout), AttemptTimeout, errors);
        CheckTimeout("EccosOptions", nameof(FirstTokenTimeout), FirstTokenTimeout, errors);
        if (RateWindow < TimeSpan.FromSeconds(1) || RateWindow > TimeSpan.FromHours(1))
        {
            errors.Add(Problem(nameof(RateWindow), RateWindow, "must lie between 1 second and 1 hour"));
        }

        foreach ((string model, EccosModelOptions? m) in Models ?? new Dictionary<string, EccosModelOptions>())
        {
            if (m is null)
            {
                errors.Add($"EccosOptions.Models['{model}'] is null.");
                continue;
            }

            m.Validate($"EccosOptions.Models['{model}']", errors);
            if (m.LimitGroup is { } group && !(LimitGroups?.ContainsKey(group) ?? false))
            {
                errors.Add($"EccosOptions.Models['{model}'].LimitGroup is '{group}'; it must name a group of EccosOptions.LimitGroups.");
            }
        }

        foreach ((string group, EccosLimitOptions? g) in LimitGroups ?? new Dictionary<string, EccosLimitOptions>())
        {
            if (g is null)
            {
                errors.Add($"EccosOptions.LimitGroups['{group}'] is null.");
                continue;
            }

            g.Validate($"EccosOptions.LimitGroups['{group}']", errors);
        }

        if (Health is null)
        {
            errors.Add("EccosOptions.Health is null.");
        }
        else
        {
            Health.Validate(errors);
        }

        return errors;
    }

    /// <summary>Returns a deep copy of these options.</summary>
    /// <returns>A new instance with the same values.</returns>
    public EccosOptions Clone()
    {
        var copy = (EccosOptions)MemberwiseClone();
        copy.Models = (Models ?? new Dictionary<string, EccosModelOptions>()).ToDictionary(kv => kv.Key, kv => kv.Value?.Clone()!, StringComparer.Ordinal);
        copy.LimitGroups = (LimitGroups ?? new Dictionary<string, EccosLimitOptions>()).ToDictionary(
            kv => kv.Key, kv => kv.Value is null ? null! : new EccosLimitOptions { RequestsPerMinute = kv.Value.RequestsPerMinute, TokensPerMinute = kv.Value.TokensPerMinute }, StringComparer.Ordinal);
        copy.Health = Health?.Clone()!;
        return copy;
    }

    /// <summary>Checks a timeout: positive, and within what a timer can wait (about 49.7 days).</summary>
    internal static void CheckTimeout(string path, string property, TimeSpan? value, List<string> errors)
    {
        if (value is { } v && (v <= TimeSpan.Zero || v > MaxTimeout))
        {
            errors.Add(EccosLimitOptions.Problem(path, property, v, "must be positive and at most 49 days (the longest timer)"));
        }
    }

    private static string Problem(string property, object value, string rule) =>
        string.Create(CultureInfo.InvariantCulture, $"EccosOptions.{property} is {value}; it {rule}.");
}
