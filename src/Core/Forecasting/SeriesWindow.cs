namespace VmEcosystem.Forecasting;

/// <summary>
/// The most recent values of a series in a fixed-size ring buffer, readable newest-first by index or as a
/// contiguous oldest-first span (<see cref="CopyLast"/>). Allocation-free after construction.
/// </summary>
public sealed class SeriesWindow
{
    private readonly double[] _buffer;
    private int _next;

    /// <summary>Creates a window keeping the last <paramref name="capacity"/> values.</summary>
    public SeriesWindow(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _buffer = new double[capacity];
    }

    /// <summary>Values kept.</summary>
    public int Count { get; private set; }

    /// <summary>Maximum values kept.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>Values observed since construction or the last <see cref="Clear"/>.</summary>
    public long Total { get; private set; }

    /// <summary>The value <paramref name="lag"/> steps back (1 = newest).</summary>
    public double this[int lag]
    {
        get
        {
            if ((uint)(lag - 1) >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(lag), lag, $"Only {Count} values are kept.");
            }

            int i = _next - lag;
            return _buffer[i < 0 ? i + _buffer.Length : i];
        }
    }

    /// <summary>Appends a value, evicting the oldest when full.</summary>
    public void Add(double value)
    {
        _buffer[_next] = value;
        _next = _next + 1 == _buffer.Length ? 0 : _next + 1;
        if (Count < _buffer.Length)
        {
            Count++;
        }

        Total++;
    }

    /// <summary>Sets the count of values ever observed (after a replay of the retained ones).</summary>
    internal void SetTotal(long total) => Total = Math.Max(total, Count);

    /// <summary>Forgets every value.</summary>
    public void Clear()
    {
        Count = 0;
        Total = 0;
        _next = 0;
    }

    /// <summary>Copies the newest <paramref name="n"/> values (or fewer when fewer are kept) oldest-first; returns the number copied.</summary>
    public int CopyLast(int n, Span<double> destination)
    {
        n = Math.Min(Math.Min(n, Count), destination.Length);
        int start = _next - n;
        if (start < 0)
        {
            start += _buffer.Length;
        }

        int first = Math.Min(n, _buffer.Length - start);
        _buffer.AsSpan(start, first).CopyTo(destination);
        if (first < n)
        {
            _buffer.AsSpan(0, n - first).CopyTo(destination[first..]);
        }

        return n;
    }
}
