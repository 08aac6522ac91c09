namespace VmEcosystem.Forecasting;

/// <summary>Settings shared by the per-series forecasters.</summary>
public sealed record ForecasterOptions
{
    /// <summary>Defaults: 288 samples of history, point and bounds clamped at 0, no empirical calibration.</summary>
    public static ForecasterOptions Default { get; } = new();

    /// <summary>Samples kept for refitting and robust statistics.</summary>
    public int HistoryCapacity { get; init; } = 288;

    /// <summary>Clamp forecasts and bounds at 0 (resource demand cannot be negative).</summary>
    public bool NonNegative { get; init; } = true;

    /// <summary>
    /// Horizons whose intervals come from the empirical quantiles of recent out-of-sample residuals instead of the
    /// model's analytic formula once enough residuals exist (other horizons use the nearest calibrated one's
    /// scaling). Empty: analytic intervals only (the fastest incremental path).
    /// </summary>
    public IReadOnlyList<int> CalibratedHorizons { get; init; } = [];

    /// <summary>Residuals kept per calibrated horizon.</summary>
    public int CalibrationWindow { get; init; } = 96;

    /// <summary>Residuals needed before empirical intervals replace analytic ones.</summary>
    public int MinimumCalibrationResiduals { get; init; } = 24;
}

/// <summary>
/// Shared machinery of the per-series forecasters: input validation (NaN, infinite and negative samples are
/// rejected with a clear error), the retained history, non-negativity, and empirical interval calibration from
/// the residuals of the model's own past forecasts.
/// </summary>
public abstract class ForecasterBase : IForecaster, IRetainedHistory
{
    private readonly ForecasterOptions _options;
    private readonly int[] _calibrated;
    private readonly double[][] _pending;      // forecasts made at the last maxH steps, per calibrated horizon
    private readonly double[][] _residuals;    // recent residuals per calibrated horizon
    private readonly int[] _residualCount;
    private readonly int[] _residualNext;
    private readonly double[] _sortScratch;
    private readonly int _maxHorizon;
    private long _steps;

    /// <summary>Initialises the base.</summary>
    protected ForecasterBase(string name, ForecasterOptions? options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _options = options ?? ForecasterOptions.Default;
        if (_options.HistoryCapacity < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.HistoryCapacity, "ForecasterOptions.HistoryCapacity must be at least 2.");
        }

        Name = name;
        History = new SeriesWindow(_options.HistoryCapacity);
        _calibrated = [.. _options.CalibratedHorizons.Distinct().Order()];
        if (_calibrated.Any(h => h < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "ForecasterOptions.CalibratedHorizons must be positive.");
        }

        _maxHorizon = _calibrated.Length == 0 ? 0 : _calibrated[^1];
        _pending = new double[_calibrated.Length][];
        _residuals = new double[_calibrated.Length][];
        _residualCount = new int[_calibrated.Length];
        _residualNext = new int[_calibrated.Length];
        for (int i = 0; i < _calibrated.Length; i++)
        {
            _pending[i] = new double[_maxHorizon];
            _residuals[i] = new double[_options.CalibrationWindow];
        }

        _sortScratch = new double[_options.CalibrationWindow];
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public long Observations => History.Total;

    int IRetainedHistory.RetainedCount => History.Count;

    int IRetainedHistory.CopyHistory(Span<double> destination) => History.CopyLast(History.Count, destination);

    /// <summary>The retained history.</summary>
    protected SeriesWindow History { get; }

    /// <summary>The options.</summary>
    protected ForecasterOptions Options => _options;

    /// <inheritdoc />
    public void Fit(ReadOnlySpan<double> history)
    {
        foreach (double v in history)
        {
            Validate(v);
        }

        History.Clear();
        foreach (double v in history)
        {
            History.Add(v);
        }

        Estimate();
        RunHistory();
    }

    /// <inheritdoc />
    public void Update(double value)
    {
        Validate(value);
        Step(value);
    }

    /// <inheritdoc />
    public void Refit()
    {
        if (History.Count == 0 || !HasParameters)
        {
            return;
        }

        Estimate();
        RunHistory();
    }

    // Re-runs the state over the retained history with the current parameters, seeding the calibration residuals.
    private void RunHistory()
    {
        int n = History.Count;
        double[] copy = new double[n];
        History.CopyLast(n, copy);
        long total = History.Total;
        History.Clear();
        ResetCalibration();
        Reset();
        foreach (double v in copy)
        {
            Step(v);
        }

        History.SetTotal(total);
    }

    private void Step(double value)
    {
        if (_calibrated.Length > 0 && _steps > 0)
        {
            RecordResiduals(value);
        }

        History.Add(value);
        Absorb(value);
        _steps++;
        if (_calibrated.Length > 0)
        {
            RememberForecasts();
        }
    }

    /// <inheritdoc />
    public Forecast Forecast(int horizon, double confidence = 0.95)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(horizon, 1);
        if (!(confidence > 0 && confidence < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "Confidence must be within (0, 1).");
        }

        if (History.Total == 0)
        {
            throw new InvalidOperationException($"Forecaster '{Name}' has no observations yet; call Fit or Update first.");
        }

