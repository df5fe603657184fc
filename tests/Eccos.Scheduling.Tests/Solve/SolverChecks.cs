namespace Eccos.Scheduling.Tests.Solve;

/// <summary>Independent checks of an <see cref="AssignmentResult"/> against its problem.</summary>
internal static class SolverChecks
{
    /// <summary>Asserts capacities, eligibility, deferral bookkeeping and the reported cost and quality.</summary>
    public static void AssertConsistent(PredictionMatrix p, AssignmentConstraints c, AssignmentResult r)
    {
        int n = p.QueryCount;
        int m = p.ModelCount;
        var caps = new int[m];
        c.ResolveCapacities(p, caps);
        var load = new int[m];
        double cost = 0;
        double quality = 0;
        var deferred = new List<int>();
        Assert.That(r.Assignments, Has.Count.EqualTo(n));
        for (int i = 0; i < n; i++)
        {
            int j = r.Assignments[i];
            if (j == AssignmentResult.DeferredModel)
            {
                deferred.Add(i);
                continue;
            }

            Assert.That(j, Is.InRange(0, m - 1), $"query {i}");
            Assert.That(p.EligibleRow(i)[j], Is.True, $"query {i} went to ineligible model {j}");
            load[j]++;
            cost += p.CostRow(i)[j];
            quality += p.QualityRow(i)[j];
        }

        for (int j = 0; j < m; j++)
        {
            Assert.That(load[j], Is.LessThanOrEqualTo(caps[j]), $"model {j} over capacity");
        }

        Assert.Multiple(() =>
        {
            Assert.That(r.Deferred, Is.EqualTo(deferred));
            Assert.That(r.TotalCost, Is.EqualTo(cost).Within(1e-9 * Math.Max(1, cost)));
            Assert.That(r.MeanQuality, Is.EqualTo(n == 0 ? 0 : quality / n).Within(1e-9));
            Assert.That(r.IsBudgetMode, Is.EqualTo(c.CostBudget.HasValue));
            Assert.That(r.Status == AssignmentStatus.CapacityShortfall, Is.EqualTo(deferred.Count > 0));
        });
    }

    /// <summary>Whether a feasible result meets α (or the budget).</summary>
    public static bool MeetsSide(AssignmentConstraints c, AssignmentResult r) =>
        c.CostBudget is { } b ? r.TotalCost <= b * (1 + 1e-9) + 1e-12 : r.MeanQuality >= c.QualityTarget - 1e-9;
}
