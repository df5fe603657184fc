namespace Eccos.Scheduling;

/// <summary>
/// A ring buffer of the predictions of the most recent requests (one row of M models each) with their arrival times;
/// the online router re-solves its prices over it.
/// </summary>
/// <remarks>Thread-safe: rows are copied in and out under one short lock.</remarks>
internal sealed class PredictionWindow
{
    private readonly object _lock = new();
    private readonly int _rows;
    private readonly int _models;
    private readonly double[] _quality;
    private readonly double[] _cost;
    private readonly bool[] _eligible;
    private readonly long[] _arrivals;
    private int _next;
    private int _count;
    private long _version;

    public PredictionWindow(int rows, int models)
    {
        _rows = rows;
        _models = models;
        _quality = new double[rows * models];
        _cost = new double[rows * models];
        _eligible = new bool[rows * models];
        _arrivals = new long[rows];
    }

    /// <summary>Gets how many rows were ever added (changes whenever the window does).</summary>
    public long Version => Volatile.Read(ref _version);

    /// <summary>Gets the rows held (at most the window size).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Adds one request's predictions, overwriting the oldest when full.</summary>
    public void Add(ReadOnlySpan<double> quality, ReadOnlySpan<double> cost, ReadOnlySpan<bool> eligible, long arrival)
    {
        lock (_lock)
        {
            int at = _next * _models;
            quality.CopyTo(_quality.AsSpan(at, _models));
            cost.CopyTo(_cost.AsSpan(at, _models));
            eligible.CopyTo(_eligible.AsSpan(at, _models));
            _arrivals[_next] = arrival;
            _next = _next + 1 == _rows ? 0 : _next + 1;
            if (_count < _rows)
            {
                _count++;
            }

            _version++;
        }
    }

    /// <summary>Copies the window into a new prediction matrix.</summary>
    /// <param name="models">The pool's models, in column order.</param>
    /// <param name="spanTicks">The time between the oldest and the newest arrival, in timestamp ticks.</param>
    /// <returns>The matrix, or <see langword="null"/> when the window is empty.</returns>
    public PredictionMatrix? Snapshot(IReadOnlyList<ModelProfile> models, out long spanTicks)
    {
        lock (_lock)
        {
            spanTicks = 0;
            if (_count == 0)
            {
                return null;
            }

            var matrix = new PredictionMatrix(_count, models);
            int cells = _count * _models;
            _quality.AsSpan(0, cells).CopyTo(matrix.Quality);
            _cost.AsSpan(0, cells).CopyTo(matrix.Cost);
            _eligible.AsSpan(0, cells).CopyTo(matrix.Eligible);
            long min = long.MaxValue, max = long.MinValue;
            for (int i = 0; i < _count; i++)
            {
                min = Math.Min(min, _arrivals[i]);
                max = Math.Max(max, _arrivals[i]);
            }

            spanTicks = max - min;
            return matrix;
        }
    }
}
