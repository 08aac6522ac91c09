namespace VmEcosystem.Forecasting.Global;

/// <summary>
/// One series' view of a shared <see cref="GlobalForecastModel"/>: keeps the series' own history and asks the
/// model, with the cross-section supplied by <c>context</c>. Until the model is trained or the series has
/// <see cref="GlobalFeatures.MinimumHistory"/> samples it forecasts the median of what it has.
/// </summary>
public sealed class GlobalForecaster : ForecasterBase
{
    private readonly GlobalForecastModel _model;
    private readonly Func<CrossSection> _context;
    private readonly double[] _window = new double[GlobalFeatures.Lookback];
    private readonly double[] _scratch = new double[GlobalFeatures.Lookback];

    /// <summary>Creates the forecaster.</summary>
    /// <param name="model">The shared model.</param>
    /// <param name="context">Supplies the cross-section at the current origin.</param>
    /// <param name="options">Shared options (history capacity at least 192 is recommended).</param>
    internal GlobalForecaster(GlobalForecastModel model, Func<CrossSection> context, ForecasterOptions? options = null)
        : base("global", options)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _context = context ?? throw new ArgumentNullException(nameof(context));
    }

    /// <inheritdoc />
    protected override bool HasParameters => false;



    /// <inheritdoc />
    protected override bool TryForecastDirectly(int horizon, double confidence, out Forecast forecast)
    {
        if (!_model.IsTrained || History.Count < GlobalFeatures.MinimumHistory)
        {
            forecast = default;
            return false;
        }

        int n = History.CopyLast(GlobalFeatures.Lookback, _window);
        forecast = _model.Forecast(_window.AsSpan(0, n), _context(), horizon, confidence);
        return true;
    }

    /// <inheritdoc />
    protected override (double Point, double Sigma) PointAndSigma(int horizon)
    {
        if (_model.IsTrained && History.Count >= GlobalFeatures.MinimumHistory)
        {
            int count = History.CopyLast(GlobalFeatures.Lookback, _window);
            return (_model.Forecast(_window.AsSpan(0, count), _context(), horizon).Point, 0);
        }

        int n = Math.Min(24, History.Count);
        Span<double> recent = stackalloc double[n];
        History.CopyLast(n, recent);
        double median = RobustStatistics.Median(recent, _scratch);
        return (median, RobustStatistics.StandardDeviation(recent));
    }
}
