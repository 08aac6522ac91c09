namespace VmEcosystem.Forecasting;

/// <summary>Order statistics on small windows (medians, quantiles, MAD) without allocation.</summary>
internal static class RobustStatistics
{
    private static Span<double> SortedCopy(ReadOnlySpan<double> values, Span<double> scratch)
    {
        var s = scratch[..values.Length];
        values.CopyTo(s);
        s.Sort();
        return s;
    }

    /// <summary>Median of <paramref name="values"/>; sorts <paramref name="scratch"/> (at least as long).</summary>
    public static double Median(ReadOnlySpan<double> values, Span<double> scratch)
    {
        int n = values.Length;
        if (n == 0)
        {
            return double.NaN;
        }

        var s = SortedCopy(values, scratch);
        return (n & 1) == 1 ? s[n / 2] : (s[(n / 2) - 1] + s[n / 2]) / 2;
    }

    /// <summary>Linear-interpolated quantile; sorts a copy in <paramref name="scratch"/>.</summary>
    public static double Quantile(ReadOnlySpan<double> values, double q, Span<double> scratch)
    {
        return values.Length == 0 ? double.NaN : ForecasterBase.Quantile(SortedCopy(values, scratch), q);
    }

    /// <summary>Mean absolute one-step change: the MASE scale of a series.</summary>
    public static double MeanAbsoluteChange(ReadOnlySpan<double> values)
    {
        if (values.Length < 2)
        {
            return 0;
        }

        double sum = 0;
        for (int i = 1; i < values.Length; i++)
        {
            sum += Math.Abs(values[i] - values[i - 1]);
        }

        return sum / (values.Length - 1);
    }

    /// <summary>Sample standard deviation.</summary>
    public static double StandardDeviation(ReadOnlySpan<double> values)
    {
        int n = values.Length;
        if (n < 2)
        {
            return 0;
        }

        double mean = 0;
        foreach (double v in values)
        {
            mean += v;
        }

        mean /= n;
        double ss = 0;
        foreach (double v in values)
        {
            ss += (v - mean) * (v - mean);
        }

        return Math.Sqrt(ss / (n - 1));
    }
}