        if (TryForecastDirectly(horizon, confidence, out var direct))
        {
            return _options.NonNegative ? direct.NonNegative() : direct;
        }

        var (point, sigma) = PointAndSigma(horizon);
        if (!double.IsFinite(point))
        {
            point = History[1]; // never hand out NaN: fall back to the last observation
        }

        Forecast result;
        int slot = CalibrationSlot(horizon);
        if (slot >= 0 && _residualCount[slot] >= _options.MinimumCalibrationResiduals)
        {
            var (lo, hi) = ResidualQuantiles(slot, confidence);
            double stretch = Math.Sqrt((double)horizon / _calibrated[slot]);
            result = new Forecast(point, point + (lo * stretch), point + (hi * stretch));
        }
        else
        {
            double z = NormalQuantile.TwoSided(confidence);
            double s = double.IsFinite(sigma) && sigma > 0 ? sigma : 0;
            result = new Forecast(point, point - (z * s), point + (z * s));
        }

        return _options.NonNegative ? result.NonNegative() : result;
    }

    /// <summary>False for models without fitted per-series parameters: <see cref="Refit"/> then has nothing to do.</summary>
    protected virtual bool HasParameters => true;

    /// <summary>Clears the model state (not its parameters) before the history is replayed. Models that read only
    /// <see cref="History"/> keep no other state and need not override it.</summary>
    protected virtual void Reset()
    {
    }

    /// <summary>Moves the state forward by one sample (already appended to <see cref="History"/>); a no-op for
    /// models that read only the history.</summary>
    protected virtual void Absorb(double value)
    {
    }

    /// <summary>The mean of the last <paramref name="count"/> values (at most the history) and the standard deviation
    /// of a new value around it: the plain window forecast, also the fallback of models not fitted yet.</summary>
    protected (double Point, double Sigma) RecentMean(int count)
    {
        int n = Math.Min(count, History.Count);
        Span<double> w = stackalloc double[n];
        History.CopyLast(n, w);
        double mean = 0;
        foreach (double v in w)
        {
            mean += v;
        }

        mean /= n;
        return (mean, RobustStatistics.StandardDeviation(w) * Math.Sqrt(1 + (1.0 / n)));
    }

    /// <summary>Estimates parameters from <see cref="History"/>; the state is rebuilt afterwards.</summary>
    protected virtual void Estimate()
    {
    }

    /// <summary>Lets a model produce the whole forecast (point and its own interval), bypassing the analytic/empirical interval.</summary>
    protected virtual bool TryForecastDirectly(int horizon, double confidence, out Forecast forecast)
    {
        forecast = default;
        return false;
    }

    /// <summary>The point forecast and the standard deviation of the forecast error at <paramref name="horizon"/>.</summary>
    protected abstract (double Point, double Sigma) PointAndSigma(int horizon);

    private static void Validate(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentException($"Samples must be finite numbers; got {value}.", nameof(value));
        }

        if (value < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "Resource demand samples must be non-negative.");
        }
    }

    private int CalibrationSlot(int horizon)
    {
        if (_calibrated.Length == 0)
        {
            return -1;
        }

        int best = 0;
        for (int i = 1; i < _calibrated.Length; i++)
        {
            if (Math.Abs(_calibrated[i] - horizon) < Math.Abs(_calibrated[best] - horizon))
            {
                best = i;
            }
        }

        return best;
    }

    private void ResetCalibration()
    {
        _steps = 0;
        Array.Clear(_residualCount);
        Array.Clear(_residualNext);
    }

    private void RememberForecasts()
    {
        long slot = _steps % _maxHorizon;
        for (int i = 0; i < _calibrated.Length; i++)
        {
            _pending[i][slot] = PointAndSigma(_calibrated[i]).Point;
        }
    }

    private void RecordResiduals(double actual)
    {
        for (int i = 0; i < _calibrated.Length; i++)
        {
            int h = _calibrated[i];
            if (_steps < h)
            {
                continue;
            }

            // The forecast for this step was made h steps ago.
            double predicted = _pending[i][(_steps - h) % _maxHorizon];
            var ring = _residuals[i];
            ring[_residualNext[i]] = actual - predicted;
            _residualNext[i] = (_residualNext[i] + 1) % ring.Length;
            _residualCount[i] = Math.Min(_residualCount[i] + 1, ring.Length);
        }
    }

    private (double Lower, double Upper) ResidualQuantiles(int slot, double confidence)
    {
        int n = _residualCount[slot];
        var span = _sortScratch.AsSpan(0, n);
        _residuals[slot].AsSpan(0, n).CopyTo(span);
        span.Sort();
        double alpha = (1 - confidence) / 2;
        return (Quantile(span, alpha), Quantile(span, 1 - alpha));
    }

    /// <summary>Linear-interpolated quantile of sorted data.</summary>
    internal static double Quantile(ReadOnlySpan<double> sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int i = (int)Math.Floor(pos);
        double f = pos - i;
        return i + 1 < sorted.Length ? (sorted[i] * (1 - f)) + (sorted[i + 1] * f) : sorted[i];
    }
}
