using System.Globalization;

namespace Eccos.Scheduling;

/// <summary>
/// A non-decreasing map fitted by isotonic regression (weighted pool-adjacent-violators): among all non-decreasing
/// functions of the score, the one closest in weighted squared error to the observed outcomes.
/// </summary>
/// <remarks>
/// <para>
/// Fitting sorts the points (O(n log n)), merges tied scores into one weighted point, and pools adjacent violators
/// in one pass with a stack (O(n)). The result is stored as knots: each pooled block contributes its lowest and highest
/// score with the block's mean outcome. <see cref="Apply(double)"/> finds the knots around a score by binary search and
/// interpolates linearly between them; it is constant beyond the first and the last knot. On the fitted scores it
/// returns exactly the isotonic fit.
/// </para>
/// <para>Immutable; safe to share between threads. <see cref="Save"/> and <see cref="Load"/> round-trip it exactly.</para>
/// </remarks>
public sealed class IsotonicCalibrator
{
    private const string SavedKind = "eccos.isotonic";
    private const int SavedVersion = 1;
    private readonly double[] _x;
    private readonly double[] _y;

    private IsotonicCalibrator(double[] x, double[] y)
    {
        _x = x;
        _y = y;
    }

    /// <summary>Gets the scores of the knots, strictly increasing.</summary>
    public IReadOnlyList<double> KnotInputs => _x;

    /// <summary>Gets the calibrated values at the knots, non-decreasing.</summary>
    public IReadOnlyList<double> KnotOutputs => _y;

    /// <summary>Fits the non-decreasing map from <paramref name="scores"/> to <paramref name="outcomes"/>.</summary>
    /// <param name="scores">The uncalibrated scores (for example predicted probabilities); finite.</param>
    /// <param name="outcomes">The observed outcomes, one per score; finite.</param>
    /// <param name="weights">Optional non-negative finite weights, one per score; empty for unit weights.</param>
    /// <returns>The fitted calibrator.</returns>
    /// <exception cref="ArgumentException">
    /// The spans differ in length, a value is not finite, a weight is negative, or no point has positive weight.
    /// </exception>
    public static IsotonicCalibrator Fit(ReadOnlySpan<double> scores, ReadOnlySpan<double> outcomes, ReadOnlySpan<double> weights = default)
    {
        int n = scores.Length;
        if (outcomes.Length != n)
        {
            throw new ArgumentException($"{n} scores but {outcomes.Length} outcomes; they must pair up.", nameof(outcomes));
        }

        if (!weights.IsEmpty && weights.Length != n)
        {
            throw new ArgumentException($"{n} scores but {weights.Length} weights; give one weight per score or none.", nameof(weights));
        }

        var keys = new double[n];
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            Check(scores[i], i, nameof(scores));
            Check(outcomes[i], i, nameof(outcomes));
            if (!weights.IsEmpty && !(double.IsFinite(weights[i]) && weights[i] >= 0))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Weight {i} is {weights[i]}; weights must be finite and non-negative."), nameof(weights));
            }

