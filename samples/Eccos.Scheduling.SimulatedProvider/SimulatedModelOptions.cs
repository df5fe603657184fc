using System.Text.Json.Serialization;

namespace Eccos.Scheduling.Simulation;

/// <summary>
/// How one simulated model behaves: its latency, its answers and token usage, the limits the server enforces for it,
/// and the faults it injects. Every property has a documented default; the defaults give a model that answers at once,
/// without limits and without faults.
/// </summary>
/// <remarks>
/// <para>
/// <b>Order.</b> A request naming the model is parsed, its <see cref="Respond"/> answer computed, then admitted or
/// throttled: <see cref="MaxConcurrency"/> first, then <see cref="RequestsPerWindow"/> and <see cref="TokensPerWindow"/>
/// over the sliding <see cref="RateWindow"/>. An admitted request counts in the window whatever happens to it next;
/// a throttled one does not. Then <see cref="Hang"/>, or else one draw of the model's random number picks an HTTP 500
/// (<see cref="FailureRate"/>), a 503 (<see cref="ServiceUnavailableRate"/>), a dropped connection
/// (<see cref="DropConnectionRate"/>) or a normal answer, after the latency.
/// </para>
/// <para>
/// <b>Thread safety.</b> A plain mutable object, not thread-safe. <see cref="SimulatedProvider.StartAsync"/> validates
/// and copies it, so changing it afterwards does nothing; change a running model with
/// <see cref="SimulatedModel.Configure"/>.
/// </para>
/// </remarks>
public sealed class SimulatedModelOptions
{
    /// <summary>
    /// Gets or sets the time a non-streaming request takes from admission to its answer (plus a random part up to
    /// <see cref="Jitter"/>). Default: zero.
    /// </summary>
    public TimeSpan Latency { get; set; }

    /// <summary>
    /// Gets or sets the upper bound of the uniformly drawn extra delay added to <see cref="Latency"/> (non-streaming) or
    /// <see cref="TimeToFirstToken"/> (streaming), drawn from the model's seeded random numbers. Default: zero.
    /// </summary>
    public TimeSpan Jitter { get; set; }

    /// <summary>
    /// Gets or sets the time a streaming request waits from admission to its first content chunk (plus a random part up
    /// to <see cref="Jitter"/>). Default: zero.
    /// </summary>
    public TimeSpan TimeToFirstToken { get; set; }

    /// <summary>
    /// Gets or sets the pace of a stream after its first chunk: chunk <c>i</c> (one per output token) is sent
    /// <c>i / TokensPerSecond</c> seconds after the first. 0 sends all chunks at once. Non-streaming answers ignore it.
    /// Default: 0.
    /// </summary>
    public double TokensPerSecond { get; set; }

    /// <summary>
    /// Gets or sets the output tokens of the default answer: <c>OutputTokens + round(OutputTokensPerPromptToken ×
    /// prompt tokens)</c>. Ignored when <see cref="Respond"/> gives the count. Default: 16.
    /// </summary>
    public int OutputTokens { get; set; } = 16;

    /// <summary>
    /// Gets or sets the output tokens the default answer adds per prompt token, making the length a function of the
    /// prompt (see <see cref="OutputTokens"/>). Default: 0.
    /// </summary>
    public double OutputTokensPerPromptToken { get; set; }

    /// <summary>
    /// Gets or sets the answer hook: the request in, the answer text and its output tokens out. It runs once for every
    /// request naming the model, before admission (its tokens count against <see cref="TokensPerWindow"/>), so also for
    /// requests then throttled; it may be called concurrently and should be deterministic. <see langword="null"/> gives
    /// the default answer: <c>"{model}: {last user message}"</c> repeated or cut to 4 characters per output token. A
    /// hook that throws gives an HTTP 500, counted as failed. Default: <see langword="null"/>. Not read from JSON.
    /// </summary>
    [JsonIgnore]
    public Func<SimulatedRequest, SimulatedAnswer>? Respond { get; set; }

    /// <summary>
    /// Gets or sets how many admitted requests the model serves at once; one more is rejected with
    /// <see cref="ConcurrencyLimitStatusCode"/>. <see langword="null"/> means no limit. Default: <see langword="null"/>.
    /// </summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>
    /// Gets or sets the status code of a request rejected by <see cref="MaxConcurrency"/>: 429 (rate limited) or 503
    /// (overloaded), with <c>Retry-After</c> = <see cref="RetryAfterWhenBusy"/>. Default: 429.
    /// </summary>
    public int ConcurrencyLimitStatusCode { get; set; } = 429;

    /// <summary>
    /// Gets or sets how many requests the model admits within any <see cref="RateWindow"/> (sliding). One more gets HTTP
    /// 429 with <c>Retry-After</c> saying when the oldest admitted request leaves the window. <see langword="null"/>
    /// means no limit. Default: <see langword="null"/>.
    /// </summary>
    public int? RequestsPerWindow { get; set; }

