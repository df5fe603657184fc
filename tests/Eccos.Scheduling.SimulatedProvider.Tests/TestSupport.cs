using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Simulation.Tests;

/// <summary>Starting providers, sending requests through the official OpenAI SDK, and bounded waits.</summary>
internal static class Sim
{
    /// <summary>The bound of every wait in these tests: far above what any step needs, so only a hang reaches it.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static readonly ChatMessage[] Hello = [new(ChatRole.User, "hello")];

    /// <summary>A provider with one model, "m", configured by <paramref name="configure"/>.</summary>
    public static Task<SimulatedProvider> StartAsync(Action<SimulatedModelOptions>? configure = null, TimeProvider? time = null, int seed = 1)
    {
        var model = new SimulatedModelOptions();
        configure?.Invoke(model);
        var options = new SimulatedProviderOptions { Seed = seed, TimeProvider = time ?? TimeProvider.System, Models = { ["m"] = model } };
        return SimulatedProvider.StartAsync(options);
    }

    /// <summary>A fake clock for exact window tests.</summary>
    public static FakeTimeProvider FakeClock() => new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Sends one non-streaming request to "m" and gives its HTTP status: 200, or the status of the <see cref="ClientResultException"/>.</summary>
    public static async Task<int> StatusOfAsync(SimulatedProvider provider, string text = "hello", string model = "m")
    {
        using IChatClient client = provider.CreateChatClient(model);
        try
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, text)]).WaitAsync(Bound);
            return 200;
        }
        catch (ClientResultException e)
        {
            return e.Status;
        }
    }

    /// <summary>The exception a call throws (fails the test if it throws none or takes longer than <see cref="Bound"/>).</summary>
    public static async Task<Exception> ThrowsAsync(Func<Task> call)
    {
        Task task = call();
        if (await Task.WhenAny(task, Task.Delay(Bound)) != task)
        {
            Assert.Fail($"The call did not end within {Bound}.");
        }

        try
        {
            await task;
        }
        catch (Exception e)
        {
            return e;
        }

        Assert.Fail("The call did not throw.");
        throw new UnreachableException();
    }

    /// <summary>Polls <paramref name="condition"/> every 10 ms until it holds; fails the test after <see cref="Bound"/>.</summary>
    public static Task EventuallyAsync(Func<bool> condition, string what) => Bounded.EventuallyAsync(condition, what, Bound);

    /// <summary>Waits until the model has no request in flight (abandoned requests end when the server notices).</summary>
    public static Task IdleAsync(SimulatedProvider provider, string model = "m") =>
        EventuallyAsync(() => provider.Stats(model).InFlight == 0, $"model {model} idle");

    /// <summary>The text and usage of a streamed answer.</summary>
    public static async Task<(string Text, int Updates, UsageDetails? Usage)> StreamAsync(IChatClient client, IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken ct = default)
    {
        var text = new System.Text.StringBuilder();
        int updates = 0;
        UsageDetails? usage = null;
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(messages, options, ct))
        {
            updates++;
            text.Append(update.Text);
            usage = update.Contents.OfType<UsageContent>().SingleOrDefault()?.Details ?? usage;
        }

        return (text.ToString(), updates, usage);
    }
}