            keys[i] = scores[i];
            order[i] = i;
        }

        Array.Sort(keys, order);

        // Pool adjacent violators over tie groups. Blocks live in the first `top` slots of these arrays.
        var sumWy = new double[n];
        var sumW = new double[n];
        var lo = new double[n];
        var hi = new double[n];
        int top = 0;
        for (int s = 0; s < n;)
        {
            double x = keys[s];
            double wy = 0, w = 0;
            for (; s < n && keys[s] == x; s++)
            {
                int i = order[s];
                double wi = weights.IsEmpty ? 1 : weights[i];
                wy += wi * outcomes[i];
                w += wi;
            }

            if (w == 0)
            {
                continue;
            }

            sumWy[top] = wy;
            sumW[top] = w;
            lo[top] = x;
            hi[top] = x;
            top++;

            // Merge while the previous block's mean is not below this one's (equal means merge too: same fit, fewer knots).
            while (top > 1 && sumWy[top - 2] * sumW[top - 1] >= sumWy[top - 1] * sumW[top - 2])
            {
                sumWy[top - 2] += sumWy[top - 1];
                sumW[top - 2] += sumW[top - 1];
                hi[top - 2] = hi[top - 1];
                top--;
            }
        }

        if (top == 0)
        {
            throw new ArgumentException("No point has a positive weight; at least one is required.", n == 0 ? nameof(scores) : nameof(weights));
        }

        var kx = new List<double>(2 * top);
        var ky = new List<double>(2 * top);
        for (int b = 0; b < top; b++)
        {
            double v = sumWy[b] / sumW[b];
            kx.Add(lo[b]);
            ky.Add(v);
            if (hi[b] > lo[b])
            {
                kx.Add(hi[b]);
                ky.Add(v);
            }
        }

        return new IsotonicCalibrator([.. kx], [.. ky]);
    }

    /// <summary>Maps one score.</summary>
    /// <param name="score">The uncalibrated score.</param>
    /// <returns>The calibrated value (NaN for NaN).</returns>
    public double Apply(double score)
    {
        double[] x = _x;
        if (double.IsNaN(score))
        {
            return double.NaN;
        }

        if (score <= x[0])
        {
            return _y[0];
        }

        int last = x.Length - 1;
        if (score >= x[last])
        {
            return _y[last];
        }

        // Find the first knot strictly above the score: x[left] ≤ score < x[left + 1], 0 ≤ left < last.
        int left = 0, right = last;
        while (right - left > 1)
        {
            int mid = (int)((uint)(left + right) >> 1);
            if (x[mid] <= score)
            {
                left = mid;
            }
            else
            {
                right = mid;
            }
        }

        double f = (score - x[left]) / (x[right] - x[left]);
        return _y[left] + (f * (_y[right] - _y[left]));
    }

    /// <summary>Maps many scores.</summary>
    /// <param name="scores">The uncalibrated scores.</param>
    /// <param name="destination">Receives the calibrated values; same length as <paramref name="scores"/> (may be the same memory).</param>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public void Apply(ReadOnlySpan<double> scores, Span<double> destination)
    {
        if (destination.Length != scores.Length)
        {
            throw new ArgumentException($"Destination has length {destination.Length}; {scores.Length} scores were given.", nameof(destination));
        }

        for (int i = 0; i < scores.Length; i++)
        {
            destination[i] = Apply(scores[i]);
        }
    }

    /// <summary>Writes this calibrator in the library's saved-model format.</summary>
    /// <param name="stream">A writable stream; left open.</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelFile.Write(stream, SavedKind, SavedVersion, Write);
    }

    /// <summary>Reads a calibrator written by <see cref="Save"/>.</summary>
    /// <param name="stream">A readable stream positioned at the calibrator; left open.</param>
    /// <returns>The calibrator.</returns>
    /// <exception cref="InvalidDataException">The stream does not hold a valid saved calibrator.</exception>
    public static IsotonicCalibrator Load(Stream stream) => ModelFile.Read(stream, SavedKind, SavedVersion, static (reader, _) => Read(reader));

    /// <summary>Writes the knots (the payload, also nested in a calibrated predictor's file).</summary>
    internal void Write(BinaryWriter writer)
    {
        writer.Write(_x.Length);
        foreach (double v in _x)
        {
            writer.Write(v);
        }

        foreach (double v in _y)
        {
            writer.Write(v);
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote, checking monotonicity.</summary>
    internal static IsotonicCalibrator Read(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        if (count < 1 || count > (1 << 26))
        {
            throw new InvalidDataException($"A saved isotonic calibrator with {count} knots is invalid.");
        }

        var x = new double[count];
        var y = new double[count];
        for (int i = 0; i < count; i++)
        {
            x[i] = reader.ReadDouble();
        }

        for (int i = 0; i < count; i++)
        {
            y[i] = reader.ReadDouble();
        }

        for (int i = 0; i < count; i++)
        {
            if (!double.IsFinite(x[i]) || !double.IsFinite(y[i]) || (i > 0 && (x[i] <= x[i - 1] || y[i] < y[i - 1])))
            {
                throw new InvalidDataException($"Saved isotonic calibrator knot {i} breaks monotonicity or is not finite.");
            }
        }

        return new IsotonicCalibrator(x, y);
    }

    private static void Check(double value, int index, string paramName)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Value {index} is {value}; it must be finite."), paramName);
        }
    }
}
