namespace Eccos.Scheduling.Evaluation.Tests;

public class CostQualityFrontierTests
{
    private static CostQualityPoint P(double cost, double success) => new(cost, success);

    [Test]
    public void SinglePoint_RisesFromTheOriginThenStaysFlat()
    {
        // (0,0)→(1,0.5): triangle 0.25; flat 0.5 over [1,2]: 0.5. Area 0.75 over C = 2.
        var f = CostQualityFrontier.Create([P(1, 0.5)], 2);
        Assert.Multiple(() =>
        {
            Assert.That(f.Aiq, Is.EqualTo(0.375).Within(1e-12));
            Assert.That(f.Hull, Is.EqualTo(new[] { P(0, 0), P(1, 0.5) }));
            Assert.That(f.QualityAt(0.5), Is.EqualTo(0.25).Within(1e-12));
            Assert.That(f.QualityAt(10), Is.EqualTo(0.5));
        });
    }

    [Test]
    public void DominatedAndCollinearPointsLeaveTheHull_AndItIsCutAtC()
    {
        // Hull (0,0),(1,0.6),(3,0.8) — (2,0.7) is on the segment, (1.5,0.4) below it. At C = 2 the hull is 0.7.
        // Area: 0.3 + (0.6 + 0.7)/2 = 0.95 over C = 2.
        var f = CostQualityFrontier.Create([P(1, 0.6), P(2, 0.7), P(1.5, 0.4), P(3, 0.8)], 2);
        Assert.Multiple(() =>
        {
            Assert.That(f.Aiq, Is.EqualTo(0.475).Within(1e-12));
            Assert.That(f.Hull, Is.EqualTo(new[] { P(0, 0), P(1, 0.6), P(3, 0.8) }));
            Assert.That(f.Points, Has.Count.EqualTo(4));
            Assert.That(f.Points[0], Is.EqualTo(P(1, 0.6)));
        });
    }

    [Test]
    public void ConvexDentIsBridged()
    {
        // (1,0.2) lies below the chord from the origin to (2,0.8): area 0.8 + 0.8·2 = 2.4 over C = 4.
        var f = CostQualityFrontier.Create([P(1, 0.2), P(2, 0.8)], 4);
        Assert.Multiple(() =>
        {
            Assert.That(f.Aiq, Is.EqualTo(0.6).Within(1e-12));
            Assert.That(f.Hull, Is.EqualTo(new[] { P(0, 0), P(2, 0.8) }));
        });
    }

    [Test]
    public void PointsPastThePeakAreIgnored()
    {
        // Dearer and worse than (1,0.8): the frontier stays flat at 0.8. Area 0.4 + 0.8 = 1.2 over C = 2.
        var f = CostQualityFrontier.Create([P(1, 0.8), P(2, 0.6)], 2);
        Assert.Multiple(() =>
        {
            Assert.That(f.Aiq, Is.EqualTo(0.6).Within(1e-12));
            Assert.That(f.Hull, Is.EqualTo(new[] { P(0, 0), P(1, 0.8) }));
        });
    }

    [Test]
    public void FreePointReplacesTheOrigin()
    {
        // (0,0.3)→(1,0.5): area 0.4 over C = 1.
        var f = CostQualityFrontier.Create([P(0, 0.3), P(1, 0.5)], 1);
        Assert.Multiple(() =>
        {
            Assert.That(f.Aiq, Is.EqualTo(0.4).Within(1e-12));
            Assert.That(f.Hull[0], Is.EqualTo(P(0, 0.3)));
        });
    }

    [Test]
    public void HullOfRandomPoints_IsNonDecreasingConcaveAndCoversEveryPoint()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 200; trial++)
        {
            CostQualityPoint[] points = [.. Enumerable.Range(0, 1 + random.Next(15)).Select(_ => P(random.NextDouble() * 3, random.NextDouble()))];
            var f = CostQualityFrontier.Create(points, 2);
            IReadOnlyList<CostQualityPoint> h = f.Hull;
            for (int k = 1; k < h.Count; k++)
            {
                Assert.That(h[k].Cost, Is.GreaterThan(h[k - 1].Cost), "costs increase");
                Assert.That(h[k].Quality, Is.GreaterThanOrEqualTo(h[k - 1].Quality), "non-decreasing");
                if (k >= 2)
                {
                    double s1 = (h[k - 1].Quality - h[k - 2].Quality) / (h[k - 1].Cost - h[k - 2].Cost);
                    double s2 = (h[k].Quality - h[k - 1].Quality) / (h[k].Cost - h[k - 1].Cost);
                    Assert.That(s2, Is.LessThan(s1 + 1e-12), "concave: slopes decrease");
                }
            }

            foreach (CostQualityPoint p in points)
            {
                Assert.That(f.QualityAt(p.Cost), Is.GreaterThanOrEqualTo(p.Quality - 1e-12), "every point is under the frontier");
            }

            Assert.That(h.Skip(1), Is.SubsetOf(points), "vertices are the policy's own points");
            Assert.That(f.Aiq, Is.InRange(0, points.Max(p => p.Quality) + 1e-12));
        }
    }

    [Test]
    public void BadInput_IsRejectedNamingTheArgument()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => CostQualityFrontier.Create([], 1), Throws.ArgumentException.With.Property("ParamName").EqualTo("points"));
            Assert.That(() => CostQualityFrontier.Create([P(-1, 0.5)], 1), Throws.ArgumentException.With.Property("ParamName").EqualTo("points"));
            Assert.That(() => CostQualityFrontier.Create([P(1, double.NaN)], 1), Throws.ArgumentException.With.Property("ParamName").EqualTo("points"));
            Assert.That(() => CostQualityFrontier.Create([P(1, 0.5)], 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("maxCost"));
        });
    }
}
