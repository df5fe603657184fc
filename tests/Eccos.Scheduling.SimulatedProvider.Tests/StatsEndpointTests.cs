using System.Net;
using System.Text.Json;

namespace Eccos.Scheduling.Simulation.Tests;

public class StatsEndpointTests
{
    [Test]
    public async Task Stats_and_reset_work_over_plain_HTTP()
    {
        var options = new SimulatedProviderOptions { Models = { ["a"] = new() { RequestsPerWindow = 1 }, ["b"] = new() } };
        await using SimulatedProvider provider = await SimulatedProvider.StartAsync(options);
        Assert.That(await Sim.StatusOfAsync(provider, model: "a"), Is.EqualTo(200));
        Assert.That(await Sim.StatusOfAsync(provider, model: "a"), Is.EqualTo(429));
        using var http = new HttpClient();

        using JsonDocument raw = JsonDocument.Parse(await http.GetStringAsync(new Uri(provider.RootAddress, "stats")));
        JsonElement a = raw.RootElement.GetProperty("models").GetProperty("a");
        IReadOnlyDictionary<string, SimulatedModelStats> typed = await SimulatedProvider.GetStatsAsync(http, provider.RootAddress);
        SimulatedModelStats inProcess = provider.Stats("a");
        using HttpResponseMessage reset = await http.PostAsync(new Uri(provider.RootAddress, "reset"), content: null);
        IReadOnlyDictionary<string, SimulatedModelStats> afterReset = await SimulatedProvider.GetStatsAsync(http, provider.RootAddress);
        int afterResetStatus = await Sim.StatusOfAsync(provider, model: "a");

        Assert.Multiple(() =>
        {
            Assert.That(a.GetProperty("received").GetInt64(), Is.EqualTo(2));
            Assert.That(a.GetProperty("completed").GetInt64(), Is.EqualTo(1));
            Assert.That(a.GetProperty("throttled").GetInt64(), Is.EqualTo(1));
            Assert.That(a.GetProperty("maxInFlight").GetInt32(), Is.EqualTo(1));
            Assert.That(a.GetProperty("completionTokens").GetInt64(), Is.EqualTo(16));
            Assert.That(typed.Keys, Is.EqualTo((string[])["a", "b"]));
            Assert.That(typed["a"], Is.EqualTo(inProcess));
            Assert.That(typed["b"].Received, Is.Zero);
            Assert.That(reset.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(afterReset["a"], Is.EqualTo(new SimulatedModelStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
            Assert.That(afterResetStatus, Is.EqualTo(200), "reset empties the rate window");
            Assert.That(provider.AllStats()["a"].Completed, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Reset_keeps_requests_in_flight_and_counts_them_when_they_end()
    {
        await using SimulatedProvider provider = await Sim.StartAsync(m => m.Hang = true);
        using IChatClient client = provider.CreateChatClient("m");
        using var cancel = new CancellationTokenSource();
        Task<ChatResponse> hung = client.GetResponseAsync("hello", cancellationToken: cancel.Token);
        await Sim.EventuallyAsync(() => provider.Stats("m").Active == 1, "admitted");

        provider.Reset();
        SimulatedModelStats reset = provider.Stats("m");
        await cancel.CancelAsync();
        await Sim.ThrowsAsync(() => hung);
        await Sim.IdleAsync(provider);

        Assert.Multiple(() =>
        {
            Assert.That(reset, Is.EqualTo(new SimulatedModelStats(0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0)));
            Assert.That(provider.Stats("m").Failed, Is.EqualTo(1));
            Assert.That(provider.Stats("m").InFlight, Is.Zero);
        });
    }
}
