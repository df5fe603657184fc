using System.Globalization;

namespace Eccos.Scheduling;

/// <summary>
/// The target curve t(α): a monotone map from the quality a caller wants to <em>realize</em>, α, to the internal
/// target to hand the solver so that the recorded mean quality of the models it picks reaches α. Learned by
/// <see cref="FitAsync"/>, <see cref="FitCrossFittedAsync"/> or <see cref="Fit"/>, which replay a predictor and a solver
/// over outcomes the predictor was not fitted on.
/// </summary>
/// <remarks>
/// <para>
/// Why: even calibrated predictions overstate the quality of what the solver picks (the optimizer's curse): the solver
/// buys predicted quality where it is cheap, which is where predictions err high, so solving for α realizes less than
/// α. Fitting measures that shortfall end to end.
/// </para>
/// <para>
/// The curve is known at grid points α_k with non-decreasing targets t_k. <see cref="Apply"/> interpolates linearly
/// between them; below the grid it keeps the first point's offset <c>t_0 − α_0</c>, above it the last point's, clamped
/// to [0, 1]. A grid point whose α plus <see cref="Margin"/> exceeded what the replay realized at target 1 is
/// unreachable and has target 1.
/// </para>
/// <para>
/// Immutable; safe to share between threads. Fitting is stateless and thread-safe when the predictor and the solver are
/// (as their contracts require); it observes cancellation between solves. <see cref="Save"/> and <see cref="Load"/>
/// round-trip the curve.
/// </para>
/// </remarks>
public sealed partial class QualityTargetCurve
{
    private const string SavedKind = "eccos.target-curve";
    private const int SavedVersion = 1;
    private readonly double[] _alphas;
    private readonly double[] _targets;
    private readonly double[] _realized;

    /// <summary>Initializes a curve from grid points.</summary>
    /// <param name="alphas">The grid of wanted qualities α_k, strictly increasing, in [0, 1]; at least one.</param>
    /// <param name="targets">The internal target t_k of each grid point, in [0, 1], non-decreasing.</param>
    /// <param name="realized">The quality realized on validation at each t_k; <see langword="null"/> when unknown (NaN).</param>
    /// <param name="maxRealizedQuality">The highest quality the replay realized at all (at target 1); NaN when unknown.</param>
    /// <param name="margin">The safety margin the targets were learned with (α + margin was aimed at).</param>
    /// <exception cref="ArgumentException">The grid is empty, not increasing, out of [0, 1], or the targets decrease.</exception>
    public QualityTargetCurve(
        IReadOnlyList<double> alphas,
        IReadOnlyList<double> targets,
        IReadOnlyList<double>? realized = null,
        double maxRealizedQuality = double.NaN,
        double margin = 0)
    {
        ArgumentNullException.ThrowIfNull(alphas);
        ArgumentNullException.ThrowIfNull(targets);
        if (alphas.Count == 0)
        {
            throw new ArgumentException("At least one grid point is required.", nameof(alphas));
        }

        if (targets.Count != alphas.Count)
        {
            throw new ArgumentException($"{targets.Count} targets were given for {alphas.Count} grid points.", nameof(targets));
        }

        if (realized is not null && realized.Count != alphas.Count)
        {
            throw new ArgumentException($"{realized.Count} realized qualities were given for {alphas.Count} grid points.", nameof(realized));
        }

        if (!double.IsFinite(margin))
        {
            throw new ArgumentOutOfRangeException(nameof(margin), margin, "The margin must be finite.");
        }

        _alphas = [.. alphas];
        _targets = [.. targets];
        _realized = realized is null ? Enumerable.Repeat(double.NaN, alphas.Count).ToArray() : [.. realized];
        for (int k = 0; k < _alphas.Length; k++)
        {
            if (!(_alphas[k] >= 0 && _alphas[k] <= 1) || (k > 0 && _alphas[k] <= _alphas[k - 1]))
            {
                throw new ArgumentException(Invariant($"Grid point {k}: α = {_alphas[k]} must lie in [0, 1] and above the previous point."), nameof(alphas));
            }

            if (!(_targets[k] >= 0 && _targets[k] <= 1) || (k > 0 && _targets[k] < _targets[k - 1]))
            {
                throw new ArgumentException(Invariant($"Grid point {k}: target {_targets[k]} must lie in [0, 1] and not below the previous target."), nameof(targets));
            }
        }

        MaxRealizedQuality = maxRealizedQuality;
        Margin = margin;
    }

