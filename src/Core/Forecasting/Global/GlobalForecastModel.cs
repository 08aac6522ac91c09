namespace VmEcosystem.Forecasting.Global;

/// <summary>Settings of <see cref="GlobalForecastModel"/>.</summary>
public sealed record GlobalModelOptions
{
    /// <summary>Horizons (in samples) with a model of their own; other horizons use the nearest.</summary>
    public IReadOnlyList<int> Horizons { get; init; } = [1, 3, 12];

    /// <summary>Boosting settings of the initial fit.</summary>
    public BoostedTreesOptions Trees { get; init; } = new();

    /// <summary>Trees added at each refresh.</summary>
    public int RefreshTrees { get; init; } = 20;

    /// <summary>Target positions (samples) a refresh learns from.</summary>
    public int RefreshWindow { get; init; } = 48;

    /// <summary>Most recent target positions held out of the initial fit to calibrate intervals.</summary>
    public int CalibrationWindow { get; init; } = 24;

    /// <summary>Earliest origin (samples of history) used for training rows.</summary>
    public int TrainingWarmup { get; init; } = 48;

    /// <summary>Scaled residuals kept per horizon for interval quantiles.</summary>
    public int ResidualPool { get; init; } = 20_000;

    /// <summary>Use every n-th origin of each series for training rows (neighbouring rows are highly correlated).</summary>
    public int TrainingStride { get; init; } = 1;

    /// <summary>
    /// A horizon's ensemble is refreshed only once at least this many times its horizon (in samples) has passed
    /// since it last learnt, so with hourly refreshes the 1 h model learns every other hour. Its refresh rows overlap
    /// heavily from one hour to the next and its errors stay correlated over a whole horizon, so refitting them
    /// hourly chases the same errors again (on 20110322, h = 12 MASE 0.7944 hourly, 0.7923 with this; h = 1 and 3
    /// unchanged). Zero refreshes every horizon at every call.
    /// </summary>
    public double RefreshSpacingPerHorizon { get; init; } = 2;
}

/// <summary>
/// One model for many VMs ("global" or pooled): gradient-boosted median regression on scale-free features of each
/// series' recent history and of what its host set and group were doing (<see cref="GlobalFeatures"/>), one
/// ensemble per horizon. It learns patterns no single short series shows (bursts that persist, idle periods,
/// shifts that move a whole application), and its point forecasts target the median, which minimises MAE.
/// Intervals are split-conformal: empirical quantiles of recent out-of-sample scaled residuals pooled over all
/// series. <see cref="Refresh"/> adds trees on the newest rows so the model follows the day.
/// </summary>
internal sealed class GlobalForecastModel
{
    private readonly GlobalModelOptions _options;
    private readonly int[] _horizons;
    private readonly BoostedTrees[] _models;
    private readonly List<float>[] _residuals;
    private readonly float[][] _sorted;
    private readonly int[] _learntUntil; // per horizon: the end of the data its ensemble last learnt from
    private readonly Lock _gate = new();

    /// <summary>Creates an untrained model.</summary>
    public GlobalForecastModel(GlobalModelOptions? options = null)
    {
        _options = options ?? new GlobalModelOptions();
        _horizons = [.. _options.Horizons.Distinct().Order()];
        if (_horizons.Length == 0 || _horizons[0] < 1)
        {
            throw new ArgumentException("GlobalModelOptions.Horizons needs at least one positive horizon.", nameof(options));
        }

        if (!(_options.RefreshSpacingPerHorizon >= 0) || double.IsInfinity(_options.RefreshSpacingPerHorizon))
        {
            throw new ArgumentException("GlobalModelOptions.RefreshSpacingPerHorizon must be a non-negative finite number.", nameof(options));
        }

        _models = [.. _horizons.Select(_ => new BoostedTrees(_options.Trees))];
        _learntUntil = new int[_horizons.Length];
        _residuals = [.. _horizons.Select(_ => new List<float>())];
        _sorted = [.. _horizons.Select(_ => Array.Empty<float>())];
    }

