namespace Eccos.Scheduling.Tests.Dispatch;

public class PricingTests
{
    private static readonly ModelProfile[] Models = [new("cheap", 0.1, 0.1), new("mid", 1, 1), new("strong", 5, 5)];

    [Test]
    public void Calibrated_price_is_the_smallest_that_meets_alpha_on_the_window()
    {
        PredictionMatrix window = Window(200, seed: 3);
        const double Alpha = 0.75;

        double lambda = Pricing.FitQualityPrice(window, new double[3], solverPrice: 0, Alpha);

        Assert.Multiple(() =>
        {
            Assert.That(Pricing.MeanQualityAt(window, new double[3], 0), Is.LessThan(Alpha), "the cheapest policy misses α");
            Assert.That(Pricing.MeanQualityAt(window, new double[3], lambda), Is.GreaterThanOrEqualTo(Alpha));
            Assert.That(Pricing.MeanQualityAt(window, new double[3], lambda * (1 - 1e-6)), Is.LessThan(Alpha));
        });
    }

    [Test]
    public void A_solver_price_that_meets_alpha_is_kept_and_infinity_means_quality_only()
    {
        PredictionMatrix window = Window(50, seed: 4);
        double enough = Pricing.FitQualityPrice(window, new double[3], 0, 0.7) * 3;

        Assert.Multiple(() =>
        {
            Assert.That(Pricing.FitQualityPrice(window, new double[3], enough, 0.7), Is.EqualTo(enough));
            Assert.That(Pricing.FitQualityPrice(window, new double[3], double.PositiveInfinity, 0.7), Is.EqualTo(double.PositiveInfinity));
            Assert.That(Pricing.MeanQualityAt(window, new double[3], double.PositiveInfinity), Is.EqualTo(BestMean(window)).Within(1e-12));
        });
    }

    [Test]
    public void An_unreachable_target_prices_every_query_onto_its_best_model()
    {
        PredictionMatrix window = Window(50, seed: 5);

        double lambda = Pricing.FitQualityPrice(window, new double[3], 0, 0.999);

        Assert.That(Pricing.MeanQualityAt(window, new double[3], lambda), Is.EqualTo(BestMean(window)).Within(1e-9));
    }

    [Test]
    public void Orders_follow_scores_and_the_threshold_rule()
    {
        double[] quality = [0.5, 0.8, 0.95], cost = [0.001, 0.01, 0.05];
        bool[] eligible = [true, true, true];
        var prices = new EccosPrices(0.5, [0, 0, 0.1], 10, ["cheap", "mid", "strong"], DateTimeOffset.UnixEpoch, AssignmentStatus.Optimal, TimeSpan.Zero);
        double[] scores = new double[3];
        Pricing.Score(quality, cost, eligible, prices, scores);

        Assert.Multiple(() =>
        {
            Assert.That(Pricing.OrderByThreshold(quality, cost, eligible, 0.7), Is.EqualTo(Ints(1, 2, 0)));
            Assert.That(Pricing.OrderByThreshold(quality, cost, eligible, 0.99), Is.EqualTo(Ints(2, 1, 0)));
            Assert.That(Pricing.OrderByThreshold(quality, cost, [true, false, true], 0.7), Is.EqualTo(Ints(2, 0)));
            Assert.That(scores[1], Is.EqualTo(0.01 - (0.05 * 0.8)).Within(1e-15));
            Assert.That(Pricing.OrderByScore(scores, eligible), Is.EqualTo(Ints(1, 0, 2)));
            Assert.That(Pricing.Reduced(1, 0.5, 0.1, double.PositiveInfinity), Is.EqualTo(double.PositiveInfinity));
        });
    }

    private static int[] Ints(params int[] items) => items;

    private static double BestMean(PredictionMatrix window)
    {
        double sum = 0;
        for (int i = 0; i < window.QueryCount; i++)
        {
            double best = 0;
            foreach (double q in window.QualityRow(i))
            {
                best = Math.Max(best, q);
            }

            sum += best;
        }

        return sum / window.QueryCount;
    }

    private static PredictionMatrix Window(int n, int seed)
    {
        var random = new Random(seed);
        var matrix = new PredictionMatrix(n, Models);
        for (int i = 0; i < n; i++)
        {
            double hardness = random.NextDouble();
            matrix.Set(i, 0, Math.Clamp(0.9 - hardness, 0, 1), 0.0001 * (1 + random.NextDouble()));
            matrix.Set(i, 1, Math.Clamp(1.0 - (0.5 * hardness), 0, 1), 0.001 * (1 + random.NextDouble()));
            matrix.Set(i, 2, Math.Clamp(1.0 - (0.2 * hardness), 0, 1), 0.01 * (1 + random.NextDouble()));
        }

        return matrix;
    }
}
