using System.Diagnostics;
using VmEcosystem.Forecasting.Global;

namespace VmEcosystem.Forecasting;

/// <summary>Settings of the rolling-origin forecast benchmark.</summary>
public sealed record ForecastBenchmarkOptions
{
    /// <summary>Samples before the first origin (the training part; also the MASE scale's span).</summary>
    public int TrainLength { get; init; } = 192;

    /// <summary>Last origin.</summary>
    public int LastOrigin { get; init; } = 276;

    /// <summary>Horizons evaluated.</summary>
    public IReadOnlyList<int> Horizons { get; init; } = [1, 3, 12];

    /// <summary>Interval level.</summary>
    public double Confidence { get; init; } = 0.95;

    /// <summary>Origins between refits of the local models (0: fit once, then update incrementally).</summary>
    public int RefitEvery { get; init; } = 12;

    /// <summary>Origins between refreshes of the global model.</summary>
    public int GlobalRefreshEvery { get; init; } = 12;

    /// <summary>Global model settings.</summary>
    public GlobalModelOptions Global { get; init; } = new();
}

/// <summary>One method at one horizon, over all evaluated series and origins.</summary>
public sealed record ForecastMethodResult
{
    /// <summary>Method name.</summary>
    public required string Method { get; init; }

    /// <summary>Horizon in samples.</summary>
    public required int Horizon { get; init; }

    /// <summary>Series evaluated.</summary>
    public required int Series { get; init; }

    /// <summary>Mean absolute error.</summary>
    public required double Mae { get; init; }

    /// <summary>Root mean squared error.</summary>
    public required double Rmse { get; init; }

    /// <summary>Mean over series of MAE / (mean absolute one-step change of the training part); series with scale 0 left out.</summary>
    public required double Mase { get; init; }

    /// <summary>Median over series of the per-series MASE.</summary>
    public required double MaseMedian { get; init; }

    /// <summary>Share of actuals inside the interval.</summary>
    public required double Coverage95 { get; init; }

    /// <summary>Share of actuals above the upper bound (what causes contention).</summary>
    public required double AboveUpperRate { get; init; }

    /// <summary>Share of actuals below the lower bound.</summary>
    public required double BelowLowerRate { get; init; }

    /// <summary>Mean interval width as served (bounds clamped at 0).</summary>
    public required double MeanWidth95 { get; init; }

    /// <summary>Mean interval width before clamping at 0 (comparable with unclipped widths).</summary>
    public required double MeanWidth95Unclipped { get; init; }

    /// <summary>Origins (one update plus forecasts for every horizon) per second, per core.</summary>
    public required double ForecastsPerSecond { get; init; }
}

/// <summary>
/// The rolling-origin protocol: each series is trained on its first <c>TrainLength</c> samples; at every origin t
/// a method may use samples before t only and forecasts t + h − 1 for each horizon h; MAE, MASE, interval coverage
/// and width are accumulated per method and horizon. Pooled methods see every series of the panel (all VMs), but
/// only samples before the origin.
/// </summary>
public static class ForecastBenchmark
{
    /// <summary>Local method names (one model per series).</summary>
    public static IReadOnlyList<string> LocalMethods { get; } = ["naive", "ma12", "median24", "ses", "holt", "holt_damped", "seasonal", "ssa"];

    /// <summary>Every method name.</summary>
    public static IReadOnlyList<string> Methods { get; } = [.. LocalMethods, "global", "auto"];

