using System.Diagnostics;

namespace Eccos.Scheduling.Simulation.Tests;

/// <summary>The standalone server, started as a child process from the built dll.</summary>
public class ExeModeTests
{
    [Test]
    public async Task The_exe_serves_the_models_file_and_stops_on_SIGTERM()
    {
        string dll = Path.ChangeExtension(typeof(SimulatedProvider).Assembly.Location, ".dll");
        string models = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"sim-models-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(models, """
            // comments are allowed
            { "seed": 7, "models": { "fast": { "outputTokens": 3, "latency": 5 }, "limited": { "requestsPerWindow": 1, "rateWindow": "00:01:00" } } }
            """);
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--urls", "http://127.0.0.1:0", "--models", models },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(start)!;
        try
        {
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            string? line = await process.StandardOutput.ReadLineAsync().WaitAsync(Sim.Bound);
            Assert.That(line, Does.StartWith("listening on http://127.0.0.1:"), await Finished(stderr));
            var root = new Uri(line!["listening on ".Length..] + "/");

            using IChatClient fast = SimulatedProvider.CreateChatClient(new Uri(root, "v1/"), "fast");
            using IChatClient limited = SimulatedProvider.CreateChatClient(new Uri(root, "v1/"), "limited");
            ChatResponse response = await fast.GetResponseAsync("hi").WaitAsync(Sim.Bound);
            await limited.GetResponseAsync("hi").WaitAsync(Sim.Bound);
            var throttled = (ClientResultException)await Sim.ThrowsAsync(() => limited.GetResponseAsync("hi"));
            using var http = new HttpClient();
            IReadOnlyDictionary<string, SimulatedModelStats> stats = await SimulatedProvider.GetStatsAsync(http, root).WaitAsync(Sim.Bound);

            using (Process kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync().WaitAsync(Sim.Bound);
            }

            await process.WaitForExitAsync().WaitAsync(Sim.Bound);
            Assert.Multiple(() =>
            {
                Assert.That(response.Text, Is.EqualTo("fast: hi fas"), "3 tokens, 12 characters");
                Assert.That(throttled.Status, Is.EqualTo(429));
                Assert.That(stats["limited"].Throttled, Is.EqualTo(1));
                Assert.That(stats["fast"].Completed, Is.EqualTo(1));
                Assert.That(process.ExitCode, Is.Zero, "SIGTERM stops it cleanly");
            });
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            File.Delete(models);
        }
    }

    [Test]
    public async Task The_exe_refuses_a_bad_models_file_with_exit_code_2()
    {
        string dll = Path.ChangeExtension(typeof(SimulatedProvider).Assembly.Location, ".dll");
        string models = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"sim-bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(models, """{ "models": { "m": { "latencyy": 5 } } }""");
        var start = new ProcessStartInfo("dotnet") { ArgumentList = { dll, "--models", models }, RedirectStandardError = true, RedirectStandardOutput = true };
        using Process process = Process.Start(start)!;
        try
        {
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(Sim.Bound);
            Assert.That(process.ExitCode, Is.EqualTo(2));
            Assert.That(await stderr, Does.Contain("latencyy"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            File.Delete(models);
        }
    }

    private static async Task<string> Finished(Task<string> stderr) =>
        await Task.WhenAny(stderr, Task.Delay(1000)) == stderr ? await stderr : "(stderr still open)";
}
