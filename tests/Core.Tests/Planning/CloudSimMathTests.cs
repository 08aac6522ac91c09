using VmEcosystem.Planning.CloudSim;

namespace VmEcosystem.Tests.Planning;

public sealed class CloudSimMathTests
{
    [Fact]
    public void Regression_recovers_a_line()
    {
        double[] y = [3, 5, 7, 9, 11, 13, 15, 17, 19, 21]; // y = 1 + 2x at x = 1..10
        var (b0, b1) = CloudSimMath.Regress(y);
        Assert.Equal(1, b0, 10);
        Assert.Equal(2, b1, 10);
    }

    [Fact]
    public void Median_iqr_and_mad_follow_commons_math()
    {
        double[] odd = [5, 1, 3];
        Assert.Equal(3, CloudSimMath.Percentile(odd.AsSpan().ToArray(), 50));
        double[] even = [4, 1, 3, 2];
        Assert.Equal(2.5, CloudSimMath.Percentile(even.AsSpan().ToArray(), 50));
        double[] data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        var scratch = new double[12];
        // q1 = round(0.25 * 13) - 1 = 2, q3 = round(0.75 * 13) - 1 = 9: 10 - 3.
        Assert.Equal(7, CloudSimMath.Iqr(data, scratch));
        Assert.Equal(3, CloudSimMath.Mad(data, scratch));
    }
}
