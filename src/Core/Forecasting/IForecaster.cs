namespace VmEcosystem.Forecasting;

/// <summary>
/// Forecasts one series (one metric of one VM): fit on history, update incrementally with each new sample, and
/// forecast h steps ahead with a prediction interval at a configurable confidence level.
/// </summary>
public interface IForecaster
{
    /// <summary>Method name (<c>ses</c>, <c>ssa</c>, <c>auto</c>, ...).</summary>
    string Name { get; }

    /// <summary>Samples seen so far.</summary>
    long Observations { get; }

    /// <summary>Forgets everything and fits on <paramref name="history"/> (oldest first).</summary>
    /// <exception cref="ArgumentException">A value is NaN, infinite or negative.</exception>
    void Fit(ReadOnlySpan<double> history);

    /// <summary>Adds the next sample (cheap; parameters are not re-estimated).</summary>
    /// <exception cref="ArgumentException">The value is NaN, infinite or negative.</exception>
    void Update(double value);

    /// <summary>Re-estimates parameters on the retained history (the retraining schedule calls this).</summary>
    void Refit();

    /// <summary>Forecasts <paramref name="horizon"/> steps ahead (1 = the next sample).</summary>
    /// <exception cref="InvalidOperationException">No sample has been observed yet.</exception>
    Forecast Forecast(int horizon, double confidence = 0.95);
}
