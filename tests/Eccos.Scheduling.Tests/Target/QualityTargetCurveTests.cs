using System.Text;

namespace Eccos.Scheduling.Tests.Target;

public class QualityTargetCurveTests
{
    private static readonly QualityTargetCurve Sample = new([0.5, 0.6, 0.7], [0.6, 0.75, 1.0], [0.61, 0.72, 0.74], maxRealizedQuality: 0.74, margin: 0.01);

    [Test]
    public void Apply_interpolates_inside_the_grid_and_keeps_the_end_offsets_outside()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Sample.Apply(0.5), Is.EqualTo(0.6));
            Assert.That(Sample.Apply(0.55), Is.EqualTo(0.675).Within(1e-12));
            Assert.That(Sample.Apply(0.65), Is.EqualTo(0.875).Within(1e-12));
            Assert.That(Sample.Apply(0.4), Is.EqualTo(0.5).Within(1e-12), "below the grid: the first point's offset +0.1");
            Assert.That(Sample.Apply(0), Is.EqualTo(0.1).Within(1e-12));
            Assert.That(new QualityTargetCurve([0.5], [0.3]).Apply(0.1), Is.EqualTo(0.0), "clamped at 0");
            Assert.That(Sample.Apply(0.9), Is.EqualTo(1.0), "above the grid: clamped at 1");
            Assert.That(QualityTargetCurve.Identity.Apply(0.731), Is.EqualTo(0.731).Within(1e-12));
            Assert.That(Sample.IsReachable(0.73), Is.True);
            Assert.That(Sample.IsReachable(0.735), Is.False, "0.735 + margin 0.01 exceeds the 0.74 realized at most");
        });
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Sample.Apply(1.5))!.ParamName, Is.EqualTo("alpha"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Sample.Apply(double.NaN))!.ParamName, Is.EqualTo("alpha"));
    }

    [Test]
    public void Apply_is_monotone_over_the_whole_range()
    {
        double previous = -1;
        for (double a = 0; a <= 1; a += 0.001)
        {
            double t = Sample.Apply(a);
            Assert.That(t, Is.GreaterThanOrEqualTo(previous));
            previous = t;
        }
    }

    [Test]
    public void Save_and_load_round_trip()
    {
        using var stream = new MemoryStream();
        Sample.Save(stream);
        stream.Position = 0;
        QualityTargetCurve loaded = QualityTargetCurve.Load(stream);
        Assert.Multiple(() =>
        {
            Assert.That(loaded.Alphas, Is.EqualTo(Sample.Alphas));
            Assert.That(loaded.Targets, Is.EqualTo(Sample.Targets));
            Assert.That(loaded.RealizedQualities, Is.EqualTo(Sample.RealizedQualities));
            Assert.That(loaded.MaxRealizedQuality, Is.EqualTo(Sample.MaxRealizedQuality));
            Assert.That(loaded.Margin, Is.EqualTo(Sample.Margin));
        });

        using var identity = new MemoryStream();
        QualityTargetCurve.Identity.Save(identity);
        identity.Position = 0;
        Assert.That(QualityTargetCurve.Load(identity).MaxRealizedQuality, Is.NaN);
    }

    [TestCase("not json")]
    [TestCase("""{"version":2,"margin":0,"points":[{"alpha":0.5,"target":0.5}]}""")]
    [TestCase("""{"version":1,"margin":0,"points":[{"alpha":0.5,"target":0.7},{"alpha":0.6,"target":0.6}]}""")]
    [TestCase("""{"version":1,"margin":0}""")]
    public void Load_rejects_invalid_json(string json) =>
        Assert.Throws<InvalidDataException>(() => QualityTargetCurve.Load(new MemoryStream(Encoding.UTF8.GetBytes(json))));

    [Test]
    public void Bad_grids_are_rejected_with_the_point_named()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentException>(() => new QualityTargetCurve([], []))!.ParamName, Is.EqualTo("alphas"));
            Assert.That(Assert.Throws<ArgumentException>(() => new QualityTargetCurve([0.5, 0.5], [0.5, 0.6]))!.Message, Does.Contain("Grid point 1"));
            Assert.That(Assert.Throws<ArgumentException>(() => new QualityTargetCurve([0.5, 0.6], [0.7, 0.6]))!.ParamName, Is.EqualTo("targets"));
            Assert.That(Assert.Throws<ArgumentException>(() => new QualityTargetCurve([0.5], [1.2]))!.ParamName, Is.EqualTo("targets"));
            Assert.That(Assert.Throws<ArgumentException>(() => new QualityTargetCurve([0.5], [0.5, 0.6]))!.ParamName, Is.EqualTo("targets"));
        });
    }
}
