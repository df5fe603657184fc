namespace Eccos.Scheduling.Tests.Contracts;

public class PredictionMatrixTests
{
    private static readonly ModelProfile[] Models = [new("a", 1, 2), new("b", 0.5, 1)];

    [Test]
    public void New_matrix_is_zero_and_all_eligible()
    {
        var m = new PredictionMatrix(3, Models);
        Assert.Multiple(() =>
        {
            Assert.That(m.QueryCount, Is.EqualTo(3));
            Assert.That(m.ModelCount, Is.EqualTo(2));
            Assert.That(m.Eligible.ToArray(), Is.All.True);
            Assert.That(m.Quality.ToArray(), Is.All.Zero);
        });
    }

    [Test]
    public void Rows_are_views_of_the_flat_storage()
    {
        var m = new PredictionMatrix(2, Models);
        m.Set(1, 0, 0.7, 0.01, 40);
        Assert.Multiple(() =>
        {
            Assert.That(m.Quality[2], Is.EqualTo(0.7));
            Assert.That(m.QualityRow(1)[0], Is.EqualTo(0.7));
            Assert.That(m.CostRow(1)[0], Is.EqualTo(0.01));
            Assert.That(m.OutputTokensRow(1)[0], Is.EqualTo(40));
        });
    }

    [TestCase(double.NaN, 0, "quality")]
    [TestCase(1.5, 0, "quality")]
    [TestCase(0.5, -1, "cost")]
    [TestCase(0.5, double.PositiveInfinity, "cost")]
    public void Validate_names_query_model_and_problem(double quality, double cost, string what)
    {
        var m = new PredictionMatrix(2, Models);
        m.Set(1, 1, quality, cost);
        var ex = Assert.Throws<ArgumentException>(() => m.Validate());
        Assert.That(ex!.Message, Does.Contain("Query 1").And.Contain("'b'").And.Contain(what));
    }

    /// <summary>Bad values anywhere in a matrix large enough for several SIMD vectors and a tail are found and named.</summary>
    [TestCase("quality", double.NaN)]
    [TestCase("quality", -1e-12)]
    [TestCase("quality", 1 + 1e-12)]
    [TestCase("cost", double.NaN)]
    [TestCase("cost", -0.5)]
    [TestCase("cost", double.PositiveInfinity)]
    [TestCase("output tokens", double.NaN)]
    [TestCase("output tokens", -1)]
    [TestCase("output tokens", double.PositiveInfinity)]
    public void Validate_finds_a_bad_value_at_any_position(string what, double bad)
    {
        ModelProfile[] models = [.. Enumerable.Range(0, 7).Select(j => new ModelProfile($"m{j}", 1, 2))];
        foreach ((int query, int model) in new[] { (0, 0), (23, 4), (49, 6) })
        {
            var m = new PredictionMatrix(50, models);
            m.Quality.Fill(0.5);
            m.Cost.Fill(0.001);
            m.OutputTokens.Fill(100);
            Assert.That(() => m.Validate(), Throws.Nothing, "a valid matrix passes");
            Span<double> values = what switch { "quality" => m.QualityRow(query), "cost" => m.CostRow(query), _ => m.OutputTokensRow(query) };
            values[model] = bad;
            var ex = Assert.Throws<ArgumentException>(() => m.Validate())!;
            Assert.That(ex.Message, Does.Contain($"Query {query},").And.Contain($"'m{model}'").And.Contain(what), $"({query}, {model})");
        }
    }

    [Test]
    public void Validate_rejects_the_last_query_when_no_model_may_take_it()
    {
        var m = new PredictionMatrix(40, Models);
        m.EligibleRow(39).Clear();
        Assert.That(Assert.Throws<ArgumentException>(() => m.Validate())!.Message, Does.Contain("Query 39").And.Contain("no model is eligible"));
        Assert.That(() => new PredictionMatrix(0, Models).Validate(), Throws.Nothing, "an empty batch is valid");
    }

    [Test]
    public void Validate_rejects_a_query_no_model_may_take()
    {
        var m = new PredictionMatrix(2, Models);
        m.EligibleRow(0).Clear();
        var ex = Assert.Throws<ArgumentException>(() => m.Validate());
        Assert.That(ex!.Message, Does.Contain("Query 0").And.Contain("no model is eligible"));
    }

    [Test]
    public void Constructor_rejects_no_models_and_duplicates()
    {
        Assert.Throws<ArgumentException>(() => _ = new PredictionMatrix(1, []));
        var ex = Assert.Throws<ArgumentException>(() => _ = new PredictionMatrix(1, [new("x", 0, 0), new("x", 1, 1)]));
        Assert.That(ex!.Message, Does.Contain("'x'"));
    }

    [TestCase(5)]
    [TestCase(32)]
    [TestCase(33)]
    [TestCase(100)]
    public void Duplicate_names_are_found_in_small_and_large_pools(int count)
    {
        ModelProfile[] distinct = [.. Enumerable.Range(0, count).Select(j => new ModelProfile($"m{j}", 1, 1))];
        Assert.That(new PredictionMatrix(1, distinct).ModelCount, Is.EqualTo(count));
        ModelProfile[] repeated = [.. distinct[..^1], new ModelProfile("m1", 2, 2)];
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new PredictionMatrix(1, repeated))!.Message, Does.Contain("'m1' appears more than once"));
    }

    [Test]
    public void Model_profile_cost_uses_prices_per_million()
    {
        var p = new ModelProfile("m", 1.25, 5.0);
        Assert.That(p.CostOf(1000, 100), Is.EqualTo(((1000 * 1.25) + (100 * 5.0)) / 1e6).Within(1e-15));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ModelProfile("m", -1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ModelProfile("m", 0, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ModelProfile("m", 0, 0, -2));
    }
}
