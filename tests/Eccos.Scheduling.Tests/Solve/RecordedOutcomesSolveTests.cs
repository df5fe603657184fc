using System.Text.Json;
using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Solve;

/// <summary>
/// The solver on the recorded MMLU-Pro outcomes (12,032 queries × 12 models, some models missing for some queries):
/// quality predictions made here from the recorded scores (half the model's accuracy on the query's subject, half the
/// query's own score), costs from the recorded token counts and list prices. Nothing derived is written anywhere.
/// </summary>
public class RecordedOutcomesSolveTests
{
    private static readonly Lazy<PredictionMatrix?> Predictions = new(Load);

    [TestCase(0.6, false)]
    [TestCase(0.6, true)]
    [TestCase(0.75, true)]
    public void Meets_the_target_within_half_a_percent_of_the_bound_and_beats_the_threshold_router(double alpha, bool capacities)
    {
        PredictionMatrix p = Require();
        int[]? caps = null;
        if (capacities)
        {
            // the two cheapest models may take 5 % of the batch each
            caps = Enumerable.Repeat(AssignmentConstraints.Unlimited, p.ModelCount).ToArray();
            foreach (int j in Enumerable.Range(0, p.ModelCount).OrderBy(j => p.Models[j].InputPricePerMillionTokens + p.Models[j].OutputPricePerMillionTokens).Take(2))
            {
                caps[j] = p.QueryCount / 20;
            }
        }

        var c = new AssignmentConstraints { QualityTarget = alpha, Capacities = caps };
        AssignmentResult r = new LagrangianAssignmentSolver().Solve(p, c);
        AssignmentResult threshold = new ThresholdAssignmentSolver().Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.Multiple(() =>
        {
            Assert.That(r.IsFeasible, Is.True, r.Status.ToString());
            Assert.That(r.MeanQuality, Is.GreaterThanOrEqualTo(alpha - 1e-9));
            Assert.That(r.Gap, Is.LessThanOrEqualTo(0.005));
            Assert.That(threshold.IsFeasible, Is.True, "the threshold router meets these targets too");
            Assert.That(r.TotalCost, Is.LessThan(threshold.TotalCost));
        });
    }

    [Test]
    public void Budget_mode_spends_the_budget_on_quality()
    {
        PredictionMatrix p = Require();
        var c = new AssignmentConstraints { CostBudget = 1.0 };
        AssignmentResult r = new LagrangianAssignmentSolver().Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.Multiple(() =>
        {
            Assert.That(r.IsFeasible, Is.True, r.Status.ToString());
            Assert.That(r.TotalCost, Is.LessThanOrEqualTo(1.0 + 1e-9));
            Assert.That(r.Gap, Is.LessThanOrEqualTo(0.005));
            Assert.That(r.MeanQuality, Is.GreaterThan(new CheapestModelAssignmentSolver().Solve(p, c).MeanQuality));
        });
    }

    private static PredictionMatrix Require()
    {
        SharedData.RequireDataset("mmlu-pro");
        return Predictions.Value ?? throw new InvalidOperationException("the dataset could not be read");
    }

    private static PredictionMatrix? Load()
    {
        string? root = SharedData.Root;
        if (root is null)
        {
            return null;
        }

        string dir = Path.Combine(root, "mmlu-pro");
        using JsonDocument modelsDoc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "models.json")));
        ModelProfile[] models = modelsDoc.RootElement.GetProperty("models").EnumerateArray()
            .Select(m => new ModelProfile(m.GetProperty("name").GetString()!, m.GetProperty("input_price").GetDouble(), m.GetProperty("output_price").GetDouble()))
            .ToArray();
        var rows = new List<(string Task, int InputTokens, Dictionary<string, (double Score, int OutputTokens)> Outputs)>();
        foreach (string line in File.ReadLines(Path.Combine(dir, "outcomes.jsonl")))
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement e = doc.RootElement;
            var outputs = new Dictionary<string, (double, int)>(StringComparer.Ordinal);
            foreach (JsonElement o in e.GetProperty("outputs").EnumerateArray())
            {
                outputs[o.GetProperty("model").GetString()!] = (o.GetProperty("score").GetDouble(), o.GetProperty("output_tokens").GetInt32());
            }

            rows.Add((e.TryGetProperty("task", out JsonElement task) ? task.GetString() ?? string.Empty : string.Empty, e.GetProperty("input_tokens").GetInt32(), outputs));
        }

        var accuracy = new Dictionary<(string, string), (double Sum, int Count)>();
        foreach (var row in rows)
        {
            foreach (var (model, outcome) in row.Outputs)
            {
                accuracy.TryGetValue((row.Task, model), out var a);
                accuracy[(row.Task, model)] = (a.Sum + outcome.Score, a.Count + 1);
            }
        }

        var p = new PredictionMatrix(rows.Count, models);
        for (int i = 0; i < rows.Count; i++)
        {
            for (int j = 0; j < models.Length; j++)
            {
                if (!rows[i].Outputs.TryGetValue(models[j].Name, out var outcome))
                {
                    p.EligibleRow(i)[j] = false; // the model did not answer this question: treat it as unavailable
                    continue;
                }

                var (sum, count) = accuracy[(rows[i].Task, models[j].Name)];
                double quality = (0.5 * sum / count) + (0.5 * outcome.Score);
                p.Set(i, j, quality, models[j].CostOf(rows[i].InputTokens, outcome.OutputTokens), outcome.OutputTokens);
            }
        }

        return p;
    }
}
