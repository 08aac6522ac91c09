using VmEcosystem.Forecasting;

namespace VmEcosystem.Tests.Forecasting;

public sealed class ForecasterBehaviourTests
{
    private static double[] Noise(int n, double sigma, int seed, Func<int, double> signal)
    {
        var r = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(i =>
        {
            double u1 = 1 - r.NextDouble(), u2 = r.NextDouble();
            return Math.Max(0, signal(i) + (sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)));
        })];
    }

    [Fact]
    public void Holt_follows_a_linear_trend()
    {
        var data = Enumerable.Range(0, 100).Select(i => 10 + (2.0 * i)).ToArray();
        var f = ExponentialSmoothingForecaster.Holt();
        f.Fit(data);
        Assert.Equal(10 + (2.0 * 109), f.Forecast(10).Point, 1);
    }

    [Fact]
    public void Damped_trend_flattens_where_holt_keeps_going()
    {
        var data = Enumerable.Range(0, 100).Select(i => 10 + (2.0 * i) + (i % 2 == 0 ? 1 : -1)).ToArray();
        var damped = ExponentialSmoothingForecaster.HoltDamped();
        var holt = ExponentialSmoothingForecaster.Holt();
        damped.Fit(data);
        holt.Fit(data);
        Assert.True(damped.Forecast(100).Point <= holt.Forecast(100).Point);
    }

    [Fact]
    public void Seasonal_switches_on_with_two_periods_of_history_and_forecasts_the_cycle()
    {
        const int period = 24;
        double Signal(int i) => 50 + (30 * Math.Sin(2 * Math.PI * i / period));
        var data = Noise(24 * 6, 2, 3, Signal);
        var seasonal = ExponentialSmoothingForecaster.Seasonal([period]);
        seasonal.Fit(data.AsSpan(0, period)); // one period: not enough
        Assert.Equal(0, seasonal.ActivePeriod);
        seasonal.Fit(data);
        Assert.Equal(period, seasonal.ActivePeriod);
        var plain = ExponentialSmoothingForecaster.HoltDamped();
        plain.Fit(data);
        double seasonalError = 0, plainError = 0;
        for (int h = 1; h <= period; h++)
        {
            seasonalError += Math.Abs(seasonal.Forecast(h).Point - Signal(data.Length + h - 1));
            plainError += Math.Abs(plain.Forecast(h).Point - Signal(data.Length + h - 1));
        }

        Assert.True(seasonalError < plainError / 3, $"seasonal {seasonalError:F1} vs damped {plainError:F1}");
    }

    [Fact]
    public void Ssa_forecasts_a_noisy_cycle_and_stays_bounded_far_ahead()
    {
        double Signal(int i) => 50 + (20 * Math.Sin(2 * Math.PI * i / 12));
        var data = Noise(300, 2, 5, Signal);
        var f = new SsaForecaster(new SsaOptions { WindowSize = 24, Rank = 2, TrainSize = 288 });
        f.Fit(data);
        double error = 0;
        for (int h = 1; h <= 12; h++)
        {
            error += Math.Abs(f.Forecast(h).Point - Signal(data.Length + h - 1));
        }

        Assert.True(error / 12 < 5, $"SSA mean error {error / 12:F2}");
        Assert.InRange(f.Forecast(500).Point, 0, 200); // the stabilised recurrence does not explode
    }

    [Fact]
    public void Ssa_chooses_the_rank_by_explained_variance()
    {
        var data = Noise(300, 0.5, 6, i => 50 + (20 * Math.Sin(2 * Math.PI * i / 12)));
        var f = new SsaForecaster(new SsaOptions { Rank = null, ExplainedVariance = 0.9 });
        f.Fit(data);
        Assert.InRange(f.Rank, 2, 6);
    }

    [Fact]
    public void Empirical_calibration_covers_about_the_nominal_share()
    {
        var data = Noise(5000, 5, 7, _ => 50);
        var f = ExponentialSmoothingForecaster.Simple(new ForecasterOptions { CalibratedHorizons = [1], CalibrationWindow = 200 });
        f.Fit(data.AsSpan(0, 300));
        int inside = 0, total = 0;
        for (int t = 300; t < data.Length - 1; t++)
        {
            var forecast = f.Forecast(1);
            inside += forecast.Covers(data[t]) ? 1 : 0;
            total++;
            f.Update(data[t]);
        }

        Assert.InRange((double)inside / total, 0.93, 0.97);
    }

    [Fact]
    public void Moving_median_ignores_spikes_that_a_mean_follows()
    {
        var data = Enumerable.Range(0, 48).Select(i => i % 6 == 0 ? 100.0 : 10.0).ToArray();
        var median = new MovingMedianForecaster(24);
        var mean = new MovingAverageForecaster(24);
        median.Fit(data);
        mean.Fit(data);
        Assert.Equal(10, median.Forecast(1).Point);
        Assert.True(mean.Forecast(1).Point > 20);
    }

    [Fact]
    public void Auto_keeps_the_primary_unless_another_is_clearly_better()
    {
        // Random spikes: a naive forecaster is much worse than a median at every horizon; auto starts on naive
        // (the primary) and switches.
        var r = new Random(4);
        var data = Enumerable.Range(0, 400).Select(_ => r.NextDouble() < 0.3 ? 90.0 : 10.0).ToArray();
        var auto = new AutoForecaster([new NaiveForecaster(), new MovingMedianForecaster(24)], [1, 3]);
        auto.Fit(data.AsSpan(0, 100));
        for (int t = 100; t < 400; t++)
        {
            auto.Update(data[t]);
        }

        Assert.Equal("median24", auto.ChosenFor(1));
        Assert.Equal("median24", auto.ChosenFor(3));

        var stay = new AutoForecaster([new MovingMedianForecaster(24), new MovingMedianForecaster(23)], [1]);
        stay.Fit(data);
        Assert.Equal("median24", stay.ChosenFor(1));
    }
}