    /// <summary>Runs the methods over the panel's <paramref name="evaluated"/> series.</summary>
    public static IReadOnlyList<ForecastMethodResult> Run(
        IReadOnlyList<double[]> series,
        IReadOnlyList<int> evaluated,
        IEnumerable<string> methods,
        IReadOnlyList<int>? groups = null,
        ForecastBenchmarkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(evaluated);
        ArgumentNullException.ThrowIfNull(methods);
        options ??= new ForecastBenchmarkOptions();
        int maxH = options.Horizons.Max();
        foreach (int s in evaluated)
        {
            if (series[s].Length < options.LastOrigin + maxH)
            {
                throw new ArgumentException($"Series {s} has {series[s].Length} samples; the protocol needs {options.LastOrigin + maxH}.");
            }
        }

        var results = new List<ForecastMethodResult>();
        var chosen = methods.ToList();
        var pooled = chosen.Where(m => m is "global" or "auto").ToList();
        foreach (string method in chosen)
        {
            if (pooled.Contains(method))
            {
                if (method == pooled[0])
                {
                    // The pooled methods share one global model and one pass (auto wraps the global forecaster).
                    var accumulators = pooled.ToDictionary(m => m, _ => new Accumulator(options, evaluated, series));
                    var watch = Stopwatch.StartNew();
                    RunPooled(new SeriesPanel(series, groups), series, evaluated, options, accumulators);
                    double seconds = watch.Elapsed.TotalSeconds;
                    foreach (string m in pooled)
                    {
                        results.AddRange(accumulators[m].Results(m, seconds));
                    }
                }

                continue;
            }

            var acc = new Accumulator(options, evaluated, series);
            var localWatch = Stopwatch.StartNew();
            RunLocal(method, series, evaluated, options, acc);
            results.AddRange(acc.Results(method, localWatch.Elapsed.TotalSeconds));
        }

        return results;
    }

    /// <summary>Creates a local forecaster by method name.</summary>
    public static IForecaster CreateLocal(string method, ForecasterOptions? options = null) => method switch
    {
        "naive" => new NaiveForecaster(options),
        "ma12" => new MovingAverageForecaster(12, options),
        "median24" => new MovingMedianForecaster(24, options),
        "ses" => ExponentialSmoothingForecaster.Simple(options),
        "holt" => ExponentialSmoothingForecaster.Holt(options),
        "holt_damped" => ExponentialSmoothingForecaster.HoltDamped(options),
        "seasonal" => ExponentialSmoothingForecaster.Seasonal(null, options),
        "ssa" => new SsaForecaster(null, options),
        _ => throw new ArgumentException($"Unknown forecasting method '{method}'. Known: {string.Join(", ", Methods)}.", nameof(method)),
    };

    private static void RunLocal(string method, IReadOnlyList<double[]> series, IReadOnlyList<int> evaluated, ForecastBenchmarkOptions o, Accumulator acc)
    {
        var fo = new ForecasterOptions { CalibratedHorizons = o.Horizons, NonNegative = false };
        for (int e = 0; e < evaluated.Count; e++)
        {
            var y = series[evaluated[e]];
            var f = CreateLocal(method, fo);
            f.Fit(y.AsSpan(0, o.TrainLength));
            for (int t = o.TrainLength; t <= o.LastOrigin; t++)
            {
                if (t > o.TrainLength && o.RefitEvery > 0 && (t - o.TrainLength) % o.RefitEvery == 0)
                {
                    f.Refit();
                }

                foreach (int h in o.Horizons)
                {
                    acc.Add(e, h, f.Forecast(h, o.Confidence), y[t + h - 1]);
                }

                f.Update(y[t]);
            }
        }
    }

    private static void RunPooled(SeriesPanel panel, IReadOnlyList<double[]> series, IReadOnlyList<int> evaluated, ForecastBenchmarkOptions o,
        Dictionary<string, Accumulator> accumulators)
    {
        var model = new GlobalForecastModel(o.Global);
        model.Train(panel, o.TrainLength);
        int origin = o.TrainLength;
        var fo = new ForecasterOptions { CalibratedHorizons = o.Horizons, NonNegative = false };
        var forecasters = new Dictionary<string, IForecaster[]>();
        foreach (string method in accumulators.Keys)
        {
            var list = new IForecaster[evaluated.Count];
            for (int e = 0; e < evaluated.Count; e++)
            {
                int s = evaluated[e];
                var global = new GlobalForecaster(model, () => panel.ContextAt(s, origin), fo);
                list[e] = method == "global"
                    ? global
                    : new AutoForecaster([global, CreateLocal("median24", fo), CreateLocal("ses", fo)], o.Horizons);
                list[e].Fit(series[s].AsSpan(0, o.TrainLength));
            }

            forecasters[method] = list;
        }

        for (int t = o.TrainLength; t <= o.LastOrigin; t++)
        {
            origin = t;
            bool refresh = t > o.TrainLength && o.GlobalRefreshEvery > 0 && (t - o.TrainLength) % o.GlobalRefreshEvery == 0;
            if (refresh)
            {
                model.Refresh(panel, t);
            }

            foreach (var (method, list) in forecasters)
            {
                var acc = accumulators[method];
                for (int e = 0; e < evaluated.Count; e++)
                {
                    var y = series[evaluated[e]];
                    if (refresh && o.RefitEvery > 0)
                    {
                        list[e].Refit();
                    }

                    foreach (int h in o.Horizons)
                    {
                        acc.Add(e, h, list[e].Forecast(h, o.Confidence), y[t + h - 1]);
                    }

                    list[e].Update(y[t]);
                }
            }
        }
    }