    /// <summary>True once <see cref="Train"/> ran on enough data.</summary>
    public bool IsTrained { get; private set; }

    /// <summary>The horizons with their own model.</summary>
    public IReadOnlyList<int> Horizons => _horizons;

    /// <summary>Trains on every row of <paramref name="panel"/> whose target lies before <paramref name="end"/>.</summary>
    public void Train(SeriesPanel panel, int end)
    {
        ArgumentNullException.ThrowIfNull(panel);
        int cut = end - _options.CalibrationWindow;
        var rows = RowSet.Build(panel, _options.TrainingWarmup, end, _options.TrainingStride);
        lock (_gate)
        {
            for (int k = 0; k < _horizons.Length; k++)
            {
                int h = _horizons[k];
                var (fx, fy) = rows.Select(panel, h, minTarget: 0, endTarget: cut);
                if (fy.Length < 2 * _options.Trees.MinLeaf)
                {
                    return; // not enough data yet; stays untrained
                }

                _models[k].Fit(fx, fy, GlobalFeatures.Count);
                _learntUntil[k] = end;
                _residuals[k].Clear();
                var (cx, cy) = rows.Select(panel, h, minTarget: cut, endTarget: end);
                if (cy.Length > 0)
                {
                    var predictions = PoolResiduals(k, cx, cy);
                    _models[k].FitMore(cx, cy, GlobalFeatures.Count, _options.RefreshTrees, predictions);
                }
            }

            IsTrained = true;
        }
    }

    /// <summary>
    /// Learns from the rows whose targets lie in the last <see cref="GlobalModelOptions.RefreshWindow"/> samples
    /// before <paramref name="end"/>: their residuals (out of sample until now) refresh the interval pool, then
    /// <see cref="GlobalModelOptions.RefreshTrees"/> trees are added.
    /// </summary>
    public void Refresh(SeriesPanel panel, int end)
    {
        ArgumentNullException.ThrowIfNull(panel);
        if (!IsTrained)
        {
            Train(panel, end);
            return;
        }

        int from = end - _options.RefreshWindow;
        var rows = RowSet.Build(panel, Math.Max(_options.TrainingWarmup, from - _horizons[^1] + 1), end, 1);
        lock (_gate)
        {
            for (int k = 0; k < _horizons.Length; k++)
            {
                if (end - _learntUntil[k] < _options.RefreshSpacingPerHorizon * _horizons[k])
                {
                    continue; // learnt too recently for its horizon; the next refresh's window still covers these rows
                }

                _learntUntil[k] = end;
                var (x, y) = rows.Select(panel, _horizons[k], minTarget: from, endTarget: end);
                if (y.Length == 0)
                {
                    continue;
                }

                var predictions = PoolResiduals(k, x, y);
                _models[k].FitMore(x, y, GlobalFeatures.Count, _options.RefreshTrees, predictions);
            }
        }
    }

