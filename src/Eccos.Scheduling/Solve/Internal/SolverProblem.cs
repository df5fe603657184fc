using System.Buffers;
using System.Numerics.Tensors;

namespace Eccos.Scheduling;

/// <summary>
/// One assignment problem in the generic form every solver works on:
/// <c>min Σ f_ij·x_ij</c> subject to one model per query, <c>Σ g_ij·x_ij ≤ Limit</c> and <c>Σ_i x_ij ≤ Capacity_j</c>.
/// </summary>
/// <remarks>
/// <para>
/// Cost mode: f = c, g = −a, Limit = −α·n (the quality target as a ≤ constraint). Budget mode: f = −a, g = c,
/// Limit = B. Both modes thus share the dual, the repair and the bounds; only the translation of the results differs.
/// </para>
/// <para>
/// f and g are stored column-major (<c>j·n + i</c>) so the dual's argmin runs as a vector loop over queries for one
/// model at a time. An ineligible pair has f = +∞ and g = 0. Capacities are clamped to n, so "unlimited" needs no
/// special case: such a constraint can never bind and its multiplier stays 0. Immutable once built; the arrays are
/// rented from the shared pool and longer than n·M, so code indexes them and never reads their length.
/// </para>
/// </remarks>
internal sealed class SolverProblem : IDisposable
{
    private bool _disposed;

    private SolverProblem(
        PredictionMatrix source, int n, int m, bool budgetMode, double[] f, double[] g, double limit, int[] capacity, int[] queryIndex, bool allEligible, double fScale, double gScale)
    {
        Source = source;
        FScale = fScale;
        GScale = gScale;
        N = n;
        M = m;
        BudgetMode = budgetMode;
        F = f;
        G = g;
        Limit = limit;
        Capacity = capacity;
        QueryIndex = queryIndex;
        AllEligible = allEligible;
    }

    /// <summary>Gets the predictions this problem was built from (row-major: one query's values are adjacent).</summary>
    public PredictionMatrix Source { get; }

    /// <summary>Gets n, the queries of this problem (rows).</summary>
    public int N { get; }

    /// <summary>Gets M, the models (columns).</summary>
    public int M { get; }

    /// <summary>Gets a value indicating whether this is budget mode (maximize quality within a cost budget).</summary>
    public bool BudgetMode { get; }

    /// <summary>Gets the objective coefficients, column-major; +∞ where ineligible.</summary>
    public double[] F { get; }

    /// <summary>Gets the side-constraint coefficients, column-major; 0 where ineligible.</summary>
    public double[] G { get; }

    /// <summary>Gets the unit of <see cref="F"/>: a stored f times this is the real one (costs are normalized to about 1 per query).</summary>
    public double FScale { get; }

    /// <summary>Gets the unit of <see cref="G"/>: a stored g times this is the real one.</summary>
    public double GScale { get; }

    /// <summary>Gets the side constraint's right-hand side; +∞ when there is none.</summary>
    public double Limit { get; }

    /// <summary>Gets a value indicating whether the side constraint can bind.</summary>
    public bool HasSide => !double.IsPositiveInfinity(Limit);

    /// <summary>Gets the capacity of every model, clamped to n.</summary>
    public int[] Capacity { get; }

    /// <summary>Gets the query of the original predictions behind every row.</summary>
    public int[] QueryIndex { get; }

    /// <summary>Gets a value indicating whether every pair is eligible.</summary>
    public bool AllEligible { get; }

