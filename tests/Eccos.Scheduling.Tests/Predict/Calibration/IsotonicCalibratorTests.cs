namespace Eccos.Scheduling.Tests.Predict.Calibration;

public class IsotonicCalibratorTests
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    public void Fit_equals_the_min_max_formula_of_weighted_isotonic_regression(int seed)
    {
        var rng = new Random(seed);
        int n = 40;
        double[] x = Enumerable.Range(0, n).Select(_ => (double)rng.Next(0, 15)).ToArray(); // many ties
        double[] y = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.5 ? rng.NextDouble() : Math.Round(rng.NextDouble())).ToArray();
        double[] w = Enumerable.Range(0, n).Select(_ => 0.1 + (3 * rng.NextDouble())).ToArray();

        IsotonicCalibrator c = IsotonicCalibrator.Fit(x, y, w);

        // Brute force over distinct scores: f(g_i) = max_{a≤i} min_{b≥i} weighted mean of groups a..b.
        double[] groups = x.Distinct().Order().ToArray();
        double[] gw = groups.Select(g => Enumerable.Range(0, n).Where(i => x[i] == g).Sum(i => w[i])).ToArray();
        double[] gwy = groups.Select(g => Enumerable.Range(0, n).Where(i => x[i] == g).Sum(i => w[i] * y[i])).ToArray();
        for (int i = 0; i < groups.Length; i++)
        {
            double best = double.NegativeInfinity;
            for (int a = 0; a <= i; a++)
            {
                double worst = double.PositiveInfinity;
                for (int b = i; b < groups.Length; b++)
                {
                    worst = Math.Min(worst, gwy[a..(b + 1)].Sum() / gw[a..(b + 1)].Sum());
                }

                best = Math.Max(best, worst);
            }

            Assert.That(c.Apply(groups[i]), Is.EqualTo(best).Within(1e-12), $"score {groups[i]}");
        }
    }

    [Test]
    public void Fit_is_monotone_and_no_monotone_perturbation_lowers_the_weighted_squared_error()
    {
        var rng = new Random(11);
        int n = 200;
        double[] x = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
        double[] y = x.Select(v => rng.NextDouble() < v ? 1.0 : 0.0).ToArray();
        double[] w = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
        IsotonicCalibrator c = IsotonicCalibrator.Fit(x, y, w);
        int[] order = Enumerable.Range(0, n).OrderBy(i => x[i]).ToArray();
        double[] fitted = order.Select(i => c.Apply(x[i])).ToArray();
        for (int k = 1; k < n; k++)
        {
            Assert.That(fitted[k], Is.GreaterThanOrEqualTo(fitted[k - 1]));
        }

        double Loss(double[] f) => Enumerable.Range(0, n).Sum(k => w[order[k]] * Math.Pow(f[k] - y[order[k]], 2));
        double best = Loss(fitted);
        for (int trial = 0; trial < 500; trial++)
        {
            // A random non-decreasing step added (or subtracted) keeps the sequence non-decreasing only when added;
            // mixing in a shift keeps it monotone either way.
            int cut = rng.Next(n);
            double step = rng.NextDouble() * 0.05;
            double shift = (rng.NextDouble() - 0.5) * 0.05;
            double[] g = fitted.Select((v, k) => v + shift + (k >= cut ? step : 0)).ToArray();
            Assert.That(Loss(g), Is.GreaterThanOrEqualTo(best - 1e-12));
        }
    }

    [Test]
    public void Weighted_ties_pool_into_their_weighted_mean()
    {
        // Score 1 twice (weights 3 and 1, outcomes 0 and 1) → 0.25; score 2 → 0 violates and pools with it.
        IsotonicCalibrator c = IsotonicCalibrator.Fit([1, 1, 2, 3], [0, 1, 0, 1], [3, 1, 1, 2]);
        Assert.Multiple(() =>
        {
            Assert.That(c.Apply(1), Is.EqualTo(0.2).Within(1e-12)); // (0·3 + 1·1 + 0·1) / 5
            Assert.That(c.Apply(2), Is.EqualTo(0.2).Within(1e-12));
            Assert.That(c.Apply(3), Is.EqualTo(1.0));
            Assert.That(c.KnotInputs, Is.EqualTo(Values(1.0, 2.0, 3.0)));
        });
    }

    [Test]
    public void Zero_weights_are_ignored()
    {
        IsotonicCalibrator c = IsotonicCalibrator.Fit([1, 2, 3], [1, 0, 1], [0, 1, 1]);
        Assert.That(c.KnotInputs, Is.EqualTo(Values(2.0, 3.0)));
        Assert.That(c.Apply(1), Is.EqualTo(0.0));
    }

    [Test]
    public void Apply_interpolates_between_blocks_and_is_flat_outside()
    {
        IsotonicCalibrator c = IsotonicCalibrator.Fit([0.1, 0.2, 0.5, 0.6, 0.9], [0, 0, 0.5, 0.5, 1]);
        Assert.Multiple(() =>
        {
            Assert.That(c.KnotInputs, Is.EqualTo(Values(0.1, 0.2, 0.5, 0.6, 0.9)));
            Assert.That(c.Apply(0.15), Is.EqualTo(0.0));        // inside a block
            Assert.That(c.Apply(0.35), Is.EqualTo(0.25).Within(1e-12)); // between blocks: linear
            Assert.That(c.Apply(0.75), Is.EqualTo(0.75).Within(1e-12));
            Assert.That(c.Apply(-5), Is.EqualTo(0.0));           // below range
            Assert.That(c.Apply(7), Is.EqualTo(1.0));            // above range
            Assert.That(c.Apply(double.NaN), Is.NaN);
        });
        double[] xs = [-1, 0.35, 2];
        var dest = new double[3];
        c.Apply(xs, dest);
        Assert.That(dest, Is.EqualTo(Values(0.0, 0.25, 1.0)).Within(1e-12));
        Assert.Throws<ArgumentException>(() => c.Apply(xs, new double[2]));
    }

    [Test]
    public void Single_point_and_constant_outcomes_give_constant_maps()
    {
        Assert.Multiple(() =>
        {
            Assert.That(IsotonicCalibrator.Fit([0.3], [1]).Apply(0.9), Is.EqualTo(1.0));
            IsotonicCalibrator flat = IsotonicCalibrator.Fit([0.9, 0.1, 0.5], [0.4, 0.4, 0.4]);
            Assert.That(flat.KnotInputs, Is.EqualTo(Values(0.1, 0.9)));
            Assert.That(flat.Apply(0.3), Is.EqualTo(0.4).Within(1e-15));
        });
    }

    [Test]
    public void Save_and_load_round_trip_exactly_and_bad_streams_are_rejected()
    {
        var rng = new Random(3);
        double[] x = Enumerable.Range(0, 300).Select(_ => rng.NextDouble()).ToArray();
        double[] y = x.Select(v => rng.NextDouble() < v ? 1.0 : 0.0).ToArray();
        IsotonicCalibrator c = IsotonicCalibrator.Fit(x, y);
        using var stream = new MemoryStream();
        c.Save(stream);
        stream.Position = 0;
        IsotonicCalibrator loaded = IsotonicCalibrator.Load(stream);
        Assert.Multiple(() =>
        {
            Assert.That(loaded.KnotInputs, Is.EqualTo(c.KnotInputs));
            Assert.That(loaded.KnotOutputs, Is.EqualTo(c.KnotOutputs));
            Assert.That(x.Select(loaded.Apply), Is.EqualTo(x.Select(c.Apply)));
        });

        byte[] bytes = stream.ToArray();
        Assert.Throws<InvalidDataException>(() => IsotonicCalibrator.Load(new MemoryStream(bytes[..^3])));
        byte[] badMagic = (byte[])bytes.Clone();
        badMagic[0] ^= 0xFF;
        Assert.Throws<InvalidDataException>(() => IsotonicCalibrator.Load(new MemoryStream(badMagic)));
        byte[] unsorted = (byte[])bytes.Clone();
        BitConverter.GetBytes(2.0).CopyTo(unsorted, 12); // first knot input above the second
        Assert.Throws<InvalidDataException>(() => IsotonicCalibrator.Load(new MemoryStream(unsorted)));
    }

    [Test]
    public void Bad_input_names_the_argument_and_the_index()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentException>(() => IsotonicCalibrator.Fit([1, 2], [1]))!.ParamName, Is.EqualTo("outcomes"));
            Assert.That(Assert.Throws<ArgumentException>(() => IsotonicCalibrator.Fit([1, 2], [1, 0], [1]))!.ParamName, Is.EqualTo("weights"));
            var nan = Assert.Throws<ArgumentException>(() => IsotonicCalibrator.Fit([1, double.NaN], [1, 0]))!;
            Assert.That(nan.ParamName, Is.EqualTo("scores"));
            Assert.That(nan.Message, Does.Contain("Value 1"));
            Assert.That(Assert.Throws<ArgumentException>(() => IsotonicCalibrator.Fit([1, 2], [1, double.PositiveInfinity]))!.ParamName, Is.EqualTo("outcomes"));
            Assert.That(Assert.Throws<ArgumentException>(() => IsotonicCalibrator.Fit([1, 2], [1, 0], [1, -1]))!.Message, Does.Contain("Weight 1"));
            Assert.That(Assert.Throws<ArgumentException>(() => IsotonicCalibrator.Fit([], []))!.ParamName, Is.EqualTo("scores"));
            Assert.That(Assert.Throws<ArgumentException>(() => IsotonicCalibrator.Fit([1], [1], [0]))!.ParamName, Is.EqualTo("weights"));
        });
    }

    private static double[] Values(params double[] values) => values;
}