    /// <summary>
    /// Gets or sets how many tokens (prompt + output, as the answer will report them) the admitted requests within any
    /// <see cref="RateWindow"/> may add up to (sliding). A request that would go over gets HTTP 429 with
    /// <c>Retry-After</c> saying when enough tokens have left the window; one larger than the whole limit gets 429 with
    /// <c>Retry-After</c> = the window. <see langword="null"/> means no limit. Default: <see langword="null"/>.
    /// </summary>
    public int? TokensPerWindow { get; set; }

    /// <summary>Gets or sets the length of the sliding window of the request and token limits. Default: 60 s.</summary>
    public TimeSpan RateWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gets or sets the <c>Retry-After</c> sent with a <see cref="MaxConcurrency"/> rejection and with an injected 503,
    /// where the simulation cannot know when capacity returns. Default: 1 s.
    /// </summary>
    public TimeSpan RetryAfterWhenBusy { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the share of admitted requests answered with HTTP 500. In [0, 1]. Default: 0.</summary>
    public double FailureRate { get; set; }

    /// <summary>
    /// Gets or sets the share of admitted requests answered with HTTP 503 and <c>Retry-After</c> =
    /// <see cref="RetryAfterWhenBusy"/>. In [0, 1]. Default: 0.
    /// </summary>
    public double ServiceUnavailableRate { get; set; }

    /// <summary>
    /// Gets or sets the share of admitted requests whose connection is aborted mid-response: a non-streaming answer
    /// after its headers and half its body, a stream after half its content chunks. In [0, 1]. Default: 0.
    /// </summary>
    public double DropConnectionRate { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether admitted requests are accepted and never answered, until the client
    /// disconnects or the provider stops (counted as failed). Default: <see langword="false"/>.
    /// </summary>
    public bool Hang { get; set; }

    /// <summary>
    /// Gets or sets the seed of the model's random numbers (jitter and faults); <see langword="null"/> derives it from
    /// <see cref="SimulatedProviderOptions.Seed"/> and the model's name. Read at start and at
    /// <see cref="SimulatedProvider.Reset"/>. Default: <see langword="null"/>.
    /// </summary>
    public int? Seed { get; set; }

    internal SimulatedModelOptions Clone() => (SimulatedModelOptions)MemberwiseClone();

    /// <summary>Throws when a value is out of range, naming the option and the model.</summary>
    internal void Validate(string model)
    {
        NotNegative(Latency, nameof(Latency));
        NotNegative(Jitter, nameof(Jitter));
        NotNegative(TimeToFirstToken, nameof(TimeToFirstToken));
        NotNegative(RetryAfterWhenBusy, nameof(RetryAfterWhenBusy));
        Check(double.IsFinite(TokensPerSecond) && TokensPerSecond >= 0, nameof(TokensPerSecond), TokensPerSecond, "must be finite and ≥ 0");
        Check(OutputTokens >= 0, nameof(OutputTokens), OutputTokens, "must be ≥ 0");
        Check(double.IsFinite(OutputTokensPerPromptToken) && OutputTokensPerPromptToken >= 0, nameof(OutputTokensPerPromptToken), OutputTokensPerPromptToken, "must be finite and ≥ 0");
        Check(MaxConcurrency is null or >= 1, nameof(MaxConcurrency), MaxConcurrency, "must be ≥ 1 or null");
        Check(ConcurrencyLimitStatusCode is 429 or 503, nameof(ConcurrencyLimitStatusCode), ConcurrencyLimitStatusCode, "must be 429 or 503");
        Check(RequestsPerWindow is null or >= 1, nameof(RequestsPerWindow), RequestsPerWindow, "must be ≥ 1 or null");
        Check(TokensPerWindow is null or >= 1, nameof(TokensPerWindow), TokensPerWindow, "must be ≥ 1 or null");
        Check(RateWindow > TimeSpan.Zero, nameof(RateWindow), RateWindow, "must be positive");
        Rate(FailureRate, nameof(FailureRate));
        Rate(ServiceUnavailableRate, nameof(ServiceUnavailableRate));
        Rate(DropConnectionRate, nameof(DropConnectionRate));
        double sum = FailureRate + ServiceUnavailableRate + DropConnectionRate;
        Check(sum <= 1, nameof(FailureRate), sum, $"plus {nameof(ServiceUnavailableRate)} plus {nameof(DropConnectionRate)} must be ≤ 1");

        void NotNegative(TimeSpan value, string name) => Check(value >= TimeSpan.Zero, name, value, "must be ≥ 0");
        void Rate(double value, string name) => Check(value is >= 0 and <= 1, name, value, "must be in [0, 1]");
        void Check(bool ok, string name, object? value, string rule)
        {
            if (!ok)
            {
                throw new ArgumentOutOfRangeException(name, value, $"SimulatedModelOptions.{name} of model '{model}' {rule}.");
            }
        }
    }
}
