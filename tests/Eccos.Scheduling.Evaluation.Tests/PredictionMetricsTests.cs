namespace Eccos.Scheduling.Evaluation.Tests;

public class PredictionMetricsTests
{
    [Test]
    public void Auc_is_one_for_perfect_ranking_half_for_ties_and_nan_for_one_class()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PredictionMetrics.AreaUnderRocCurve([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), Is.EqualTo(1.0));
            Assert.That(PredictionMetrics.AreaUnderRocCurve([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), Is.EqualTo(0.0));
            Assert.That(PredictionMetrics.AreaUnderRocCurve([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), Is.EqualTo(0.5));
            Assert.That(PredictionMetrics.AreaUnderRocCurve([0.1, 0.2], [1, 1]), Is.NaN);
        });
    }

    [Test]
    public void Auc_matches_pairwise_definition_on_random_data()
    {
        var rng = new Random(5);
        double[] p = Enumerable.Range(0, 300).Select(_ => Math.Round(rng.NextDouble(), 1)).ToArray();
        double[] y = p.Select(v => rng.NextDouble() < v ? 1.0 : 0.0).ToArray();
        double wins = 0, pairs = 0;
        for (int a = 0; a < p.Length; a++)
        {
            for (int b = 0; b < p.Length; b++)
            {
                if (y[a] == 1 && y[b] == 0)
                {
                    pairs++;
                    wins += p[a] > p[b] ? 1 : p[a] == p[b] ? 0.5 : 0;
                }
            }
        }

        Assert.That(PredictionMetrics.AreaUnderRocCurve(p, y), Is.EqualTo(wins / pairs).Within(1e-12));
    }

    [Test]
    public void Brier_and_ece_on_known_values()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PredictionMetrics.BrierScore([1, 0, 0.5], [1, 1, 0]), Is.EqualTo((0 + 1 + 0.25) / 3).Within(1e-12));
            // Two bins' worth: 0.25 predicted where half are right (|0.25-0.5|), 0.95 predicted where all are right (|0.95-1|).
            Assert.That(
                PredictionMetrics.ExpectedCalibrationError([0.25, 0.25, 0.95, 0.95], [0, 1, 1, 1]),
                Is.EqualTo(((2 * 0.25) + (2 * 0.05)) / 4).Within(1e-12));
        });
        Assert.Throws<ArgumentException>(() => PredictionMetrics.BrierScore([1], [1, 0]));
    }
}
