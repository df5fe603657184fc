using System.Globalization;
using System.Numerics.Tensors;

namespace Eccos.Scheduling;

/// <summary>
/// Predictions for a batch of N queries × M models, stored as flat row-major arrays (<c>index = query·M + model</c>):
/// predicted quality a_ij ∈ [0, 1], predicted cost c_ij ≥ 0, predicted output tokens, and an eligibility mask for the
/// models that may not take a query.
/// </summary>
/// <remarks>
/// A new matrix has quality 0, cost 0, output tokens 0 and every pair eligible. The spans expose the storage itself so
/// that predictors and solvers work without copies. Not thread-safe for writes; concurrent reads are safe once
/// filled. Solvers and the router check every value and name the first bad one in an <see cref="ArgumentException"/>.
/// </remarks>
public sealed class PredictionMatrix
{
    private readonly double[] _quality;
    private readonly double[] _cost;
    private readonly double[] _outputTokens;
    private readonly bool[] _eligible;
    private readonly ModelProfile[] _models;

    /// <summary>Pools up to this size are checked for duplicate names pairwise, without allocating a set.</summary>
    private const int SmallPool = 32;

    /// <summary>Initializes a new matrix for <paramref name="queryCount"/> queries over <paramref name="models"/>.</summary>
    /// <param name="queryCount">N, the number of queries (rows); may be zero.</param>
    /// <param name="models">The models (columns); at least one, with distinct names.</param>
    /// <exception cref="ArgumentException">No models, duplicate model names, or a negative query count.</exception>
    public PredictionMatrix(int queryCount, IReadOnlyList<ModelProfile> models)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(queryCount);
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0)
        {
            throw new ArgumentException("At least one model is required.", nameof(models));
        }

        _models = new ModelProfile[models.Count];
        HashSet<string>? names = models.Count > SmallPool ? new(StringComparer.Ordinal) : null;
        for (int j = 0; j < models.Count; j++)
        {
            ModelProfile model = models[j] ?? throw new ArgumentException($"Model at index {j} is null.", nameof(models));
            if (names is null ? SeenBefore(model.Name, j) : !names.Add(model.Name))
            {
                throw new ArgumentException($"Model '{model.Name}' appears more than once.", nameof(models));
            }

            _models[j] = model;
        }

        QueryCount = queryCount;
        ModelCount = models.Count;
        int size = checked(queryCount * ModelCount);
        _quality = new double[size];
        _cost = new double[size];
        _outputTokens = new double[size];
        _eligible = new bool[size];
        Array.Fill(_eligible, true);
    }

    /// <summary>Gets N, the number of queries (rows).</summary>
    public int QueryCount { get; }

    /// <summary>Gets M, the number of models (columns).</summary>
    public int ModelCount { get; }

    /// <summary>Gets the models, in column order.</summary>
    public IReadOnlyList<ModelProfile> Models => _models;

    /// <summary>Gets predicted quality a_ij ∈ [0, 1], row-major.</summary>
    public Span<double> Quality => _quality;

    /// <summary>Gets predicted cost c_ij ≥ 0 (currency units), row-major.</summary>
    public Span<double> Cost => _cost;

    /// <summary>Gets predicted output tokens, row-major.</summary>
    public Span<double> OutputTokens => _outputTokens;

    /// <summary>Gets the eligibility mask, row-major: <see langword="false"/> where the model may not take the query.</summary>
    public Span<bool> Eligible => _eligible;

    /// <summary>Gets the quality predictions of one query (one row).</summary>
    /// <param name="query">The query's row index.</param>
    /// <returns>A span of length M.</returns>
    public Span<double> QualityRow(int query) => _quality.AsSpan(RowStart(query), ModelCount);

    /// <summary>Gets the cost predictions of one query (one row).</summary>
    /// <param name="query">The query's row index.</param>
    /// <returns>A span of length M.</returns>
    public Span<double> CostRow(int query) => _cost.AsSpan(RowStart(query), ModelCount);

    /// <summary>Gets the output-token predictions of one query (one row).</summary>
    /// <param name="query">The query's row index.</param>
    /// <returns>A span of length M.</returns>
    public Span<double> OutputTokensRow(int query) => _outputTokens.AsSpan(RowStart(query), ModelCount);

    /// <summary>Gets the eligibility of one query (one row).</summary>
    /// <param name="query">The query's row index.</param>
    /// <returns>A span of length M.</returns>
    public Span<bool> EligibleRow(int query) => _eligible.AsSpan(RowStart(query), ModelCount);

    /// <summary>Sets one cell.</summary>
    /// <param name="query">Row index.</param>
    /// <param name="model">Column index.</param>
    /// <param name="quality">Predicted quality in [0, 1].</param>
    /// <param name="cost">Predicted cost, non-negative.</param>
    /// <param name="outputTokens">Predicted output tokens, non-negative.</param>
    public void Set(int query, int model, double quality, double cost, double outputTokens = 0)
    {
        int k = Index(query, model);
        _quality[k] = quality;
        _cost[k] = cost;
        _outputTokens[k] = outputTokens;
    }

    /// <summary>
    /// Derives every cost from tokens and list prices: <c>c_ij = </c><see cref="ModelProfile.CostOf"/><c>(input tokens of
    /// query i, predicted output tokens of (i, j))</c> — the one place the library turns predicted lengths into cost.
    /// Predictors fill quality and output tokens, then call this.
    /// </summary>
    /// <param name="queries">The queries of the rows, in order (their prompt tokens).</param>
    /// <exception cref="ArgumentException">The number of queries is not <see cref="QueryCount"/>.</exception>
    public void ComputeCosts(IReadOnlyList<SchedulingQuery> queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        if (queries.Count != QueryCount)
        {
            throw new ArgumentException($"{queries.Count} queries were given for a matrix of {QueryCount} rows.", nameof(queries));
        }

        int m = ModelCount;
        Span<double> inputPrice = m <= 64 ? stackalloc double[m] : new double[m];
        Span<double> outputPrice = m <= 64 ? stackalloc double[m] : new double[m];
        for (int j = 0; j < m; j++)
        {
            inputPrice[j] = _models[j].InputPricePerMillionTokens;
            outputPrice[j] = _models[j].OutputPricePerMillionTokens;
        }

        for (int i = 0; i < QueryCount; i++)
        {
            double input = queries[i].InputTokens;
            int row = i * m;
            for (int j = 0; j < m; j++)
            {
                // the arithmetic of ModelProfile.CostOf, so that a derived cost equals the profile's to the last bit
                _cost[row + j] = ((input * inputPrice[j]) + (_outputTokens[row + j] * outputPrice[j])) / 1_000_000d;
            }
        }
    }

    /// <summary>Returns the model index of the column named <paramref name="modelName"/>, or -1.</summary>
    /// <param name="modelName">The model's name (ordinal comparison).</param>
    /// <returns>The column index, or -1 when no model has that name.</returns>
    public int IndexOfModel(string modelName)
    {
        for (int j = 0; j < _models.Length; j++)
        {
            if (string.Equals(_models[j].Name, modelName, StringComparison.Ordinal))
            {
                return j;
            }
        }

        return -1;
    }

    /// <summary>Returns a deep copy of this matrix.</summary>
    /// <returns>A new matrix with the same models and values.</returns>
    public PredictionMatrix Clone()
    {
        var copy = new PredictionMatrix(QueryCount, _models);
        _quality.CopyTo(copy._quality, 0);
        _cost.CopyTo(copy._cost, 0);
        _outputTokens.CopyTo(copy._outputTokens, 0);
        _eligible.CopyTo(copy._eligible, 0);
        return copy;
    }

    /// <summary>
    /// Checks every value: quality in [0, 1], cost and output tokens finite and non-negative, and at least one
    /// eligible model per query.
    /// </summary>
    /// <param name="paramName">The argument name to report in the exception.</param>
    /// <exception cref="ArgumentException">The first bad value, naming the query index, the model and the problem.</exception>
    internal void Validate(string paramName = "predictions")
    {
        if (_quality.Length == 0 || (AllInRange() && EveryRowHasAnEligibleModel()))
        {
            return;
        }

        // Something is wrong: find the first bad value, in row order, to name it.
        int m = ModelCount;
        for (int i = 0; i < QueryCount; i++)
        {
            int row = i * m;
            bool any = false;
            for (int j = 0; j < m; j++)
            {
                int k = row + j;
                double a = _quality[k];
                if (!double.IsFinite(a) || a < 0 || a > 1)
                {
                    throw new ArgumentException(Describe(i, j, "quality", a, "must be a number in [0, 1]"), paramName);
                }

                double c = _cost[k];
                if (!double.IsFinite(c) || c < 0)
                {
                    throw new ArgumentException(Describe(i, j, "cost", c, "must be a finite, non-negative number"), paramName);
                }

                double t = _outputTokens[k];
                if (!double.IsFinite(t) || t < 0)
                {
                    throw new ArgumentException(Describe(i, j, "output tokens", t, "must be a finite, non-negative number"), paramName);
                }

                any |= _eligible[k];
            }

            if (!any)
            {
                throw new ArgumentException($"Query {i}: no model is eligible to take it.", paramName);
            }
        }
    }

    /// <summary>
    /// Whole-array range checks with SIMD reductions: NaN propagates through <c>TensorPrimitives.Min</c> and
    /// <c>TensorPrimitives.Max</c>, so a NaN fails the comparisons as well.
    /// </summary>
    private bool AllInRange() =>
        TensorPrimitives.Min(_quality) >= 0 && TensorPrimitives.Max(_quality) <= 1
        && TensorPrimitives.Min(_cost) >= 0 && double.IsFinite(TensorPrimitives.Max(_cost))
        && TensorPrimitives.Min(_outputTokens) >= 0 && double.IsFinite(TensorPrimitives.Max(_outputTokens));

    private bool EveryRowHasAnEligibleModel()
    {
        ReadOnlySpan<bool> eligible = _eligible;
        if (!eligible.Contains(false))
        {
            return true; // the common case, one vectorized scan
        }

        for (int row = 0; row < eligible.Length; row += ModelCount)
        {
            if (!eligible.Slice(row, ModelCount).Contains(true))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether a model among the first <paramref name="count"/> already has <paramref name="name"/> (small pools: no set to allocate).</summary>
    private bool SeenBefore(string name, int count)
    {
        for (int k = 0; k < count; k++)
        {
            if (string.Equals(_models[k].Name, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private string Describe(int query, int model, string what, double value, string rule) =>
        string.Create(CultureInfo.InvariantCulture, $"Query {query}, model '{_models[model].Name}': predicted {what} {value} {rule}.");

    private int RowStart(int query)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(query);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(query, QueryCount);
        return query * ModelCount;
    }

    private int Index(int query, int model)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(model);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(model, ModelCount);
        return RowStart(query) + model;
    }
}
