using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace VmEcosystem.Forecasting;

/// <summary>Settings of <see cref="SsaForecaster"/>.</summary>
public sealed record SsaOptions
{
    /// <summary>Window (embedding dimension) L.</summary>
    public int WindowSize { get; init; } = 24;

    /// <summary>Samples the decomposition is trained on (the most recent ones).</summary>
    public int TrainSize { get; init; } = 192;

    /// <summary>Fixed rank; when null the rank is the smallest that explains <see cref="ExplainedVariance"/>.</summary>
    public int? Rank { get; init; } = 5;

    /// <summary>Share of variance the chosen rank must explain (when <see cref="Rank"/> is null).</summary>
    public double ExplainedVariance { get; init; } = 0.9;
}

/// <summary>
/// Singular spectrum analysis with recurrent forecasting (the method of ML.NET's ForecastBySsa): the centred
/// series is embedded in a trajectory matrix of window L, its lag-covariance is eigendecomposed (MathNet), the
/// leading r eigenvectors span the signal subspace, and the linear recurrence derived from them forecasts from
/// the last lag vector projected onto that subspace. An update only shifts the window (O(1)); a one-step forecast
/// costs O(L·r). Intervals: analytic from the training residuals, or empirical with calibration enabled
/// (ML.NET's own interval formula is known to be mis-calibrated).
/// </summary>
public sealed class SsaForecaster : ForecasterBase
{
    private readonly SsaOptions _ssa;
    private readonly int _l;
    private double[] _basis = [];      // L × r, row-major
    private double[] _recurrence = []; // L - 1 coefficients, oldest first
    private int _rank;
    private double _mean;
    private double _sigma;
    private bool _fitted;
    private readonly double[] _lag;
    private readonly double[] _state;

    /// <summary>Creates the forecaster.</summary>
    public SsaForecaster(SsaOptions? ssa = null, ForecasterOptions? options = null)
        : base("ssa", options)
    {
        _ssa = ssa ?? new SsaOptions();
        if (_ssa.WindowSize < 2 || _ssa.TrainSize < _ssa.WindowSize + 1)
        {
            throw new ArgumentException("SsaOptions needs WindowSize >= 2 and TrainSize > WindowSize.", nameof(ssa));
        }

        if (_ssa.Rank is { } r && (r < 1 || r >= _ssa.WindowSize))
        {
            throw new ArgumentException("SsaOptions.Rank must be within 1..WindowSize-1.", nameof(ssa));
        }

        if (!(_ssa.ExplainedVariance > 0 && _ssa.ExplainedVariance <= 1))
        {
            throw new ArgumentException("SsaOptions.ExplainedVariance must be within (0, 1].", nameof(ssa));
        }

        _l = _ssa.WindowSize;
        _lag = new double[_l];
        _state = new double[_l + 64];
    }

    /// <summary>Subtract the training mean before decomposing (ML.NET does not).</summary>
    public bool Centre { get; init; } = true;

    /// <summary>The rank in use (0 before a fit).</summary>
    public int Rank => _rank;



    /// <inheritdoc />
    protected override void Estimate()
    {
        int n = Math.Min(History.Count, _ssa.TrainSize);
        _fitted = false;
        if (n < _l + 2)
        {
            return; // too little history: forecasts fall back to the recent mean
        }

        var data = new double[n];
        History.CopyLast(n, data);
        _mean = Centre ? data.Average() : 0;
        int k = n - _l + 1;
        var cov = Matrix<double>.Build.Dense(_l, _l);
        for (int a = 0; a < _l; a++)
        {
            for (int b = a; b < _l; b++)
            {
                double s = 0;
                for (int j = 0; j < k; j++)
                {
                    s += (data[j + a] - _mean) * (data[j + b] - _mean);
                }

                cov[a, b] = s / k;
                cov[b, a] = s / k;
            }
        }

        var evd = cov.Evd(Symmetricity.Symmetric);
        var values = evd.EigenValues.Select(c => Math.Max(0, c.Real)).ToArray(); // ascending
        var vectors = evd.EigenVectors;
        double total = values.Sum();
        if (!(total > 1e-12))
        {
            return; // constant series: the mean is the forecast
        }

        int rank = _ssa.Rank ?? 0;
        if (rank == 0)
        {
            double acc = 0;
            for (int i = _l - 1; i >= 0; i--)
            {
                acc += values[i];
                rank++;
                if (acc / total >= _ssa.ExplainedVariance)
                {
                    break;
                }
            }
        }

        rank = Math.Clamp(rank, 1, _l - 1);
        var basis = new double[_l * rank];
        double nu2 = 0;
        var pi = new double[rank];
        for (int c = 0; c < rank; c++)
        {
            int col = _l - 1 - c; // largest eigenvalues last
            for (int row = 0; row < _l; row++)
            {
                basis[(row * rank) + c] = vectors[row, col];
            }

            pi[c] = vectors[_l - 1, col];
            nu2 += pi[c] * pi[c];
        }

        if (nu2 >= 1 - 1e-9)
        {
            return; // the recurrence is undefined; keep the mean forecast
        }

        var recurrence = new double[_l - 1];
        for (int row = 0; row < _l - 1; row++)
        {
            double s = 0;
            for (int c = 0; c < rank; c++)
            {
                s += basis[(row * rank) + c] * pi[c];
            }

            recurrence[row] = s / (1 - nu2);
        }

        _basis = basis;
        _recurrence = Stabilize(recurrence);
        _rank = rank;
        _fitted = true;

        // One-step residual spread on the training data.
        double ss = 0;
        int count = 0;
        for (int t = _l; t < n; t++)
        {
            double predicted = OneStep(data.AsSpan(t - _l, _l));
            ss += (data[t] - predicted) * (data[t] - predicted);
            count++;
        }

        _sigma = count > 1 ? Math.Sqrt(ss / (count - 1)) : 0;
    }

