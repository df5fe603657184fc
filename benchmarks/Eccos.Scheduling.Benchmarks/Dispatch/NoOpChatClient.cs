using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Benchmarks.Dispatch;

/// <summary>A chat client that answers at once with one cached response: the baseline of the overhead benchmarks.</summary>
internal sealed class NoOpChatClient : IChatClient
{
    private static readonly Task<ChatResponse> Response = Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "B"))
    {
        Usage = new UsageDetails { InputTokenCount = 30, OutputTokenCount = 1 },
    });

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => Response;

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