    /// <summary>Gets the identity curve: t(α) = α.</summary>
    public static QualityTargetCurve Identity { get; } = new([0, 1], [0, 1]);

    /// <summary>Gets the grid of wanted qualities α_k.</summary>
    public IReadOnlyList<double> Alphas => _alphas;

    /// <summary>Gets the internal target t_k of each grid point.</summary>
    public IReadOnlyList<double> Targets => _targets;

    /// <summary>Gets the quality realized on validation at each grid point's target (NaN when unknown).</summary>
    public IReadOnlyList<double> RealizedQualities => _realized;

    /// <summary>Gets the highest mean quality the replay realized at all (at target 1), or NaN when unknown.</summary>
    public double MaxRealizedQuality { get; }

    /// <summary>Gets the safety margin: fitting aimed at α + margin.</summary>
    public double Margin { get; }

    /// <summary>Returns the internal target to solve for so that the realized quality reaches <paramref name="alpha"/>.</summary>
    /// <param name="alpha">The wanted realized mean quality, in [0, 1].</param>
    /// <returns>t(α) in [0, 1].</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not in [0, 1].</exception>
    public double Apply(double alpha)
    {
        if (!(alpha >= 0 && alpha <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "α must be a number in [0, 1].");
        }

        int last = _alphas.Length - 1;
        if (alpha <= _alphas[0])
        {
            return Math.Clamp(_targets[0] - (_alphas[0] - alpha), 0, 1);
        }

        if (alpha >= _alphas[last])
        {
            return Math.Clamp(_targets[last] + (alpha - _alphas[last]), 0, 1);
        }

        int k = Array.BinarySearch(_alphas, alpha);
        if (k >= 0)
        {
            return _targets[k];
        }

        int right = ~k;
        int left = right - 1;
        double f = (alpha - _alphas[left]) / (_alphas[right] - _alphas[left]);
        return _targets[left] + (f * (_targets[right] - _targets[left]));
    }

    /// <summary>
    /// Returns whether the replay realized <paramref name="alpha"/> plus <see cref="Margin"/> at some target
    /// (always <see langword="true"/> when <see cref="MaxRealizedQuality"/> is unknown).
    /// </summary>
    /// <param name="alpha">The wanted realized mean quality.</param>
    /// <returns><see langword="false"/> when even the highest-quality assignments fell short on validation.</returns>
    public bool IsReachable(double alpha) => double.IsNaN(MaxRealizedQuality) || alpha + Margin <= MaxRealizedQuality + 1e-12;

    /// <summary>Writes this curve in the library's saved-model format.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelFile.Write(stream, SavedKind, SavedVersion, writer =>
        {
            writer.Write(Margin);
            writer.Write(MaxRealizedQuality);
            writer.Write(_alphas.Length);
            for (int k = 0; k < _alphas.Length; k++)
            {
                writer.Write(_alphas[k]);
                writer.Write(_targets[k]);
                writer.Write(_realized[k]);
            }
        });
    }

    /// <summary>Reads a curve written by <see cref="Save"/>.</summary>
    /// <param name="stream">A readable stream positioned at the curve; left open.</param>
    /// <returns>The curve.</returns>
    /// <exception cref="InvalidDataException">The stream does not hold a saved curve, or the saved curve is invalid (the message says why).</exception>
    public static QualityTargetCurve Load(Stream stream) => ModelFile.Read(stream, SavedKind, SavedVersion, static (reader, _) =>
    {
        double margin = reader.ReadDouble();
        double max = reader.ReadDouble();
        int count = reader.ReadInt32();
        if (count < 1 || count > 1_000_000)
        {
            throw new InvalidDataException($"A saved quality target curve with {count} points is invalid.");
        }

        var alphas = new double[count];
        var targets = new double[count];
        var realized = new double[count];
        for (int k = 0; k < count; k++)
        {
            alphas[k] = reader.ReadDouble();
            targets[k] = reader.ReadDouble();
            realized[k] = reader.ReadDouble();
        }

        try
        {
            return new QualityTargetCurve(alphas, targets, realized, max, margin);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"The saved quality target curve is invalid: {ex.Message}", ex);
        }
    });

    /// <inheritdoc />
    public override string ToString() =>
        Invariant($"QualityTargetCurve: {_alphas.Length} points, α {_alphas[0]:0.###}…{_alphas[^1]:0.###} → t {_targets[0]:0.###}…{_targets[^1]:0.###}, margin {Margin:0.###}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
