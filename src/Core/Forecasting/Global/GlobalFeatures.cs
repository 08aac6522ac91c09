namespace VmEcosystem.Forecasting.Global;

/// <summary>What the other VMs were doing: mean normalised deviation of the host set and of the VM's group at the last two steps.</summary>
/// <param name="HostSet1">Host-set mean deviation of the newest sample.</param>
/// <param name="HostSet2">Host-set mean deviation one step earlier.</param>
/// <param name="Group1">Group mean deviation of the newest sample.</param>
/// <param name="Group2">Group mean deviation one step earlier.</param>
internal readonly record struct CrossSection(double HostSet1, double HostSet2, double Group1, double Group2);

/// <summary>
/// The features of the global model: a series' recent history expressed relative to its robust level (median of
/// the last 24 samples) in units of its scale (mean absolute one-step change over the last 192), so that one model
/// fits VMs of every size; plus the cross-section. Every feature uses only samples before the forecast origin.
/// </summary>
internal static class GlobalFeatures
{
    /// <summary>Number of features.</summary>
    public const int Count = 28;

    /// <summary>History the features look at (the longest window).</summary>
    public const int Lookback = 192;

    /// <summary>Fewest samples a series needs before the global model forecasts it.</summary>
    public const int MinimumHistory = 24;

    /// <summary>The robust level and scale of a history (oldest first, ending just before the origin).</summary>
    public static (double Level, double Scale) LevelAndScale(ReadOnlySpan<double> history, Span<double> scratch)
    {
        int n = history.Length;
        double level = RobustStatistics.Median(history[Math.Max(0, n - 24)..], scratch);
        double scale = RobustStatistics.MeanAbsoluteChange(history[Math.Max(0, n - Lookback)..]);
        // A floor keeps constant series finite; relative to the level so it is unit-free.
        return (level, Math.Max(scale, 1e-6 + (0.01 * Math.Abs(level))));
    }

    /// <summary>Normalised deviation of the newest sample (the series' contribution to a cross-section).</summary>
    public static double Deviation(ReadOnlySpan<double> history, Span<double> scratch)
    {
        var (level, scale) = LevelAndScale(history, scratch);
        return (history[^1] - level) / scale;
    }

    /// <summary>Writes the features of <paramref name="history"/> into <paramref name="features"/>; returns level and scale.</summary>
    public static (double Level, double Scale) Extract(ReadOnlySpan<double> history, in CrossSection context, Span<float> features, Span<double> scratch)
    {
        int n = history.Length;
        if (n < MinimumHistory)
        {
            throw new ArgumentException($"The global model needs at least {MinimumHistory} samples; got {n}.", nameof(history));
        }

        var (level, scale) = LevelAndScale(history, scratch);
        double inv = 1 / scale;
        float D(double v) => (float)((v - level) * inv);
        int k = 0;
        features[k++] = D(history[n - 1]);
        features[k++] = D(history[n - 2]);
        features[k++] = D(history[n - 3]);
        features[k++] = D((history[n - 1] + history[n - 2] + history[n - 3]) / 3);
        features[k++] = D(Median(history, 6, scratch));
        features[k++] = D(Median(history, 12, scratch));
        features[k++] = D(Mean(history, 12));
        features[k++] = D(Median(history, 48, scratch));
        features[k++] = D(Median(history, 96, scratch));
        features[k++] = D(Median(history, 192, scratch));
        features[k++] = D(Quantile(history, 24, 0.25, scratch));
        features[k++] = D(Quantile(history, 24, 0.75, scratch));
        features[k++] = D(Quantile(history, 12, 0.1, scratch));
        features[k++] = D(Quantile(history, 12, 0.9, scratch));
        features[k++] = D(Quantile(history, 48, 0.3, scratch));
        features[k++] = D(Quantile(history, 48, 0.4, scratch));
        features[k++] = D(Quantile(history, 48, 0.6, scratch));
        features[k++] = D(Quantile(history, 48, 0.7, scratch));
        features[k++] = D(Smooth(history, 0.3));
        features[k++] = D(Smooth(history, 0.1));
        double hi = 0, lo = 0, zero = 0;
        for (int i = 1; i <= 6 && i <= n; i++)
        {
            double d = (history[n - i] - level) * inv;
            hi += d > 1 ? 1 : 0;
            lo += d < -1 ? 1 : 0;
            zero += history[n - i] == 0 ? 1 : 0;
        }

        features[k++] = (float)(hi / 6);
        features[k++] = (float)(lo / 6);
        features[k++] = (float)(zero / 6);
        features[k++] = (float)Math.Min(50, Math.Abs(level) * inv);
        features[k++] = (float)context.HostSet1;
        features[k++] = (float)context.HostSet2;
        features[k++] = (float)context.Group1;
        features[k++] = (float)context.Group2;
        return (level, scale);
    }

    private static double Median(ReadOnlySpan<double> h, int window, Span<double> scratch) =>
        RobustStatistics.Median(h[Math.Max(0, h.Length - window)..], scratch);

    private static double Quantile(ReadOnlySpan<double> h, int window, double q, Span<double> scratch) =>
        RobustStatistics.Quantile(h[Math.Max(0, h.Length - window)..], q, scratch);

    private static double Mean(ReadOnlySpan<double> h, int window)
    {
        var w = h[Math.Max(0, h.Length - window)..];
        double s = 0;
        foreach (double v in w)
        {
            s += v;
        }

        return s / w.Length;
    }

    private static double Smooth(ReadOnlySpan<double> h, double alpha)
    {
        var w = h[Math.Max(0, h.Length - 96)..];
        double level = w[0];
        for (int i = 1; i < w.Length; i++)
        {
            level += alpha * (w[i] - level);
        }

        return level;
    }
}