    /// <summary>Forecasts a series from its history (oldest first, ending just before the origin) and its cross-section.</summary>
    /// <exception cref="InvalidOperationException">The model is not trained.</exception>
    public Forecast Forecast(ReadOnlySpan<double> history, in CrossSection context, int horizon, double confidence = 0.95)
    {
        if (!IsTrained)
        {
            throw new InvalidOperationException("The global model is not trained yet.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(horizon, 1);
        Span<float> features = stackalloc float[GlobalFeatures.Count];
        Span<double> scratch = stackalloc double[GlobalFeatures.Lookback];
        var window = history[Math.Max(0, history.Length - GlobalFeatures.Lookback)..];
        var (level, scale) = GlobalFeatures.Extract(window, context, features, scratch);
        int k = Nearest(horizon);
        double point;
        double lo, hi;
        lock (_gate)
        {
            point = level + (scale * _models[k].Predict(features));
            (lo, hi) = Bounds(k, confidence);
        }

        double stretch = Math.Sqrt((double)horizon / _horizons[k]);
        return new Forecast(point, point + (scale * lo * stretch), point + (scale * hi * stretch));
    }

    private int Nearest(int horizon)
    {
        int best = 0;
        for (int i = 1; i < _horizons.Length; i++)
        {
            if (Math.Abs(_horizons[i] - horizon) < Math.Abs(_horizons[best] - horizon))
            {
                best = i;
            }
        }

        return best;
    }

    private (double Lower, double Upper) Bounds(int k, double confidence)
    {
        var sorted = _sorted[k];
        if (sorted.Length < 20)
        {
            double z = NormalQuantile.TwoSided(confidence);
            return (-z * 1.25, z * 1.25); // scale is a mean absolute change; ~0.8 σ for Gaussian noise
        }

        double alpha = (1 - confidence) / 2;
        return (Quantile(sorted, alpha), Quantile(sorted, 1 - alpha));
    }

    private static double Quantile(float[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int i = (int)pos;
        double f = pos - i;
        return i + 1 < sorted.Length ? (sorted[i] * (1 - f)) + (sorted[i + 1] * f) : sorted[i];
    }

    // Adds the rows' out-of-sample residuals to the interval pool; returns the predictions for reuse.
    private double[] PoolResiduals(int k, float[] x, float[] y)
    {
        var pool = _residuals[k];
        var predictions = _models[k].PredictAll(x, GlobalFeatures.Count);
        for (int i = 0; i < y.Length; i++)
        {
            pool.Add((float)(y[i] - predictions[i]));
        }

        if (pool.Count > _options.ResidualPool)
        {
            pool.RemoveRange(0, pool.Count - _options.ResidualPool);
        }

        var sorted = pool.ToArray();
        Array.Sort(sorted);
        _sorted[k] = sorted;
        return predictions;
    }

    /// <summary>Features of every (series, origin) pair computed once, shared by every horizon's model.</summary>
    private sealed class RowSet
    {
        private readonly List<float> _features = [];
        private readonly List<(int Series, int Origin, double Level, double Scale)> _rows = [];

        public static RowSet Build(SeriesPanel panel, int fromOrigin, int endOrigin, int stride)
        {
            var set = new RowSet();
            Span<float> f = stackalloc float[GlobalFeatures.Count];
            Span<double> scratch = stackalloc double[GlobalFeatures.Lookback];
            for (int s = 0; s < panel.Count; s++)
            {
                for (int t = fromOrigin; t < endOrigin; t += stride)
                {
                    var history = panel.HistoryBefore(s, t);
                    if (history.Length < GlobalFeatures.MinimumHistory)
                    {
                        continue;
                    }

                    var window = history[Math.Max(0, history.Length - GlobalFeatures.Lookback)..];
                    var (level, scale) = GlobalFeatures.Extract(window, panel.ContextAt(s, t), f, scratch);
                    foreach (float v in f)
                    {
                        set._features.Add(v);
                    }

                    set._rows.Add((s, t, level, scale));
                }
            }

            return set;
        }

        // Rows whose target t + h - 1 lies in [minTarget, endTarget), with normalised targets.
        public (float[] X, float[] Y) Select(SeriesPanel panel, int h, int minTarget, int endTarget)
        {
            var x = new List<float>();
            var y = new List<float>();
            var all = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_features);
            for (int r = 0; r < _rows.Count; r++)
            {
                var (s, t, level, scale) = _rows[r];
                int target = t + h - 1;
                if (target < minTarget || target >= endTarget)
                {
                    continue;
                }

                double actual = panel.ValueAt(s, target);
                if (double.IsNaN(actual))
                {
                    continue;
                }

                x.AddRange(all.Slice(r * GlobalFeatures.Count, GlobalFeatures.Count));
                y.Add((float)((actual - level) / scale));
            }

            return (x.ToArray(), y.ToArray());
        }
    }
}
