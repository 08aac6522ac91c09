namespace VmEcosystem.Forecasting.Global;

/// <summary>
/// Many series on one time axis (all ending at the same instant; shorter ones start later), each with an optional
/// group (an application or tenant whose VMs move together). Precomputes every series' normalised deviation at
/// every step and the host-set and group means of those deviations — the cross-section the global model uses.
/// </summary>
internal sealed class SeriesPanel
{
    private readonly double[][] _series;
    private readonly int[] _offset;
    private readonly int[] _group;
    private readonly double[] _hostSet;   // [t]: mean deviation of y[t-1] over series with enough history
    private readonly double[][] _groups;  // [g][t]
    private readonly int _length;

    /// <summary>Creates a panel.</summary>
    /// <param name="series">Series, oldest first, all ending at the same step (shorter ones started later).</param>
    /// <param name="groups">Group per series (null: every series is its own group).</param>
    public SeriesPanel(IReadOnlyList<double[]> series, IReadOnlyList<int>? groups = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0)
        {
            throw new ArgumentException("A panel needs at least one series.", nameof(series));
        }

        if (groups is not null && groups.Count != series.Count)
        {
            throw new ArgumentException("One group per series is needed.", nameof(groups));
        }

        _series = [.. series];
        _length = _series.Max(s => s.Length);
        _offset = [.. _series.Select(s => _length - s.Length)];
        _group = groups is null ? [.. Enumerable.Range(0, _series.Length)] : [.. groups];
        int groupCount = _group.Length == 0 ? 0 : _group.Max() + 1;
        var deviation = new double[_series.Length][];
        var scratch = new double[GlobalFeatures.Lookback];
        for (int s = 0; s < _series.Length; s++)
        {
            var y = _series[s];
            deviation[s] = new double[_length + 1];
            for (int t = GlobalFeatures.MinimumHistory; t <= y.Length; t++)
            {
                deviation[s][_offset[s] + t] = GlobalFeatures.Deviation(y.AsSpan(Math.Max(0, t - GlobalFeatures.Lookback), Math.Min(t, GlobalFeatures.Lookback)), scratch);
            }
        }

        _hostSet = new double[_length + 1];
        _groups = new double[groupCount][];
        var groupCounts = new int[groupCount][];
        for (int g = 0; g < groupCount; g++)
        {
            _groups[g] = new double[_length + 1];
            groupCounts[g] = new int[_length + 1];
        }

        for (int t = 0; t <= _length; t++)
        {
            double sum = 0;
            int count = 0;
            for (int s = 0; s < _series.Length; s++)
            {
                int local = t - _offset[s];
                if (local < GlobalFeatures.MinimumHistory)
                {
                    continue;
                }

                double d = deviation[s][t];
                sum += d;
                count++;
                _groups[_group[s]][t] += d;
                groupCounts[_group[s]][t]++;
            }

            _hostSet[t] = count > 0 ? sum / count : 0;
            for (int g = 0; g < groupCount; g++)
            {
                if (groupCounts[g][t] > 0)
                {
                    _groups[g][t] /= groupCounts[g][t];
                }
            }
        }
    }

    /// <summary>Number of series.</summary>
    public int Count => _series.Length;

    /// <summary>Length of the time axis.</summary>
    public int Length => _length;

    /// <summary>Series <paramref name="s"/>'s samples before panel time <paramref name="t"/> (oldest first).</summary>
    public ReadOnlySpan<double> HistoryBefore(int s, int t)
    {
        int local = Math.Clamp(t - _offset[s], 0, _series[s].Length);
        return _series[s].AsSpan(0, local);
    }

    /// <summary>The value of series <paramref name="s"/> at panel time <paramref name="t"/>, or NaN before it started.</summary>
    public double ValueAt(int s, int t)
    {
        int local = t - _offset[s];
        return local >= 0 && local < _series[s].Length ? _series[s][local] : double.NaN;
    }

    /// <summary>The cross-section seen by series <paramref name="s"/> at origin <paramref name="t"/>.</summary>
    public CrossSection ContextAt(int s, int t)
    {
        double h1 = t >= 0 && t <= _length ? _hostSet[t] : 0;
        double h2 = t - 1 >= 0 && t - 1 <= _length ? _hostSet[t - 1] : 0;
        var g = _groups[_group[s]];
        double g1 = t >= 0 && t <= _length ? g[t] : 0;
        double g2 = t - 1 >= 0 && t - 1 <= _length ? g[t - 1] : 0;
        return new CrossSection(h1, h2, g1, g2);
    }
}
