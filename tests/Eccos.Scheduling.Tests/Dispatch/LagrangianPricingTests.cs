using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Tests.Dispatch;

/// <summary>The router's pricing against the real <see cref="LagrangianAssignmentSolver"/>: same scale, same policy.</summary>
public class LagrangianPricingTests
{
    private static readonly ModelProfile[] Models = [new("cheap", 0.1, 0.4), new("mid", 1, 4), new("strong", 5, 20)];

    [TestCase(0.70)]
    [TestCase(0.80)]
    [TestCase(0.90)]
    public void Scoring_a_window_at_the_solvers_prices_reproduces_its_quality_and_cost(double alpha)
    {
        PredictionMatrix window = Window(400, seed: 11);
        AssignmentResult result = new LagrangianAssignmentSolver().Solve(window, new AssignmentConstraints { QualityTarget = alpha });
        double[] mu = [.. result.CapacityPrices];

        double quality = Pricing.MeanQualityAt(window, mu, result.QualityPrice);
        double calibrated = Pricing.FitQualityPrice(window, mu, result.QualityPrice, alpha);

        Assert.Multiple(() =>
        {
            Assert.That(result.IsFeasible, Is.True);
            // The argmin policy at the solver's λ lands at α (ties at the breakpoint may fall either side).
            Assert.That(quality, Is.EqualTo(alpha).Within(0.01));
            // Calibration only ever nudges λ up to the breakpoint: same order of magnitude as the solver's.
            Assert.That(Pricing.MeanQualityAt(window, mu, calibrated), Is.GreaterThanOrEqualTo(alpha));
            Assert.That(calibrated / result.QualityPrice, Is.InRange(1.0, 1.5));
        });
    }

    [Test]
    public async Task The_default_solver_prices_the_online_router_and_requests_keep_alpha_on_predictions()
    {
        var predictor = Pools.Predictor();
        var random = new Random(5);
        var quality = new Dictionary<string, (double, double, double)>();
        predictor.PerQuery = (q, model) =>
        {
            lock (quality)
            {
                if (!quality.TryGetValue(q.Text, out var row))
                {
                    double h = random.NextDouble();
                    quality[q.Text] = row = (0.95 - (0.8 * h), 0.98 - (0.4 * h), 0.99 - (0.1 * h));
                }

                return model switch
                {
                    "cheap" => (row.Item1, 0.001),
                    "mid" => (row.Item2, 0.01),
                    _ => (row.Item3, 0.05),
                };
            }
        };
        var (builder, _, _, _) = Pools.Three(alpha: 0.8, predictor: predictor);
        await using EccosChatClient router = builder.WarmUpWith(Enumerable.Range(0, 300).Select(i => new SchedulingQuery("warm " + i, 10))).Build();
        await Pools.Eventually(() => router.CurrentPrices is not null);

        double sum = 0;
        const int N = 300;
        for (int i = 0; i < N; i++)
        {
            ChatResponse r = await router.GetResponseAsync("live " + i).Within();
            var d = (EccosDecision)r.AdditionalProperties![EccosDecision.PropertyKey]!;
            sum += d.Candidates.Single(c => c.Model == d.Model).PredictedQuality;
        }

        Assert.Multiple(() =>
        {
            Assert.That(router.CurrentPrices!.Status, Is.AnyOf(AssignmentStatus.Optimal, AssignmentStatus.Feasible));
            Assert.That(router.CurrentPrices.QualityPrice, Is.GreaterThan(0));
            Assert.That(sum / N, Is.EqualTo(0.8).Within(0.03), "live traffic from the same distribution keeps α on predictions");
        });
    }

    [Test]
    public async Task Batched_mode_with_the_default_solver_respects_free_slots()
    {
        var (builder, cheap, mid, strong) = Pools.Three(alpha: 0.8, capacity: 2);
        await using EccosChatClient router = builder
            .Configure(o => { o.Mode = EccosMode.Batched; o.BatchSize = 6; o.BatchWindow = TimeSpan.FromMilliseconds(20); })
            .Build();

        ChatResponse[] responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => router.GetResponseAsync("q" + i))).Within();

        Assert.Multiple(() =>
        {
            Assert.That(responses, Has.Length.EqualTo(12));
            Assert.That(new[] { cheap, mid, strong }.Max(c => c.MaxInFlight), Is.LessThanOrEqualTo(2));
            Assert.That(cheap.Calls + mid.Calls + strong.Calls, Is.EqualTo(12));
        });
    }

    private static PredictionMatrix Window(int n, int seed)
    {
        var random = new Random(seed);
        var matrix = new PredictionMatrix(n, Models);
        for (int i = 0; i < n; i++)
        {
            double h = random.NextDouble();
            matrix.Set(i, 0, Math.Clamp(0.95 - (0.8 * h) + (0.05 * random.NextDouble()), 0, 1), 0.0002 * (1 + random.NextDouble()));
            matrix.Set(i, 1, Math.Clamp(0.98 - (0.4 * h) + (0.05 * random.NextDouble()), 0, 1), 0.002 * (1 + random.NextDouble()));
            matrix.Set(i, 2, Math.Clamp(0.99 - (0.1 * h), 0, 1), 0.02 * (1 + random.NextDouble()));
        }

        return matrix;
    }
}
