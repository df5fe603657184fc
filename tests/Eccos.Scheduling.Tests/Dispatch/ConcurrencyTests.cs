using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Tests.Dispatch;

public class ConcurrencyTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Many_concurrent_callers_every_request_completes_once_and_capacities_hold(CancellationToken cancellationToken)
    {
        const int Callers = 64, Requests = 10_000;
        var calls = new ConcurrentDictionary<string, ConcurrentQueue<string>>();
        var profiles = new[] { new ModelProfile("cheap", 0.1, 0.4, capacity: 3), new ModelProfile("mid", 1, 4, capacity: 8), new ModelProfile("strong", 5, 20, capacity: 2) };
        var clients = profiles.Select(p => new FakeChatClient(p.Name)).ToArray();
        foreach (FakeChatClient client in clients)
        {
            string name = client.Name;
            client.Respond = async (_, options, _) =>
            {
                string id = (string)options!.AdditionalProperties![EccosChatClient.QueryIdPropertyKey]!;
                calls.GetOrAdd(id, _ => new()).Enqueue(name);
                await Task.Yield();
                if (name == "mid" && id.GetHashCode(StringComparison.Ordinal) % 10 == 0)
                {
                    throw new HttpRequestException("mid is flaky"); // ~10 % of mid's calls fail over
                }

                return FakeChatClient.Answer(id);
            };
        }

        var builder = new EccosBuilder().UsePredictor(Pools.Predictor()).WithQualityTarget(0.7)
            .Configure(o => { o.MaxQueueLength = Requests; o.PriceRefreshInterval = TimeSpan.FromMilliseconds(20); o.PriceWindowSize = 256; });
        for (int j = 0; j < profiles.Length; j++)
        {
            builder.AddModel(clients[j], profiles[j]);
        }

        await using EccosChatClient router = builder.Build();
        var answered = new ConcurrentDictionary<string, int>();
        int next = -1;
        Task[] callers = Enumerable.Range(0, Callers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Requests)
            {
                string id = "r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var options = new ChatOptions { AdditionalProperties = new() { [EccosChatClient.QueryIdPropertyKey] = id } };
                ChatResponse response = i % 2 == 0
                    ? await router.GetResponseAsync([new ChatMessage(ChatRole.User, id)], options, cancellationToken)
                    : await router.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, id)], options, cancellationToken).ToChatResponseAsync(cancellationToken);
                answered.AddOrUpdate(response.Text, 1, (_, n) => n + 1);
            }
        }, cancellationToken)).ToArray();
        await Task.WhenAll(callers);

        Assert.Multiple(() =>
        {
            Assert.That(answered, Has.Count.EqualTo(Requests), "every request answered");
            Assert.That(answered.Values.All(n => n == 1), Is.True, "each answered once");
            Assert.That(calls.Values.All(q => q.Distinct().Count() == q.Count), Is.True, "never sent twice to the same model");
            for (int j = 0; j < profiles.Length; j++)
            {
                Assert.That(clients[j].MaxInFlight, Is.LessThanOrEqualTo(profiles[j].Capacity!.Value), profiles[j].Name);
                Assert.That(router.GetInFlight(profiles[j].Name), Is.Zero, profiles[j].Name);
            }

            Assert.That(clients.Sum(c => c.Calls), Is.GreaterThan(Requests), "some requests failed over");
        });
    }
}
