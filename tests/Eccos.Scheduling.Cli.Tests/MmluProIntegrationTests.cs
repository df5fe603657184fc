using System.Text.Json;
using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Cli.Tests;

/// <summary>The real command on the real log, in a configuration that runs in seconds: the task prior, two targets, a capacity.</summary>
public class MmluProIntegrationTests
{
    [Test]
    public async Task Evaluate_OnMmluPro_RealizesReachableTargets_WithinTheCapacities()
    {
        string data = SharedData.RequireDataset("mmlu-pro");
        string folder = Path.Combine(Path.GetTempPath(), "eccos-mmlu-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            string json = Path.Combine(folder, "r.json");
            var (exit, _, error) = await EvaluateCommandTests.RunAsync(
                EccosCli.CreateDefault(),
                "evaluate", "--data", data, "--predictor", "task-prior", "--alpha", "0.6,0.65", "--capacity", "gemini-1.5-pro-002=0.2", "--json", json);
            Assert.That(exit, Is.Zero, error);

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(json));
            JsonElement root = doc.RootElement;
            JsonElement[] runs = [.. root.GetProperty("runs").EnumerateArray()];
            JsonElement[] eccos = [.. runs.Where(r => r.GetProperty("policy").GetString() == "eccos:task-prior")];
            Assert.Multiple(() =>
            {
                Assert.That(root.GetProperty("test_queries").GetInt32(), Is.EqualTo(3586));
                Assert.That(eccos, Has.Length.EqualTo(2));
                Assert.That(eccos.Count(r => r.GetProperty("reachable").GetBoolean()), Is.GreaterThanOrEqualTo(1), "0.6 is well within reach");
                foreach (JsonElement run in eccos.Where(r => r.GetProperty("reachable").GetBoolean()))
                {
                    double alpha = run.GetProperty("alpha").GetDouble();
                    Assert.That(run.GetProperty("success").GetDouble(), Is.GreaterThanOrEqualTo(alpha - 0.015), $"α = {alpha}");
                }

                Assert.That(runs.Select(r => r.GetProperty("capacity_violations").GetInt32()), Is.All.Zero);
                double pro = runs.Single(r => r.GetProperty("policy").GetString() == "single:gemini-1.5-pro-002").GetProperty("success").GetDouble();
                Assert.That(pro, Is.LessThan(0.5), "single:pro is held to its 20% share as well");
            });
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
