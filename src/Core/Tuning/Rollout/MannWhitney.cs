namespace VmEcosystem.Tuning.Rollout;

/// <summary>The result of a Mann–Whitney U test of sample a against sample b.</summary>
/// <param name="U">U of sample a (pairs in which a's value is the larger, ties counting half).</param>
/// <param name="Z">The normal approximation's z (negative: a tends to be smaller).</param>
/// <param name="PLess">One-sided p of "a tends to be smaller than b".</param>
/// <param name="PGreater">One-sided p of "a tends to be larger than b".</param>
internal readonly record struct MannWhitneyResult(double U, double Z, double PLess, double PGreater);

/// <summary>
/// The Mann–Whitney U test (Wilcoxon rank-sum), with the normal approximation, tie correction and continuity
/// correction: does one sample tend to hold smaller values than the other, without assuming a distribution? Suited to
/// latency, whose distributions are skewed. Needs a few samples on each side (the approximation is fair from about 8).
/// </summary>
internal static class MannWhitney
{
    public static MannWhitneyResult Test(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        int n1 = a.Count, n2 = b.Count;
        if (n1 == 0 || n2 == 0)
        {
            throw new ArgumentException("Both samples need at least one value.");
        }

        var all = new (double Value, bool FromA)[n1 + n2];
        for (int i = 0; i < n1; i++)
        {
            all[i] = (a[i], true);
        }

        for (int j = 0; j < n2; j++)
        {
            all[n1 + j] = (b[j], false);
        }

        Array.Sort(all, (x, y) => x.Value.CompareTo(y.Value));
        double rankSumA = 0, tieTerm = 0;
        for (int i = 0; i < all.Length;)
        {
            int j = i;
            while (j + 1 < all.Length && all[j + 1].Value == all[i].Value)
            {
                j++;
            }

            double rank = (i + j + 2) / 2.0; // ranks are 1-based; tied values share the mean rank
            for (int k = i; k <= j; k++)
            {
                if (all[k].FromA)
                {
                    rankSumA += rank;
                }
            }

            double t = j - i + 1;
            tieTerm += (t * t * t) - t;
            i = j + 1;
        }

        double u = rankSumA - (n1 * (n1 + 1) / 2.0);
        double mean = n1 * n2 / 2.0;
        double n = n1 + n2;
        double variance = n1 * n2 / 12.0 * ((n + 1) - (tieTerm / (n * (n - 1))));
        if (variance <= 0)
        {
            return new MannWhitneyResult(u, 0, 0.5, 0.5); // every value equal: no evidence either way
        }

        double sd = Math.Sqrt(variance);
        double zLess = (u - mean + 0.5) / sd;
        double zGreater = (u - mean - 0.5) / sd;
        return new MannWhitneyResult(u, (u - mean) / sd, NormalCdf(zLess), 1 - NormalCdf(zGreater));
    }

    /// <summary>The standard normal distribution function (Abramowitz and Stegun 7.1.26 through erf; error below 1.5e-7).</summary>
    public static double NormalCdf(double z)
    {
        double x = Math.Abs(z) / Math.Sqrt(2);
        double t = 1 / (1 + (0.3275911 * x));
        double erf = 1 - (((((((1.061405429 * t) - 1.453152027) * t) + 1.421413741) * t) - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
    }

    /// <summary>The median of a sample.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
