using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <summary>
/// What a quality signal (see <see cref="EccosBuilder.UseQualitySignal"/>) gets to grade one served request: the
/// messages sent, the answer, the model and the routing decision.
/// </summary>
/// <remarks>
/// Quality signals run on the router's background feedback pump, after the caller has its answer, one at a time;
/// they may be slow (an evaluator model) without slowing requests, but the pump drops outcomes when it falls
/// <see cref="EccosOptions.FeedbackQueueLength"/> behind.
/// </remarks>
public sealed class EccosQualityContext
{
    internal EccosQualityContext(IReadOnlyList<ChatMessage> messages, ChatResponse response, string model, EccosDecision decision)
    {
        Messages = messages;
        Response = response;
        Model = model;
        Decision = decision;
    }

    /// <summary>Gets the messages of the request.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; }

    /// <summary>Gets the answer (assembled from the updates for a streamed request).</summary>
    public ChatResponse Response { get; }

    /// <summary>Gets the name of the model that answered.</summary>
    public string Model { get; }

    /// <summary>Gets the routing decision.</summary>
    public EccosDecision Decision { get; }

    /// <summary>Gets the query as the router saw it.</summary>
    public SchedulingQuery Query => Decision.Query;
}