    /// <inheritdoc />
    protected override (double Point, double Sigma) PointAndSigma(int horizon)
    {
        if (!_fitted || History.Count < _l)
        {
            return RecentMean(12);
        }

        History.CopyLast(_l, _lag);
        int length = _l + horizon;
        var state = length <= _state.Length ? _state.AsSpan(0, length) : new double[length];
        Project(_lag, state[.._l]);
        double value = 0;
        for (int step = 0; step < horizon; step++)
        {
            // The recurrence applies to the last L - 1 (denoised) values.
            double s = 0;
            var window = state.Slice(step + 1, _l - 1);
            for (int j = 0; j < _l - 1; j++)
            {
                s += _recurrence[j] * window[j];
            }

            state[step + _l] = s;
            value = s;
        }

        return (value + _mean, _sigma * Math.Sqrt(horizon));
    }

    private double OneStep(ReadOnlySpan<double> lastL)
    {
        Span<double> projected = stackalloc double[_l];
        Project(lastL, projected);
        double s = 0;
        for (int j = 0; j < _l - 1; j++)
        {
            s += _recurrence[j] * projected[j + 1];
        }

        return s + _mean;
    }

    /// <summary>
    /// Pulls the roots of the recurrence's characteristic polynomial inside the unit circle (as ML.NET's
    /// "stabilize" option does), so recurrent forecasts decay instead of exploding at long horizons.
    /// </summary>
    internal static double[] Stabilize(double[] oldestFirst, double maxModulus = 1.0)
    {
        int m = oldestFirst.Length;
        var companion = Matrix<double>.Build.Dense(m, m);
        for (int k = 0; k < m; k++)
        {
            companion[0, k] = oldestFirst[m - 1 - k]; // a_1 (newest lag) first
        }

        for (int i = 1; i < m; i++)
        {
            companion[i, i - 1] = 1;
        }

        var roots = companion.Evd().EigenValues.ToArray();
        bool changed = false;
        for (int i = 0; i < roots.Length; i++)
        {
            double r = roots[i].Magnitude;
            if (r > maxModulus)
            {
                roots[i] *= maxModulus / r;
                changed = true;
            }
        }

        if (!changed)
        {
            return oldestFirst;
        }

        // Rebuild z^m + c1 z^(m-1) + ... + cm = prod (z - root); the recurrence is a_k = -c_k.
        var c = new System.Numerics.Complex[m + 1];
        c[0] = 1;
        int degree = 0;
        foreach (var root in roots)
        {
            degree++;
            for (int k = degree; k >= 1; k--)
            {
                c[k] -= root * c[k - 1];
            }
        }

        var result = new double[m];
        for (int k = 1; k <= m; k++)
        {
            result[m - k] = -c[k].Real;
        }

        return result;
    }

    // Projects (x - mean) onto the signal subspace: U (Uᵀ (x - mean)).
    private void Project(ReadOnlySpan<double> x, Span<double> result)
    {
        Span<double> coeff = stackalloc double[_rank];
        for (int c = 0; c < _rank; c++)
        {
            double s = 0;
            for (int row = 0; row < _l; row++)
            {
                s += _basis[(row * _rank) + c] * (x[row] - _mean);
            }

            coeff[c] = s;
        }

        for (int row = 0; row < _l; row++)
        {
            double s = 0;
            for (int c = 0; c < _rank; c++)
            {
                s += _basis[(row * _rank) + c] * coeff[c];
            }

            result[row] = s;
        }
    }
}
