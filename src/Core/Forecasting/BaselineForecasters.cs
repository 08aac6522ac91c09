namespace VmEcosystem.Forecasting;

/// <summary>Naive: the last value; random-walk interval (σ of one-step changes × √h).</summary>
public sealed class NaiveForecaster(ForecasterOptions? options = null) : ForecasterBase("naive", options)
{
    private double _last;
    private double _sigma;

    /// <inheritdoc />
    protected override void Reset() => _last = 0;

    /// <inheritdoc />
    protected override void Absorb(double value) => _last = value;

    /// <inheritdoc />
    protected override void Estimate()
    {
        Span<double> h = stackalloc double[History.Count];
        History.CopyLast(History.Count, h);
        double ss = 0;
        for (int i = 1; i < h.Length; i++)
        {
            ss += (h[i] - h[i - 1]) * (h[i] - h[i - 1]);
        }

        _sigma = h.Length > 1 ? Math.Sqrt(ss / (h.Length - 1)) : 0;
    }

    /// <inheritdoc />
    protected override (double Point, double Sigma) PointAndSigma(int horizon) => (_last, _sigma * Math.Sqrt(horizon));
}

/// <summary>Moving average of the last <c>window</c> values; interval from their spread.</summary>
public sealed class MovingAverageForecaster : ForecasterBase
{
    private readonly int _window;

    /// <summary>Creates the forecaster.</summary>
    public MovingAverageForecaster(int window = 12, ForecasterOptions? options = null)
        : base($"ma{window}", options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        _window = window;
    }

    /// <inheritdoc />
    protected override bool HasParameters => false;



    /// <inheritdoc />
    protected override (double Point, double Sigma) PointAndSigma(int horizon)
    {
        return RecentMean(_window);
    }
}

/// <summary>
/// Moving median of the last <c>window</c> values: the MAE-optimal point forecast of a stationary series, and
/// robust to the spikes CPU traces are full of. Interval from the window's median absolute deviation.
/// </summary>
public sealed class MovingMedianForecaster : ForecasterBase
{
    private readonly int _window;
    private readonly double[] _scratch;

    /// <summary>Creates the forecaster.</summary>
    public MovingMedianForecaster(int window = 24, ForecasterOptions? options = null)
        : base($"median{window}", options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        _window = window;
        _scratch = new double[window];
    }

    /// <inheritdoc />
    protected override bool HasParameters => false;



    /// <inheritdoc />
    protected override (double Point, double Sigma) PointAndSigma(int horizon)
    {
        int n = Math.Min(_window, History.Count);
        Span<double> w = stackalloc double[n];
        History.CopyLast(n, w);
        double median = RobustStatistics.Median(w, _scratch);
        for (int i = 0; i < n; i++)
        {
            w[i] = Math.Abs(w[i] - median);
        }

        double mad = RobustStatistics.Median(w, _scratch);
        return (median, 1.4826 * mad * Math.Sqrt(1 + (1.0 / n)));
    }
}