    private sealed class Accumulator
    {
        private readonly ForecastBenchmarkOptions _o;
        private readonly Dictionary<int, double[]> _absError = [];
        private readonly Dictionary<int, double> _sqError = [];
        private readonly Dictionary<int, long> _count = [];
        private readonly Dictionary<int, long> _inside = [];
        private readonly Dictionary<int, long> _above = [];
        private readonly Dictionary<int, long> _below = [];
        private readonly Dictionary<int, double> _width = [];
        private readonly Dictionary<int, double> _widthRaw = [];
        private readonly double[] _scale;
        private readonly int[] _perSeries;
        private readonly int _origins;

        public Accumulator(ForecastBenchmarkOptions o, IReadOnlyList<int> evaluated, IReadOnlyList<double[]> series)
        {
            _o = o;
            _scale = [.. evaluated.Select(s => RobustStatistics.MeanAbsoluteChange(series[s].AsSpan(0, o.TrainLength)))];
            _perSeries = new int[evaluated.Count];
            _origins = o.LastOrigin - o.TrainLength + 1;
            foreach (int h in o.Horizons)
            {
                _absError[h] = new double[evaluated.Count];
                _sqError[h] = 0;
                _count[h] = 0;
                _inside[h] = 0;
                _above[h] = 0;
                _below[h] = 0;
                _width[h] = 0;
                _widthRaw[h] = 0;
            }
        }

        public void Add(int e, int h, Forecast f, double actual)
        {
            var raw = f;
            f = f.NonNegative(); // what the library serves; coverage is unaffected (actuals are non-negative)
            double err = f.Point - actual;
            _absError[h][e] += Math.Abs(err);
            _sqError[h] += err * err;
            _count[h]++;
            if (actual > f.Upper)
            {
                _above[h]++;
            }
            else if (actual < f.Lower)
            {
                _below[h]++;
            }
            else
            {
                _inside[h]++;
            }

            _width[h] += f.Width;
            _widthRaw[h] += raw.Width;
        }

        public IEnumerable<ForecastMethodResult> Results(string method, double seconds)
        {
            int n = _scale.Length;
            foreach (int h in _o.Horizons)
            {
                var mase = new List<double>();
                double total = 0;
                for (int e = 0; e < n; e++)
                {
                    total += _absError[h][e];
                    if (_scale[e] > 0)
                    {
                        mase.Add(_absError[h][e] / _origins / _scale[e]);
                    }
                }

                mase.Sort();
                long c = _count[h];
                yield return new ForecastMethodResult
                {
                    Method = method,
                    Horizon = h,
                    Series = n,
                    Mae = total / c,
                    Rmse = Math.Sqrt(_sqError[h] / c),
                    Mase = mase.Count > 0 ? mase.Average() : double.NaN,
                    MaseMedian = mase.Count > 0 ? (mase.Count % 2 == 1 ? mase[mase.Count / 2] : (mase[(mase.Count / 2) - 1] + mase[mase.Count / 2]) / 2) : double.NaN,
                    Coverage95 = (double)_inside[h] / c,
                    AboveUpperRate = (double)_above[h] / c,
                    BelowLowerRate = (double)_below[h] / c,
                    MeanWidth95 = _width[h] / c,
                    MeanWidth95Unclipped = _widthRaw[h] / c,
                    ForecastsPerSecond = n * _origins / Math.Max(seconds, 1e-9),
                };
            }
        }
    }
}
