namespace Eccos.Scheduling;

/// <summary>Why a request went where it went.</summary>
public enum EccosRouteReason
{
    /// <summary>Scored over the pool by predicted cost and quality at the current prices (or, before the first solve, by the threshold rule).</summary>
    Scheduled,

    /// <summary>Assigned by a joint solve of its batch (<see cref="EccosMode.Batched"/>).</summary>
    Batched,

    /// <summary>The request continues a conversation that the chosen model holds (<see cref="Microsoft.Extensions.AI.ChatOptions.ConversationId"/>).</summary>
    ConversationAffinity,

    /// <summary>The request named a pool model in <see cref="Microsoft.Extensions.AI.ChatOptions.ModelId"/>.</summary>
    Pinned,
}

/// <summary>Whether a model takes calls (see <see cref="EccosHealthOptions"/>).</summary>
public enum EccosModelHealth
{
    /// <summary>The model takes calls.</summary>
    Healthy,

    /// <summary>The provider throttled it (HTTP 429 or 503): it rests until its Retry-After, or an exponential back-off, has passed.</summary>
    CoolingDown,

    /// <summary>Its circuit is open after failures: it takes no call until the break has passed.</summary>
    Broken,

    /// <summary>Its circuit is half open: one probe call may go to it; its outcome closes or reopens the circuit.</summary>
    Probing,
}

/// <summary>One model as the router saw it for one request.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="PredictedQuality">Predicted probability that the model answers well, a_j.</param>
/// <param name="PredictedCost">Predicted cost of the call, c_j, in the prices' currency.</param>
/// <param name="Score">
/// The routing score c_j − λ·a_j/N + μ_j (lower is better); <see cref="double.NaN"/> before the first solve, when the
/// order follows the threshold rule instead.
/// </param>
/// <param name="Eligible">Whether the model could take the request at all (predictor eligibility and a capacity above 0).</param>
public sealed record EccosCandidate(string Model, double PredictedQuality, double PredictedCost, double Score, bool Eligible)
{
    /// <summary>Gets the model's health when the request was planned (a model not <see cref="EccosModelHealth.Healthy"/> is passed over until it recovers).</summary>
    public EccosModelHealth Health { get; init; }
}

/// <summary>One try of one request on one model.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Error">The error of a failed try; <see langword="null"/> when the try succeeded.</param>
/// <param name="Duration">How long the call took (from sending to the answer or the error).</param>
/// <param name="QueueWait">How long the request waited for a free slot of this model before the call.</param>
public sealed record EccosAttempt(string Model, Exception? Error, TimeSpan Duration, TimeSpan QueueWait);

/// <summary>
/// How the router routed one request: the chosen model, what it predicted for every model, the prices and the tries.
/// Returned in <c>ChatResponse.AdditionalProperties["eccos.decision"]</c> and on the first streaming update.
/// </summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed class EccosDecision
{
    /// <summary>The key of the decision in <c>AdditionalProperties</c> of a response or a streaming update.</summary>
    public const string PropertyKey = "eccos.decision";

    internal EccosDecision(
        string? model,
        EccosRouteReason reason,
        SchedulingQuery query,
        IReadOnlyList<EccosCandidate> candidates,
        EccosPrices? prices,
        IReadOnlyList<EccosAttempt> attempts)
    {
        Model = model;
        Reason = reason;
        Query = query;
        Candidates = candidates;
        Prices = prices;
        Attempts = attempts;
    }

    /// <summary>Gets the model that served the request; <see langword="null"/> when every try failed.</summary>
    public string? Model { get; }

    /// <summary>Gets why the request went where it went.</summary>
    public EccosRouteReason Reason { get; }

    /// <summary>Gets the query as the router saw it (text, estimated prompt tokens, task, id).</summary>
    public SchedulingQuery Query { get; }

    /// <summary>
    /// Gets every model of the pool with its predicted quality, cost and score, in pool order; empty when the request
    /// was not scored (conversation affinity or pinned).
    /// </summary>
    public IReadOnlyList<EccosCandidate> Candidates { get; }

    /// <summary>Gets the prices the request was scored with; <see langword="null"/> before the first solve.</summary>
    public EccosPrices? Prices { get; }

    /// <summary>Gets every try, in order; the last one succeeded unless <see cref="Model"/> is <see langword="null"/>.</summary>
    public IReadOnlyList<EccosAttempt> Attempts { get; }

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Model ?? "(failed)"} by {Reason}, λ={Prices?.QualityPrice ?? double.NaN:G4}, {Attempts.Count} attempt(s)");
}

/// <summary>
/// The dual prices the online router scores requests with: λ, the price of quality, and μ_j, the price of each model's
/// capacity, from one solve over <see cref="WindowSize"/> recent requests.
/// </summary>
/// <remarks>
/// A request's score on model j is <c>c_j − λ·a_j/N + μ_j</c> with <c>N = </c><see cref="WindowSize"/>, the same
/// scale as in the solve. Immutable; safe to share between threads.
/// </remarks>
public sealed class EccosPrices
{
    internal EccosPrices(double qualityPrice, double[] capacityPrices, int windowSize, IReadOnlyList<string> models, DateTimeOffset solvedAt, AssignmentStatus status, TimeSpan solveDuration)
    {
        QualityPrice = qualityPrice;
        CapacityPricesArray = capacityPrices;
        WindowSize = windowSize;
        Models = models;
        SolvedAt = solvedAt;
        Status = status;
        SolveDuration = solveDuration;
    }

    /// <summary>Gets λ ≥ 0, the price of one unit of mean quality over the window.</summary>
    public double QualityPrice { get; }

    /// <summary>Gets μ_j ≥ 0 per model, in pool order.</summary>
    public IReadOnlyList<double> CapacityPrices => CapacityPricesArray;

    /// <summary>Gets N, the number of requests of the solve that produced these prices.</summary>
    public int WindowSize { get; }

    /// <summary>Gets the models, in the order of <see cref="CapacityPrices"/>.</summary>
    public IReadOnlyList<string> Models { get; }

    /// <summary>Gets when the solve finished.</summary>
    public DateTimeOffset SolvedAt { get; }

    /// <summary>Gets how the solve ended.</summary>
    public AssignmentStatus Status { get; }

    /// <summary>Gets how long the solve took.</summary>
    public TimeSpan SolveDuration { get; }

    internal double[] CapacityPricesArray { get; }

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"λ={QualityPrice:G6} over N={WindowSize}, μ=[{string.Join(", ", CapacityPricesArray.Select(m => m.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)))}]");
}
