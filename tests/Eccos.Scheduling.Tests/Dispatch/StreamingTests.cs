using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Tests.Dispatch;

public class StreamingTests
{
    private static readonly ChatMessage[] Hello = [new(ChatRole.User, "Tell me a story.")];

    [Test]
    public async Task A_conversation_id_from_streamed_updates_binds_the_conversation_to_the_model()
    {
        var (builder, _, mid, strong) = Pools.Three(alpha: 0.9);
        strong.Stream = (_, _, _) => Updates("thread-9");
        await using EccosChatClient router = builder.Build();

        await router.GetStreamingResponseAsync(Hello).ToChatResponseAsync().Within();
        ChatResponse next = await router.GetResponseAsync(Hello, new ChatOptions { ConversationId = "thread-9" }).Within();

        Assert.Multiple(() =>
        {
            Assert.That(((EccosDecision)next.AdditionalProperties![EccosDecision.PropertyKey]!).Reason, Is.EqualTo(EccosRouteReason.ConversationAffinity));
            Assert.That(strong.Calls, Is.EqualTo(2));
            Assert.That(mid.Calls, Is.Zero);
            Assert.That(router.ConversationCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Cancelling_mid_stream_ends_with_OperationCanceledException_and_frees_the_slot()
    {
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.7, capacity: 1);
        mid.Stream = (_, _, ct) => Endless(ct);
        await using EccosChatClient router = builder.Build();
        using var cts = new CancellationTokenSource();

        int received = 0;
        Assert.That(async () =>
        {
            await foreach (ChatResponseUpdate _ in router.GetStreamingResponseAsync(Hello, cancellationToken: cts.Token))
            {
                if (++received == 3)
                {
                    await cts.CancelAsync();
                }
            }
        }, Throws.InstanceOf<OperationCanceledException>());

        Assert.Multiple(() =>
        {
            Assert.That(received, Is.EqualTo(3));
            Assert.That((cheap.Calls, mid.Calls, strong.Calls), Is.EqualTo((0, 1, 0)));
            Assert.That(router.GetInFlight("mid"), Is.Zero);
        });
    }

    [Test]
    public async Task A_caller_that_stops_reading_early_frees_the_slot()
    {
        var (builder, _, mid, _) = Pools.Three(alpha: 0.7, capacity: 1);
        mid.Stream = (_, _, ct) => Endless(ct);
        await using EccosChatClient router = builder.Build();

        await foreach (ChatResponseUpdate _ in router.GetStreamingResponseAsync(Hello))
        {
            break;
        }

        Assert.That(router.GetInFlight("mid"), Is.Zero);
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Updates(string conversationId)
    {
        await Task.Yield();
        yield return new ChatResponseUpdate(ChatRole.Assistant, "once upon a time") { ConversationId = conversationId };
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Endless([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (int i = 0; ; i++)
        {
            await Task.Delay(1, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, "word" + i + " ");
        }
    }
}
