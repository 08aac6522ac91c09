namespace VmEcosystem.Forecasting;

/// <summary>Trend component of an exponential smoothing model.</summary>
public enum SmoothingTrend
{
    /// <summary>Level only (simple exponential smoothing).</summary>
    None = 0,

    /// <summary>Holt's linear trend.</summary>
    Linear = 1,

    /// <summary>Damped trend.</summary>
    Damped = 2,
}

/// <summary>
/// Exponential smoothing in error-correction form — simple (ETS A,N,N), Holt (A,A,N), damped Holt (A,Ad,N) and
/// additive seasonal (A,Ad,A) — with parameters fitted by minimising one-step squared error over the retained
/// history and analytic prediction intervals. The seasonal variant switches on by itself once the history holds
/// two full periods of the longest configured period that fits (for example daily = 288 five-minute samples,
/// weekly = 2016); until then it behaves as damped Holt. Updates are O(1).
/// </summary>
public sealed class ExponentialSmoothingForecaster : ForecasterBase
{
    private static readonly double[] AlphaGrid = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99];
    private readonly SmoothingTrend _trend;
    private readonly int[] _periods;
    private double _alpha = 0.3;
    private double _beta;
    private double _gamma;
    private double _phi = 1;
    private double _sigma;
    private double _level;
    private double _slope;
    private double[] _season = [];
    private int _period;
    private long _index;
    private bool _started;
    private double _initialLevel;
    private double _initialSlope;
    private double[] _initialSeason = [];

    /// <summary>Creates a model.</summary>
    /// <param name="name">Method name.</param>
    /// <param name="trend">Trend component.</param>
    /// <param name="seasonPeriods">Candidate seasonal periods in samples (empty: never seasonal).</param>
    /// <param name="options">Shared options.</param>
    public ExponentialSmoothingForecaster(string name, SmoothingTrend trend, IReadOnlyList<int>? seasonPeriods = null, ForecasterOptions? options = null)
        : base(name, options)
    {
        _trend = trend;
        _periods = [.. (seasonPeriods ?? []).Where(p => p >= 2).Distinct().OrderDescending()];
        _phi = trend == SmoothingTrend.Damped ? 0.98 : 1;
        _beta = trend == SmoothingTrend.None ? 0 : 0.03;
    }

    /// <summary>Simple exponential smoothing.</summary>
    public static ExponentialSmoothingForecaster Simple(ForecasterOptions? options = null) => new("ses", SmoothingTrend.None, null, options);

    /// <summary>Holt's linear trend.</summary>
    public static ExponentialSmoothingForecaster Holt(ForecasterOptions? options = null) => new("holt", SmoothingTrend.Linear, null, options);

    /// <summary>Damped Holt.</summary>
    public static ExponentialSmoothingForecaster HoltDamped(ForecasterOptions? options = null) => new("holt_damped", SmoothingTrend.Damped, null, options);

    /// <summary>Damped Holt with additive seasons (daily and weekly at 5-minute samples by default).</summary>
    public static ExponentialSmoothingForecaster Seasonal(IReadOnlyList<int>? periods = null, ForecasterOptions? options = null) =>
        new("seasonal", SmoothingTrend.Damped, periods ?? [288, 2016], options);

    /// <summary>The seasonal period in use (0 while not enough history exists).</summary>
    public int ActivePeriod => _period;

    /// <summary>Fitted smoothing parameters (α, β, γ, φ).</summary>
    public (double Alpha, double Beta, double Gamma, double Phi) Parameters => (_alpha, _beta, _gamma, _phi);

    /// <inheritdoc />
    protected override void Reset()
    {
        _started = false;
        _index = 0;
        if (_season.Length != _period)
        {
            _season = new double[_period];
        }
    }

    /// <inheritdoc />
    protected override void Absorb(double value)
    {
        if (!_started)
        {
            _started = true;
            if (_initialSeason.Length == _period && _period > 0)
            {
                _level = _initialLevel;
                _slope = _initialSlope;
                _initialSeason.CopyTo(_season, 0);
            }
            else
            {
                _level = value;
                _slope = 0;
                _index = 1;
                return;
            }
        }

        Step(value, ref _level, ref _slope, _season, _index, _alpha, _beta, _gamma, _phi);
        _index++;
    }

    /// <inheritdoc />
    protected override void Estimate()
    {
        int n = History.Count;
        var data = new double[n];
        History.CopyLast(n, data);
        _period = _periods.FirstOrDefault(p => n >= 2 * p);
        _season = new double[_period];
        Initialise(data, _period, out _initialLevel, out _initialSlope, out _initialSeason);
        if (n < 3)
        {
            _sigma = 0;
            return;
        }

        double[] betas = _trend == SmoothingTrend.None ? [0] : [0.0, 0.01, 0.03, 0.1];
        double[] phis = _trend == SmoothingTrend.Damped ? [0.8, 0.9, 0.95, 0.98] : [1];
        double[] gammas = _period > 0 ? [0.01, 0.05, 0.15] : [0];
        double best = double.MaxValue;
        foreach (double a in AlphaGrid)
        {
            foreach (double bFraction in betas)
            {
                foreach (double p in phis)
                {
                    foreach (double g in gammas)
                    {
                        double sse = Sse(data, a, bFraction * a, g * (1 - a), p);
                        if (sse < best)
                        {
                            best = sse;
                            (_alpha, _beta, _gamma, _phi) = (a, bFraction * a, g * (1 - a), p);
                        }
                    }
                }
            }
        }

        // Refine α by golden-section search around the grid optimum.
        double lo = Math.Max(0.001, _alpha - 0.1), hi = Math.Min(0.999, _alpha + 0.1);
        const double ratio = 0.6180339887498949;
        for (int i = 0; i < 20; i++)
        {
            double x1 = hi - (ratio * (hi - lo)), x2 = lo + (ratio * (hi - lo));
            if (Sse(data, x1, _beta, _gamma, _phi) < Sse(data, x2, _beta, _gamma, _phi))
            {
                hi = x2;
            }
            else
            {
                lo = x1;
            }
        }

        _alpha = (lo + hi) / 2;
        int start = _period > 0 ? 0 : 1;
        _sigma = Math.Sqrt(Sse(data, _alpha, _beta, _gamma, _phi) / Math.Max(1, n - start - 1));
    }

    /// <inheritdoc />
    protected override (double Point, double Sigma) PointAndSigma(int horizon)
    {
        double damp = 0, phiPower = 1;
        double variance = 1;
        for (int j = 1; j <= horizon; j++)
        {
            phiPower *= _phi;
            damp += phiPower;
            if (j < horizon)
            {
                double c = _alpha + (_beta * damp) + (_period > 0 && j % _period == 0 ? _gamma : 0);
                variance += c * c;
            }
        }

        double seasonal = _period > 0 && _season.Length == _period ? _season[(int)((_index + horizon - 1) % _period)] : 0;
        return (_level + (_slope * damp) + seasonal, _sigma * Math.Sqrt(variance));
    }

    private double Sse(double[] data, double alpha, double beta, double gamma, double phi)
    {
        double level, slope;
        double[] season = _period > 0 ? (double[])_initialSeason.Clone() : [];
        int start;
        if (_period > 0)
        {
            level = _initialLevel;
            slope = _initialSlope;
            start = 0;
        }
        else
        {
            level = data[0];
            slope = 0;
            start = 1;
        }

        double sse = 0;
        for (int i = start; i < data.Length; i++)
        {
            sse += Step(data[i], ref level, ref slope, season, i, alpha, beta, gamma, phi);
        }

        return sse;
    }

    // One error-correction step; returns the squared one-step error.
    private static double Step(double y, ref double level, ref double slope, double[] season, long index, double alpha, double beta, double gamma, double phi)
    {
        int m = season.Length;
        int s = m > 0 ? (int)(index % m) : 0;
        double seasonal = m > 0 ? season[s] : 0;
        double e = y - (level + (phi * slope) + seasonal);
        level += (phi * slope) + (alpha * e);
        slope = (phi * slope) + (beta * e);
        if (m > 0)
        {
            season[s] += gamma * e;
        }

        return e * e;
    }

    private static void Initialise(double[] data, int period, out double level, out double slope, out double[] season)
    {
        season = new double[period];
        if (period == 0 || data.Length < 2 * period)
        {
            level = data.Length > 0 ? data[0] : 0;
            slope = 0;
            return;
        }

        double first = 0, second = 0;
        for (int i = 0; i < period; i++)
        {
            first += data[i];
            second += data[period + i];
        }

        first /= period;
        second /= period;
        level = first;
        slope = (second - first) / period;
        for (int i = 0; i < period; i++)
        {
            season[i] = data[i] - first;
        }
    }
}
