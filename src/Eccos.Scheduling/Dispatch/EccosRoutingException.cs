namespace Eccos.Scheduling;

/// <summary>
/// Thrown by <see cref="EccosChatClient"/> when a request could not be served: every try failed, or no model could
/// take it. <see cref="Attempts"/> lists every try with its model, error and duration.
/// </summary>
public class EccosRoutingException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public EccosRoutingException()
        : this("The request could not be routed to any model.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public EccosRoutingException(string message)
        : base(message)
    {
        Attempts = [];
    }

    /// <summary>Initializes a new instance with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The last error.</param>
    public EccosRoutingException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Attempts = [];
    }

    /// <summary>Initializes a new instance with the tries that were made.</summary>
    /// <param name="message">The message.</param>
    /// <param name="attempts">Every try, in order.</param>
    /// <param name="decision">The routing decision, if one was made.</param>
    public EccosRoutingException(string message, IReadOnlyList<EccosAttempt> attempts, EccosDecision? decision = null)
        : base(message, attempts is { Count: > 0 } ? attempts[^1].Error : null)
    {
        ArgumentNullException.ThrowIfNull(attempts);
        Attempts = attempts;
        Decision = decision;
    }

    /// <summary>Gets every try, in order, with its model, error and duration.</summary>
    public IReadOnlyList<EccosAttempt> Attempts { get; }

    /// <summary>Gets the routing decision, when the request got as far as being scored.</summary>
    public EccosDecision? Decision { get; }
}

/// <summary>
/// Thrown when a request finds every candidate model at its capacity and every one of their waiting queues full
/// (<see cref="EccosOptions.MaxQueueLength"/>): the router fails fast rather than overload a model.
/// </summary>
public sealed class EccosQueueFullException : EccosRoutingException
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public EccosQueueFullException()
        : this("Every candidate model is at capacity and its queue is full.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public EccosQueueFullException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The inner exception.</param>
    public EccosQueueFullException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with the tries made before the queues were found full.</summary>
    /// <param name="message">The message.</param>
    /// <param name="attempts">The tries made before, in order (failovers).</param>
    /// <param name="decision">The routing decision.</param>
    public EccosQueueFullException(string message, IReadOnlyList<EccosAttempt> attempts, EccosDecision? decision)
        : base(message, attempts, decision)
    {
    }
}
