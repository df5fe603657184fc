using System.Globalization;
using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Evaluation.Tests;

/// <summary>
/// How much better could routing on mmlu-pro get with a better predictor? Compares, on the same test batches, the
/// λ-router (a dense λ grid, so that the grid does not limit it) and ECCOS on: the task prior, the kNN predictor, and
/// a <em>hindsight</em> predictor that knows each test query's difficulty — the mean recorded score of the ten models
/// other than the two gemini models — and predicts each model's success rate in that (task, difficulty) cell of the
/// training split. No predictor that reads only the query can know that much; its AIQ bounds what better prediction
/// of difficulty can buy. Output tokens and costs are the task prior's for all three.
/// <code>
/// dotnet test tests/Eccos.Scheduling.Tests -c Release \
///   --filter FullyQualifiedName~RoutingCeilingMeasurements --logger "console;verbosity=detailed"
/// </code>
/// </summary>
[Explicit("Measurement: about a minute on mmlu-pro")]
[Category("Measurement")]
public class RoutingCeilingMeasurements
{
    private static readonly string[] Gemini = ["gemini-1.5-pro-002", "gemini-1.5-flash-002"];

    [Test]
    public async Task Knowing_each_query_s_difficulty_bounds_what_better_prediction_buys()
    {
        OutcomeDataset data = await OutcomeDataset.LoadAsync(SharedData.RequireDataset("mmlu-pro"));
        Dictionary<string, OutcomeRecord> byId = data.Records.ToDictionary(r => r.Id, StringComparer.Ordinal);
        EvaluationPredictor[] predictors =
        [
            new("task-prior", (c, _) => ValueTask.FromResult<IPredictor>(TaskPriorPredictor.Fit(c.Train))),
            new("knn", async (c, ct) => await KnnPredictor.CreateAsync(c.Train, HashingEmbeddingGenerator.Fit(c.Train.Select(r => r.Text)), cancellationToken: ct)),
            new("hindsight", (c, _) => ValueTask.FromResult<IPredictor>(new HindsightDifficultyPredictor(c.Train, byId))),
        ];
        var options = new EvaluationOptions
        {
            LambdaRouterPredictors = [.. predictors.Select(p => p.Name)],
            Lambdas = [.. Enumerable.Range(0, 120).Select(k => Math.Pow(10, -6 + (7.0 * k / 119)))],
        };

        EvaluationReport report = await new ScheduleEvaluator().EvaluateAsync(data, predictors, options);
        double Aiq(string policy) => report.Frontiers.Single(f => f.Policy == policy).Aiq;
        TestContext.Out.WriteLine("| predictor | λ-router AIQ (120 λ) | ECCOS AIQ (reachable α) |");
        TestContext.Out.WriteLine("|---|---:|---:|");
        foreach (EvaluationPredictor p in predictors)
        {
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {p.Name} | {Aiq(p.Name + "-lambda"):F4} | {Aiq("eccos:" + p.Name):F4} |"));
        }

        foreach (PolicyRun run in report.Runs.Where(r => r.Policy.StartsWith("eccos:", StringComparison.Ordinal) && r.Alpha >= 0.6 && r.Alpha <= 0.75))
        {
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{run.Policy} α={run.Alpha:F3} t={run.Target:F3} reachable={run.Reachable} success={run.Quality:F4} predicted={run.PredictedQuality:F4} cost={run.Cost:F3}"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(Aiq("hindsight-lambda"), Is.GreaterThan(Aiq("task-prior-lambda")), "knowing the difficulty must help");
            Assert.That(Aiq("oracle"), Is.GreaterThan(Aiq("hindsight-lambda")));
        });
    }

    /// <summary>
    /// Success rate of each model in the query's (task, difficulty bin) cell of the training split, shrunk to the
    /// task's rate; the difficulty of a query is read from its recorded outcomes (hindsight).
    /// </summary>
    private sealed class HindsightDifficultyPredictor : IPredictor
    {
        private static readonly double[] BinEdges = [0.15, 0.35, 0.55, 0.75, 0.9];
        private const double PseudoCount = 5;
        private readonly TaskPriorPredictor _prior;
        private readonly Dictionary<string, OutcomeRecord> _byId;
        private readonly Dictionary<(string? Task, int Bin, string Model), (double Sum, int Count)> _cells = [];

        public HindsightDifficultyPredictor(IReadOnlyList<OutcomeRecord> train, Dictionary<string, OutcomeRecord> byId)
        {
            _prior = TaskPriorPredictor.Fit(train);
            _byId = byId;
            foreach (OutcomeRecord r in train)
            {
                int bin = Bin(r);
                foreach (ModelOutcome o in r.Outputs.Where(o => o.Quality is not null))
                {
                    (double sum, int count) = _cells.GetValueOrDefault((r.Task, bin, o.Model));
                    _cells[(r.Task, bin, o.Model)] = (sum + o.Quality!.Value, count + 1);
                }
            }
        }

        public async ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
        {
            PredictionMatrix p = await _prior.PredictAsync(queries, models, cancellationToken);
            for (int i = 0; i < queries.Count; i++)
            {
                int bin = Bin(_byId[queries[i].Id!]);
                Span<double> quality = p.QualityRow(i);
                for (int j = 0; j < models.Count; j++)
                {
                    (double sum, int count) = _cells.GetValueOrDefault((queries[i].Task, bin, models[j].Name));
                    quality[j] = (sum + (PseudoCount * quality[j])) / (count + PseudoCount);
                }
            }

            return p;
        }

        private static int Bin(OutcomeRecord r)
        {
            double[] others = [.. r.Outputs.Where(o => o.Quality is not null && !Gemini.Contains(o.Model)).Select(o => o.Quality!.Value)];
            double difficulty = others.Length == 0 ? 0.5 : others.Average();
            int bin = 0;
            while (bin < BinEdges.Length && difficulty >= BinEdges[bin])
            {
                bin++;
            }

            return bin;
        }
    }
}
