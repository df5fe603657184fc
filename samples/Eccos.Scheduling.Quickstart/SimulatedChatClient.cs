using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Quickstart;

/// <summary>
/// An <see cref="IChatClient"/> that behaves like one simulated model: it answers with the letter the world says,
/// reports real token usage, takes (scaled-down) time to first token plus time per output token, fails transiently at
/// the model's failure rate, and records how many calls it had at once.
/// </summary>
internal sealed class SimulatedChatClient(SimulatedWorld world, SimulatedModel model) : IChatClient
{
    private int _inFlight;
    private int _maxInFlight;

    public SimulatedModel Model { get; } = model;

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        int now = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref _maxInFlight, now);
        try
        {
            SimulatedQuery query = world.Find(messages.Last(m => m.Role == ChatRole.User).Text);
            int output = SimulatedWorld.OutputTokens(query, Model);
            double ms = (Model.FirstTokenMs + (output * Model.MsPerToken)) / world.TimeScale;
            await Task.Delay(TimeSpan.FromMilliseconds(ms), cancellationToken).ConfigureAwait(false);
            if (SimulatedWorld.Fails(Model))
            {
                throw new HttpRequestException($"503 Service Unavailable ({Model.Name} is overloaded)");
            }

            return new ChatResponse(new ChatMessage(ChatRole.Assistant, "Answer: " + SimulatedWorld.Answer(query, Model)))
            {
                ModelId = Model.Name,
                Usage = new UsageDetails { InputTokenCount = query.InputTokens, OutputTokenCount = output },
            };
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ChatResponse response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (ChatResponseUpdate update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
