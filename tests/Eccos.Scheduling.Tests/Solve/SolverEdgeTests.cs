using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Solve;

/// <summary>
/// The repros of issue 16 as regression tests: near the highest reachable quality with several capacities binding,
/// the cost stays within 0.5 % of the LP bound (the figures quoted are the LP optima and CBC's integer optimum,
/// measured with OR-Tools); the target holds exactly in the arithmetic the result reports; α equal to a returned
/// mean quality is reachable.
/// </summary>
public class SolverEdgeTests
{
    private static readonly LagrangianAssignmentSolver Solver = new();
    private static readonly Lazy<Task<(PredictionMatrix TaskPrior, PredictionMatrix Knn)>> MmluPro = new(LoadMmluProAsync);

    [TestCase(1000, 100, 0.7411350264850265, 0.579928)]
    [TestCase(10_000, 1000, 0.7395679915259077, double.NaN)]
    public void Every_model_capped_near_the_highest_quality_stays_within_half_a_percent_of_the_lp(int n, int cap, double alpha, double lp)
    {
        (PredictionMatrix p, _) = SyntheticInstances.Realistic(n, 12, seed: 1, bindingCapacities: false);
        var c = new AssignmentConstraints { QualityTarget = alpha, Capacities = Enumerable.Repeat(cap, 12).ToArray() };
        AssertNearLp(p, c, lp);
    }

    [Test]
    public async Task Mmlu_pro_task_prior_every_model_capped_stays_within_half_a_percent_of_the_lp()
    {
        (PredictionMatrix p, _) = await RequireMmluProAsync();
        var c = new AssignmentConstraints { QualityTarget = 0.5956378544152414, Capacities = Enumerable.Repeat(359, p.ModelCount).ToArray() };
        AssertNearLp(p, c, 0.875085);
    }

