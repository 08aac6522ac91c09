namespace VmEcosystem.Planning.CloudSim;

/// <summary>
/// The statistics CloudSim 3.0.3's detectors use, with the same arithmetic (commons-math3's SimpleRegression
/// update formulas and its legacy percentile), so decisions agree with CloudSim's to the last bit.
/// </summary>
internal static class CloudSimMath
{
    /// <summary>OLS intercept and slope of y against x = 1..n, as commons-math3's <c>SimpleRegression</c> computes them.</summary>
    public static (double Intercept, double Slope) Regress(ReadOnlySpan<double> y)
    {
        double sumX = 0, sumY = 0, sumXX = 0, sumXY = 0, xbar = 0, ybar = 0;
        long n = 0;
        for (int i = 0; i < y.Length; i++)
        {
            double x = i + 1;
            double yi = y[i];
            if (n == 0)
            {
                xbar = x;
                ybar = yi;
            }
            else
            {
                double fact1 = 1.0 + n;
                double fact2 = n / (1.0 + n);
                double dx = x - xbar;
                double dy = yi - ybar;
                sumXX += dx * dx * fact2;
                sumXY += dx * dy * fact2;
                xbar += dx / fact1;
                ybar += dy / fact1;
            }

            sumX += x;
            sumY += yi;
            n++;
        }

        double slope = Math.Abs(sumXX) < 10 * double.Epsilon ? double.NaN : sumXY / sumXX;
        double intercept = (sumY - (slope * sumX)) / n;
        return (intercept, slope);
    }

    /// <summary>commons-math3's legacy <c>Percentile.evaluate(p)</c> on a sorted copy.</summary>
    public static double Percentile(Span<double> values, double p)
    {
        int n = values.Length;
        if (n == 0)
        {
            return double.NaN;
        }

        if (n == 1)
        {
            return values[0];
        }

        values.Sort();
        double pos = p * (n + 1) / 100;
        double fpos = Math.Floor(pos);
        int intPos = (int)fpos;
        double dif = pos - fpos;
        if (pos < 1)
        {
            return values[0];
        }

        if (pos >= n)
        {
            return values[n - 1];
        }

        double lower = values[intPos - 1];
        double upper = values[intPos];
        return lower + (dif * (upper - lower));
    }

    /// <summary>CloudSim's <c>MathUtil.mad</c>.</summary>
    public static double Mad(ReadOnlySpan<double> data, Span<double> scratch)
    {
        if (data.Length == 0)
        {
            return 0;
        }

        var copy = scratch[..data.Length];
        data.CopyTo(copy);
        double median = Percentile(copy, 50);
        for (int i = 0; i < data.Length; i++)
        {
            copy[i] = Math.Abs(median - data[i]);
        }

        return Percentile(copy, 50);
    }

    /// <summary>CloudSim's <c>MathUtil.iqr</c> (quartile indexes rounded half up).</summary>
    public static double Iqr(ReadOnlySpan<double> data, Span<double> scratch)
    {
        var copy = scratch[..data.Length];
        data.CopyTo(copy);
        copy.Sort();
        int q1 = (int)Math.Floor((0.25 * (copy.Length + 1)) + 0.5) - 1;
        int q3 = (int)Math.Floor((0.75 * (copy.Length + 1)) + 0.5) - 1;
        return copy[q3] - copy[q1];
    }
}
