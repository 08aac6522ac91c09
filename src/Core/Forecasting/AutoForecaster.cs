namespace VmEcosystem.Forecasting;

/// <summary>
/// Picks, per series, the candidate with the lowest recent error: every candidate forecasts at every step, their
/// absolute errors at the tracked horizons are kept as exponentially decayed sums (a rolling backtest), and the
/// forecast comes from the best one. The first candidate is the primary; another replaces it only when its error
/// is lower by <see cref="SwitchMargin"/>, which keeps the choice from flapping on noise.
/// </summary>
public sealed class AutoForecaster : IForecaster, IRetainedHistory
{
    private readonly IForecaster[] _candidates;
    private readonly int[] _horizons;
    private readonly int _maxHorizon;
    private readonly double[,,] _pending; // [candidate, horizon slot, step % maxH]
    private readonly double[,] _error;    // [candidate, horizon slot] decayed absolute error
    private readonly double _decay;
    private long _steps;

    /// <summary>Creates the selector.</summary>
    /// <param name="candidates">Candidates, primary first.</param>
    /// <param name="horizons">Horizons tracked by the backtest.</param>
    /// <param name="decay">Weight kept by past errors at each step (0.98: a memory of about 50 samples).</param>
    /// <param name="switchMargin">Relative advantage another candidate needs over the primary.</param>
    public AutoForecaster(IReadOnlyList<IForecaster> candidates, IReadOnlyList<int>? horizons = null, double decay = 0.98, double switchMargin = 0.15)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0)
        {
            throw new ArgumentException("At least one candidate is needed.", nameof(candidates));
        }

        if (!(decay > 0 && decay < 1) || !(switchMargin >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(decay), "decay must be within (0, 1) and switchMargin non-negative.");
        }

        _candidates = [.. candidates];
        _horizons = [.. (horizons ?? [1]).Distinct().Order()];
        _maxHorizon = _horizons[^1];
        _pending = new double[_candidates.Length, _horizons.Length, _maxHorizon];
        _error = new double[_candidates.Length, _horizons.Length];
        _decay = decay;
        SwitchMargin = switchMargin;
    }

    /// <inheritdoc />
    public string Name => "auto";

    /// <summary>Relative advantage another candidate needs over the primary.</summary>
    public double SwitchMargin { get; }

    /// <inheritdoc />
    public long Observations => _candidates[0].Observations;

    int IRetainedHistory.RetainedCount => (_candidates[0] as IRetainedHistory)?.RetainedCount ?? 0;

    int IRetainedHistory.CopyHistory(Span<double> destination) => (_candidates[0] as IRetainedHistory)?.CopyHistory(destination) ?? 0;

    /// <summary>The candidate currently chosen for <paramref name="horizon"/>.</summary>
    public string ChosenFor(int horizon) => _candidates[Choose(Slot(horizon))].Name;

    /// <inheritdoc />
    public void Fit(ReadOnlySpan<double> history)
    {
        foreach (var c in _candidates)
        {
            c.Fit(history);
        }

        Array.Clear(_error);
        _steps = 0;
        Remember();
    }

    /// <inheritdoc />
    public void Update(double value)
    {
        for (int k = 0; k < _horizons.Length; k++)
        {
            int h = _horizons[k];
            if (_steps + 1 < h)
            {
                continue;
            }

            long made = _steps + 1 - h;
            for (int c = 0; c < _candidates.Length; c++)
            {
                double e = Math.Abs(value - _pending[c, k, made % _maxHorizon]);
                _error[c, k] = (_decay * _error[c, k]) + e;
            }
        }

        foreach (var c in _candidates)
        {
            c.Update(value);
        }

        _steps++;
        Remember();
    }

    /// <inheritdoc />
    public void Refit()
    {
        foreach (var c in _candidates)
        {
            c.Refit();
        }
    }

    /// <inheritdoc />
    public Forecast Forecast(int horizon, double confidence = 0.95) =>
        _candidates[Choose(Slot(horizon))].Forecast(horizon, confidence);

    private void Remember()
    {
        for (int c = 0; c < _candidates.Length; c++)
        {
            for (int k = 0; k < _horizons.Length; k++)
            {
                _pending[c, k, _steps % _maxHorizon] = _candidates[c].Forecast(_horizons[k]).Point;
            }
        }
    }

    private int Slot(int horizon)
    {
        int best = 0;
        for (int k = 1; k < _horizons.Length; k++)
        {
            if (Math.Abs(_horizons[k] - horizon) < Math.Abs(_horizons[best] - horizon))
            {
                best = k;
            }
        }

        return best;
    }

    private int Choose(int slot)
    {
        if (_steps < 2L * _maxHorizon)
        {
            return 0;
        }

        int best = 0;
        double primary = _error[0, slot];
        double bestError = primary;
        for (int c = 1; c < _candidates.Length; c++)
        {
            if (_error[c, slot] < bestError && _error[c, slot] < primary * (1 - SwitchMargin))
            {
                best = c;
                bestError = _error[c, slot];
            }
        }

        return best;
    }
}