    [Test]
    public async Task Mmlu_pro_task_prior_four_capacities_reaches_the_integer_optimum_within_half_a_percent()
    {
        (PredictionMatrix p, _) = await RequireMmluProAsync();
        var limits = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["gemini-1.5-pro-002"] = 484,
            ["gemini-1.5-flash-002"] = 96,
            ["DeepSeek-Coder-V2"] = 584,
            ["Meta-Llama-3_1-8B-Instruct"] = 308,
        };
        int[] caps = p.Models.Select(m => limits.TryGetValue(m.Name, out int l) ? l : AssignmentConstraints.Unlimited).ToArray();
        Assert.That(caps.Count(c => c != AssignmentConstraints.Unlimited), Is.EqualTo(4), "the four models of the repro");
        var c = new AssignmentConstraints { QualityTarget = 0.6690540845628707, Capacities = caps };
        AssignmentResult r = AssertNearLp(p, c, double.NaN);
        Assert.That(r.TotalCost, Is.LessThanOrEqualTo(1.123466 * 1.005), "CBC's optimum is 1.123466 (the earlier solver: 1.186307)");
    }

    [TestCase(1000)]
    [TestCase(10_000)]
    public void At_the_highest_reachable_quality_the_bound_is_the_lp_optimum(int n)
    {
        // at α = max the LP optimum lies on a face of the integral transportation polytope: the bound meets the cost
        (PredictionMatrix p, _) = SyntheticInstances.Realistic(n, 12, seed: 1, bindingCapacities: false);
        int[] caps = Enumerable.Repeat((int)Math.Ceiling(1.2 * n / 12), 12).ToArray();
        AssignmentResult max = Solver.Solve(p, new AssignmentConstraints { QualityTarget = 1, Capacities = caps });
        Assert.That(max.Status, Is.EqualTo(AssignmentStatus.QualityTargetUnreachable));
        var c = new AssignmentConstraints { QualityTarget = max.MeanQuality, Capacities = caps };
        AssignmentResult r = AssertNearLp(p, c, double.NaN);
        Assert.That(r.Gap, Is.LessThanOrEqualTo(1e-9), $"cost {r.TotalCost}, bound {r.Bound}");
    }

    [TestCase(6635, 7, 30041, false, 0.7850139512639329)]
    [TestCase(100_000, 12, 1, true, 0.6066475707813261)]
    public void The_target_holds_exactly_in_the_reported_arithmetic(int n, int m, int seed, bool capacities, double alpha)
    {
        (PredictionMatrix p, AssignmentConstraints generated) = SyntheticInstances.Realistic(n, m, seed, bindingCapacities: capacities);
        var c = new AssignmentConstraints { QualityTarget = alpha, Capacities = generated.Capacities };
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.That(r.IsFeasible, Is.True, r.Status.ToString());
        Assert.That(r.MeanQuality, Is.GreaterThanOrEqualTo(alpha), "no shortfall, not even by rounding");
    }

    [Test]
    public void A_feasibility_tolerance_relaxes_the_target_relatively()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(2000, 6, seed: 3);
        var tolerant = new LagrangianAssignmentSolver(new LagrangianSolverOptions { FeasibilityTolerance = 0.01 });
        AssignmentResult strict = Solver.Solve(p, c);
        AssignmentResult r = tolerant.Solve(p, c);
        Assert.Multiple(() =>
        {
            Assert.That(r.IsFeasible, Is.True, r.Status.ToString());
            Assert.That(r.MeanQuality, Is.GreaterThanOrEqualTo(c.QualityTarget * 0.99));
            Assert.That(r.TotalCost, Is.LessThan(strict.TotalCost), "a lower target costs less");
        });

        // a target just above the highest quality is reachable within the tolerance, not without it
        AssignmentResult max = Solver.Solve(p, new AssignmentConstraints { QualityTarget = 1, Capacities = c.Capacities });
        var above = new AssignmentConstraints { QualityTarget = max.MeanQuality * 1.001, Capacities = c.Capacities };
        Assert.That(Solver.Solve(p, above).Status, Is.EqualTo(AssignmentStatus.QualityTargetUnreachable));
        Assert.That(tolerant.Solve(p, above).IsFeasible, Is.True);
    }

    [TestCase(1000)]
    [TestCase(10_000)]
    [TestCase(100_000)]
    public void A_returned_mean_quality_is_a_reachable_target(int n)
    {
        (PredictionMatrix p, _) = SyntheticInstances.Realistic(n, 12, seed: 1, bindingCapacities: false);
        AssertMaxIsReachable(p, null);
    }

    [Test]
    public void A_returned_mean_quality_is_a_reachable_target_with_capacities()
    {
        (PredictionMatrix p, AssignmentConstraints c) = SyntheticInstances.Realistic(1000, 12, seed: 1);
        AssertMaxIsReachable(p, c.Capacities);
    }

    [Test]
    public async Task A_returned_mean_quality_is_a_reachable_target_on_mmlu_pro_knn_predictions()
    {
        (_, PredictionMatrix knn) = await RequireMmluProAsync();
        AssertMaxIsReachable(knn, null);
    }

    private static void AssertMaxIsReachable(PredictionMatrix p, IReadOnlyList<int>? caps)
    {
        AssignmentResult max = Solver.Solve(p, new AssignmentConstraints { QualityTarget = 1, Capacities = caps });
        Assert.That(max.Status, Is.EqualTo(AssignmentStatus.QualityTargetUnreachable));
        var c = new AssignmentConstraints { QualityTarget = max.MeanQuality, Capacities = caps };
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.That(r.IsFeasible, Is.True, $"α = {max.MeanQuality:R}: {r.Status}");
        Assert.That(r.MeanQuality, Is.GreaterThanOrEqualTo(max.MeanQuality));
    }

    private static AssignmentResult AssertNearLp(PredictionMatrix p, AssignmentConstraints c, double lp)
    {
        AssignmentResult r = Solver.Solve(p, c);
        SolverChecks.AssertConsistent(p, c, r);
        Assert.Multiple(() =>
        {
            Assert.That(r.IsFeasible, Is.True, r.Status.ToString());
            Assert.That(r.MeanQuality, Is.GreaterThanOrEqualTo(c.QualityTarget), "the target holds exactly");
            Assert.That(r.Gap, Is.LessThanOrEqualTo(0.005), $"cost {r.TotalCost}, bound {r.Bound}");
            if (!double.IsNaN(lp))
            {
                Assert.That(r.TotalCost, Is.LessThanOrEqualTo(lp * 1.005), "within 0.5 % of the LP optimum");
                Assert.That(r.Bound, Is.LessThanOrEqualTo(lp * (1 + 1e-5)), "the bound is no more than the LP optimum");
                Assert.That(r.Bound, Is.GreaterThanOrEqualTo(lp * (1 - 1e-5)), "the bound is the LP optimum");
            }
        });
        return r;
    }

    private static async Task<(PredictionMatrix TaskPrior, PredictionMatrix Knn)> RequireMmluProAsync()
    {
        SharedData.RequireDataset("mmlu-pro");
        return await MmluPro.Value;
    }

    /// <summary>The predictions for the mmlu-pro test split: the task prior fitted on train, and kNN over hashing embeddings.</summary>
    private static async Task<(PredictionMatrix TaskPrior, PredictionMatrix Knn)> LoadMmluProAsync()
    {
        OutcomeDataset dataset = await OutcomeDataset.LoadAsync(SharedData.RequireDataset("mmlu-pro"));
        (IReadOnlyList<OutcomeRecord> train, IReadOnlyList<OutcomeRecord> test) = dataset.Split();
        IReadOnlyList<ModelProfile> models = dataset.Catalog.Models;
        SchedulingQuery[] queries = [.. test.Select(r => r.ToQuery())];
        PredictionMatrix prior = await TaskPriorPredictor.Fit(train).PredictAsync(queries, models);
        using HashingEmbeddingGenerator embedder = HashingEmbeddingGenerator.Fit(train.Select(r => r.Text));
        KnnPredictor knn = await KnnPredictor.CreateAsync(train, embedder);
        return (prior, await knn.PredictAsync(queries, models));
    }
}
