namespace VmEcosystem.Forecasting;

/// <summary>A point forecast with a prediction interval.</summary>
/// <param name="Point">The point forecast (an estimate of the median for robust models, the mean for smoothing models).</param>
/// <param name="Lower">Lower bound of the prediction interval.</param>
/// <param name="Upper">Upper bound of the prediction interval.</param>
public readonly record struct Forecast(double Point, double Lower, double Upper)
{
    /// <summary>Width of the interval.</summary>
    public double Width => Upper - Lower;

    /// <summary>True when <paramref name="actual"/> lies inside the interval.</summary>
    public bool Covers(double actual) => actual >= Lower && actual <= Upper;

    /// <summary>The forecast with every value clamped at 0 (demand cannot be negative).</summary>
    public Forecast NonNegative() => new(Math.Max(0, Point), Math.Max(0, Lower), Math.Max(0, Upper));
}

/// <summary>Two-sided normal quantiles for interval levels.</summary>
internal static class NormalQuantile
{
    /// <summary>z such that P(|Z| ≤ z) = <paramref name="confidence"/> (Acklam's rational approximation).</summary>
    public static double TwoSided(double confidence)
    {
        if (!(confidence > 0 && confidence < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "Confidence must be within (0, 1).");
        }

        return Inverse(0.5 + (confidence / 2));
    }

    public static double Inverse(double p)
    {
        // Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9).
        const double low = 0.02425;
        if (p < low)
        {
            double q = Math.Sqrt(-2 * Math.Log(p));
            return Tail(q);
        }

        if (p > 1 - low)
        {
            double q = Math.Sqrt(-2 * Math.Log(1 - p));
            return -Tail(q);
        }

        double r = p - 0.5;
        double s = r * r;
        double num = Horner(s, -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00);
        double den = Horner(s, -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01, 1);
        return num * r / den;
    }

    private static double Tail(double q)
    {
        double num = Horner(q, -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00);
        double den = Horner(q, 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00, 1);
        return num / den;
    }

    private static double Horner(double x, params ReadOnlySpan<double> coefficients)
    {
        double v = 0;
        foreach (double c in coefficients)
        {
            v = (v * x) + c;
        }

        return v;
    }
}