    /// <summary>Gets a value indicating whether any capacity is below n (and so may bind).</summary>
    public bool HasCapacities
    {
        get
        {
            foreach (int c in Capacity)
            {
                if (c < N)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Returns the pooled arrays. The problem must not be used afterwards.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            ArrayPool<double>.Shared.Return(F);
            ArrayPool<double>.Shared.Return(G);
        }
    }

    /// <summary>
    /// Fills f and g of one query for every model from the row-major source (the same values as
    /// <see cref="F"/> and <see cref="G"/>, but one or two cache lines instead of M).
    /// </summary>
    /// <param name="i">The query (row of this problem).</param>
    /// <param name="f">Receives f per model (+∞ where ineligible).</param>
    /// <param name="g">Receives g per model (0 where ineligible).</param>
    public void Row(int i, Span<double> f, Span<double> g)
    {
        int m = M;
        int row = QueryIndex[i] * m;
        ReadOnlySpan<double> quality = Source.Quality.Slice(row, m);
        ReadOnlySpan<double> cost = Source.Cost.Slice(row, m);
        ReadOnlySpan<bool> eligible = Source.Eligible.Slice(row, m);
        double inverse = 1 / (BudgetMode ? GScale : FScale);
        for (int j = 0; j < m; j++)
        {
            if (!eligible[j])
            {
                f[j] = double.PositiveInfinity;
                g[j] = 0;
                continue;
            }

            double c = cost[j] * inverse;
            f[j] = BudgetMode ? -quality[j] : c;
            g[j] = BudgetMode ? c : -quality[j];
        }
    }

    /// <summary>Returns whether query <paramref name="i"/> may go to model <paramref name="j"/>.</summary>
    public bool IsEligible(int i, int j) => !double.IsPositiveInfinity(F[(j * N) + i]);

    /// <summary>Builds the problem of <paramref name="predictions"/>, optionally restricted to some queries.</summary>
    /// <param name="predictions">The validated predictions.</param>
    /// <param name="constraints">The validated constraints.</param>
    /// <param name="capacities">Resolved capacities, one per model.</param>
    /// <param name="queries">The queries to keep, in order; <see langword="null"/> for all.</param>
    /// <param name="placed">How many queries the quality target applies to (default: all kept ones).</param>
    public static SolverProblem Create(PredictionMatrix predictions, AssignmentConstraints constraints, ReadOnlySpan<int> capacities, int[]? queries = null, int? placed = null)
    {
        int m = predictions.ModelCount;
        int n = queries?.Length ?? predictions.QueryCount;
        int[] index = queries ?? Enumerable.Range(0, n).ToArray();
        bool budget = constraints.CostBudget.HasValue;
        // the two big arrays come from the shared pool (returned by Dispose); every element is written below
        double[] f = ArrayPool<double>.Shared.Rent(Math.Max(1, checked(n * m)));
        double[] g = ArrayPool<double>.Shared.Rent(Math.Max(1, n * m));
        ReadOnlySpan<double> quality = predictions.Quality;
        ReadOnlySpan<double> cost = predictions.Cost;
        ReadOnlySpan<bool> eligible = predictions.Eligible;
        bool allEligible;
        double costSum = 0;
        long costCount = 0;
        if (queries is null && !eligible.Contains(false))
        {
            allEligible = true;
            costSum = TensorPrimitives.Sum(cost);
            costCount = cost.Length;
        }
        else
        {
            allEligible = false;
            for (int r = 0; r < n; r++)
            {
                int row = index[r] * m;
                for (int j = 0; j < m; j++)
                {
                    if (eligible[row + j])
                    {
                        costSum += cost[row + j];
                        costCount++;
                    }
                }
            }
        }

        // costs are normalized by their mean so that multipliers and step sizes live on one scale in both modes
        double costScale = costCount > 0 && costSum > 0 ? costSum / costCount : 1;
        double fScale = budget ? 1 : costScale;
        double gScale = budget ? costScale : 1;
        double inverse = 1 / costScale;

        // transpose in blocks of rows so that the strided reads stay in cache
        const int Block = 256;
        for (int r0 = 0; r0 < n; r0 += Block)
        {
            int r1 = Math.Min(n, r0 + Block);
            for (int j = 0; j < m; j++)
            {
                int col = j * n;
                if (allEligible && queries is null)
                {
                    // the common case, without branches: row r of the block is query r
                    Span<double> fc = f.AsSpan(col + r0, r1 - r0);
                    Span<double> gc = g.AsSpan(col + r0, r1 - r0);
                    for (int r = 0; r < fc.Length; r++)
                    {
                        int src = ((r0 + r) * m) + j;
                        double a = quality[src];
                        double c = cost[src] * inverse;
                        fc[r] = budget ? -a : c;
                        gc[r] = budget ? c : -a;
                    }

                    continue;
                }

                for (int r = r0; r < r1; r++)
                {
                    int src = (index[r] * m) + j;
                    int k = col + r;
                    double a = quality[src];
                    double c = cost[src] * inverse;
                    if (!eligible[src])
                    {
                        f[k] = double.PositiveInfinity;
                        g[k] = 0;
                    }
                    else
                    {
                        f[k] = budget ? -a : c;
                        g[k] = budget ? c : -a;
                    }
                }
            }
        }

        var cap = new int[m];
        for (int j = 0; j < m; j++)
        {
            cap[j] = Math.Min(capacities[j], n);
        }

        double limit = budget
            ? constraints.CostBudget!.Value / costScale
            : constraints.QualityTarget > 0 ? -constraints.QualityTarget * (placed ?? n) : double.PositiveInfinity;
        return new SolverProblem(predictions, n, m, budget, f, g, limit, cap, index, allEligible, fScale, gScale);
    }
}
