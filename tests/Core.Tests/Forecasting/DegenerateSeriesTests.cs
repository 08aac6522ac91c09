using VmEcosystem.Forecasting;

namespace VmEcosystem.Tests.Forecasting;

/// <summary>Every local method on degenerate input: sensible numbers or a clear error, never NaN or a deep exception.</summary>
public sealed class DegenerateSeriesTests
{
    public static TheoryData<string> Methods() => [.. ForecastBenchmark.LocalMethods];

    private static void AssertSane(Forecast f)
    {
        Assert.True(double.IsFinite(f.Point) && double.IsFinite(f.Lower) && double.IsFinite(f.Upper), $"Not finite: {f}");
        Assert.True(f.Lower <= f.Point && f.Point <= f.Upper, $"Bounds out of order: {f}");
        Assert.True(f.Lower >= 0, $"Negative bound: {f}");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void All_zeros_forecast_zero(string method)
    {
        var f = ForecastBenchmark.CreateLocal(method);
        f.Fit(new double[200]);
        foreach (int h in new[] { 1, 3, 12, 100 })
        {
            var r = f.Forecast(h);
            AssertSane(r);
            Assert.Equal(0, r.Point, 6);
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_constant_series_forecasts_the_constant(string method)
    {
        var f = ForecastBenchmark.CreateLocal(method);
        f.Fit(Enumerable.Repeat(42.0, 200).ToArray());
        var r = f.Forecast(12);
        AssertSane(r);
        Assert.Equal(42, r.Point, 3);
        Assert.InRange(r.Width, 0, 1e-3);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_single_spike_does_not_break_the_forecast(string method)
    {
        var data = Enumerable.Repeat(10.0, 200).ToArray();
        data[150] = 1000;
        var f = ForecastBenchmark.CreateLocal(method);
        f.Fit(data);
        var r = f.Forecast(3);
        AssertSane(r);
        Assert.InRange(r.Point, 0, 300);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Fewer_samples_than_the_window_still_forecast(string method)
    {
        foreach (int n in new[] { 1, 2, 3, 5 })
        {
            var f = ForecastBenchmark.CreateLocal(method);
            f.Fit(Enumerable.Range(1, n).Select(i => (double)i).ToArray());
            AssertSane(f.Forecast(1));
            AssertSane(f.Forecast(12));
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Updates_without_a_fit_work_and_no_observation_is_a_clear_error(string method)
    {
        var f = ForecastBenchmark.CreateLocal(method);
        var ex = Assert.Throws<InvalidOperationException>(() => f.Forecast(1));
        Assert.Contains("no observations", ex.Message);
        f.Update(3);
        AssertSane(f.Forecast(1));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Nan_and_negative_input_are_rejected_clearly(string method)
    {
        var f = ForecastBenchmark.CreateLocal(method);
        Assert.Throws<ArgumentException>(() => f.Update(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Update(-1));
        Assert.Throws<ArgumentException>(() => f.Fit([1, 2, double.PositiveInfinity]));
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Forecast(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => { f.Update(1); f.Forecast(1, 1.5); });
    }
}
