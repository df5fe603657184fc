using System.Globalization;

namespace Eccos.Scheduling.Evaluation;

/// <summary>
/// The cost–quality frontier of a routing policy and its Average Improvement in Quality (AIQ), as RouterBench
/// (Hu et al., 2024) defines them: the upper, non-decreasing convex hull of the policy's (cost, success) points,
/// held flat to the right of its best point, and the area under it over <c>[0, C]</c> divided by <c>C</c>.
/// </summary>
/// <remarks>
/// <para>
/// <b>Where the hull starts.</b> RouterBench interpolates from the policy's cheapest point and integrates from there.
/// This implementation instead adds the origin <c>(0, 0)</c> to every point set: answering nothing costs nothing and
/// scores nothing, and any point on the segment from the origin to a policy point is reached by sending that share of
/// queries through the policy (the same mixing argument that justifies the convex hull). A policy is therefore charged
/// for the quality it cannot deliver below its cheapest cost instead of being credited with it, and the AIQ of
/// every policy is measured over the same interval <c>[0, C]</c>.
/// </para>
/// <para>
/// Points beyond <c>C</c> are cut at <c>C</c> (the hull is interpolated there). Immutable; safe to share between
/// threads.
/// </para>
/// </remarks>
public sealed class CostQualityFrontier
{
    private CostQualityFrontier(IReadOnlyList<CostQualityPoint> points, IReadOnlyList<CostQualityPoint> hull, double maxCost, double aiq)
    {
        Points = points;
        Hull = hull;
        MaxCost = maxCost;
        Aiq = aiq;
    }

    /// <summary>Gets the policy's points, sorted by cost (then by success).</summary>
    public IReadOnlyList<CostQualityPoint> Points { get; }

    /// <summary>
    /// Gets the vertices of the upper non-decreasing convex hull, from the origin to the best point, sorted by cost.
    /// Right of the last vertex the frontier is flat.
    /// </summary>
    public IReadOnlyList<CostQualityPoint> Hull { get; }

    /// <summary>Gets C, the right end of the integration interval.</summary>
    public double MaxCost { get; }

    /// <summary>Gets the AIQ: the area under the hull over <c>[0, C]</c> divided by <c>C</c>, in the unit of success.</summary>
    public double Aiq { get; }

    /// <summary>Builds the frontier of <paramref name="points"/> and its AIQ over <c>[0, <paramref name="maxCost"/>]</c>.</summary>
    /// <param name="points">The policy's (cost, success) points; at least one, every coordinate finite and cost non-negative.</param>
    /// <param name="maxCost">C, the right end of the interval (RouterBench: the highest single-model cost); positive and finite.</param>
    /// <returns>The frontier.</returns>
    /// <exception cref="ArgumentException">No points, a point that is not finite or has a negative cost, or a bad <paramref name="maxCost"/>.</exception>
    public static CostQualityFrontier Create(IEnumerable<CostQualityPoint> points, double maxCost)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (!double.IsFinite(maxCost) || maxCost <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCost), maxCost, "C must be a positive, finite cost.");
        }

        var sorted = new List<CostQualityPoint>();
        foreach (CostQualityPoint p in points)
        {
            if (!double.IsFinite(p.Cost) || p.Cost < 0 || !double.IsFinite(p.Quality))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Point {sorted.Count} ({p.Cost}, {p.Quality}): cost must be finite and non-negative, success finite."),
                    nameof(points));
            }

            sorted.Add(p);
        }

        if (sorted.Count == 0)
        {
            throw new ArgumentException("A frontier needs at least one point.", nameof(points));
        }

        sorted.Sort(static (a, b) => a.Cost != b.Cost ? a.Cost.CompareTo(b.Cost) : a.Quality.CompareTo(b.Quality));
        List<CostQualityPoint> hull = UpperHull(sorted);
        return new CostQualityFrontier(sorted, hull, maxCost, Area(hull, maxCost) / maxCost);
    }

    /// <summary>Evaluates the frontier at <paramref name="cost"/>: the best success reachable at that cost.</summary>
    /// <param name="cost">A cost ≥ 0.</param>
    /// <returns>The hull's success at that cost (flat right of the best point).</returns>
    public double QualityAt(double cost)
    {
        if (cost <= 0)
        {
            return Hull[0].Quality;
        }

        for (int k = 1; k < Hull.Count; k++)
        {
            if (cost <= Hull[k].Cost)
            {
                CostQualityPoint a = Hull[k - 1];
                CostQualityPoint b = Hull[k];
                return b.Cost == a.Cost ? b.Quality : a.Quality + ((b.Quality - a.Quality) * (cost - a.Cost) / (b.Cost - a.Cost));
            }
        }

        return Hull[^1].Quality;
    }

    // Upper concave envelope of {(0,0)} ∪ points (monotone chain), cut at its highest point: past the peak the hull
    // would decrease, and a non-decreasing frontier stays flat there instead.
    private static List<CostQualityPoint> UpperHull(List<CostQualityPoint> sorted)
    {
        var hull = new List<CostQualityPoint>(sorted.Count + 1) { new(0, 0) };
        foreach (CostQualityPoint p in sorted)
        {
            if (p.Cost == hull[^1].Cost)
            {
                if (p.Quality <= hull[^1].Quality)
                {
                    continue;
                }

                hull.RemoveAt(hull.Count - 1);
            }

            while (hull.Count >= 2 && Cross(hull[^2], hull[^1], p) >= 0)
            {
                hull.RemoveAt(hull.Count - 1);
            }

            hull.Add(p);
        }

        int peak = 0;
        for (int k = 1; k < hull.Count; k++)
        {
            if (hull[k].Quality > hull[peak].Quality)
            {
                peak = k;
            }
        }

        hull.RemoveRange(peak + 1, hull.Count - peak - 1);
        return hull;
    }

    // > 0 when a → b → c turns left (c lies above the line a–b), so b is not on the upper hull when ≥ 0.
    private static double Cross(CostQualityPoint a, CostQualityPoint b, CostQualityPoint c) =>
        ((b.Cost - a.Cost) * (c.Quality - a.Quality)) - ((b.Quality - a.Quality) * (c.Cost - a.Cost));

    private static double Area(List<CostQualityPoint> hull, double maxCost)
    {
        double area = 0;
        for (int k = 1; k < hull.Count; k++)
        {
            CostQualityPoint a = hull[k - 1];
            CostQualityPoint b = hull[k];
            if (a.Cost >= maxCost)
            {
                return area;
            }

            if (b.Cost > maxCost)
            {
                double atC = a.Quality + ((b.Quality - a.Quality) * (maxCost - a.Cost) / (b.Cost - a.Cost));
                return area + ((a.Quality + atC) * (maxCost - a.Cost) / 2);
            }

            area += (a.Quality + b.Quality) * (b.Cost - a.Cost) / 2;
        }

        CostQualityPoint last = hull[^1];
        return area + (last.Quality * Math.Max(0, maxCost - last.Cost));
    }
}

/// <summary>One (cost, success) point of a policy.</summary>
/// <param name="Cost">Total cost of the run.</param>
/// <param name="Quality">Mean realized success of the run.</param>
public readonly record struct CostQualityPoint(double Cost, double Quality);
