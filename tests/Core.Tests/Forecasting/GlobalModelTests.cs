using VmEcosystem.Forecasting;
using VmEcosystem.Forecasting.Global;

namespace VmEcosystem.Tests.Forecasting;

public sealed class GlobalModelTests
{
    [Fact]
    public void Boosted_trees_learn_a_conditional_median_deterministically()
    {
        // y = 10 when x > 0.5 else 0, plus heavy one-sided noise on 10 % of rows: the median ignores the noise.
        var r = new Random(1);
        int n = 4000;
        var x = new float[n];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)r.NextDouble();
            y[i] = (x[i] > 0.5 ? 10 : 0) + (r.NextDouble() < 0.1 ? 100 : 0);
        }

        var a = new BoostedTrees(new BoostedTreesOptions { Trees = 30, Depth = 2, MinLeaf = 20 });
        var b = new BoostedTrees(new BoostedTreesOptions { Trees = 30, Depth = 2, MinLeaf = 20 });
        a.Fit(x, y, 1);
        b.Fit(x, y, 1);
        Assert.Equal(0, a.Predict([0.2f]), 0.5);
        Assert.Equal(10, a.Predict([0.8f]), 0.5);
        Assert.Equal(a.Predict([0.8f]), b.Predict([0.8f]));
        a.FitMore(x, y, 1, 5);
        Assert.Equal(35, a.TreeCount);
    }

    private static List<double[]> BurstyPanel(int series, int length, int seed)
    {
        // Idle near 5 with bursts to ~60 lasting six samples: persistence the global model can learn.
        var r = new Random(seed);
        var panel = new List<double[]>();
        for (int s = 0; s < series; s++)
        {
            var y = new double[length];
            int burst = 0;
            for (int t = 0; t < length; t++)
            {
                if (burst == 0 && r.NextDouble() < 0.05)
                {
                    burst = 6;
                }

                y[t] = Math.Round((burst > 0 ? 60 : 5) + (r.NextDouble() * 4));
                burst = Math.Max(0, burst - 1);
            }

            panel.Add(y);
        }

        return panel;
    }

    [Fact]
    public void The_global_model_beats_a_median_on_persistent_bursts()
    {
        var series = BurstyPanel(120, 288, 3);
        var options = new ForecastBenchmarkOptions { Global = new GlobalModelOptions { Trees = new BoostedTreesOptions { Trees = 40 } } };
        var results = ForecastBenchmark.Run(series, [.. Enumerable.Range(0, 40)], ["median24", "global"], null, options);
        double median = results.Single(r => r.Method == "median24" && r.Horizon == 1).Mae;
        double global = results.Single(r => r.Method == "global" && r.Horizon == 1).Mae;
        Assert.True(global < 0.8 * median, $"global {global:F2} vs median {median:F2}");
        var coverage = results.Single(r => r.Method == "global" && r.Horizon == 1).Coverage95;
        Assert.InRange(coverage, 0.85, 0.99);
    }

    [Theory]
    [InlineData(2.0, false)]
    [InlineData(0.0, true)]
    public void A_long_horizon_ensemble_is_refreshed_only_every_other_hour_by_default(double spacing, bool h12RefreshedHourly)
    {
        var panel = new SeriesPanel(BurstyPanel(60, 288, 5));
        var model = new GlobalForecastModel(new GlobalModelOptions
        {
            Trees = new BoostedTreesOptions { Trees = 20 },
            RefreshSpacingPerHorizon = spacing,
        });
        model.Train(panel, 192);
        var history = panel.HistoryBefore(0, 180).ToArray();
        var context = panel.ContextAt(0, 180);
        double Point(int h) => model.Forecast(history, context, h).Point;
        double h1 = Point(1), h12 = Point(12);

        model.Refresh(panel, 204); // one hour later: the 5-min model learns; the 1 h model only when spacing allows
        Assert.NotEqual(h1, Point(1));
        Assert.Equal(h12RefreshedHourly, Point(12) != h12);

        double before = Point(12);
        model.Refresh(panel, 216); // two hours after training: the 1 h model learns in both settings
        Assert.NotEqual(before, Point(12));
    }

    [Fact]
    public void A_negative_refresh_spacing_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => new GlobalForecastModel(new GlobalModelOptions { RefreshSpacingPerHorizon = -1 }));
    }

    [Fact]
    public void An_untrained_model_refuses_and_its_forecaster_falls_back()
    {
        var model = new GlobalForecastModel();
        Assert.Throws<InvalidOperationException>(() => model.Forecast(new double[48], default, 1));
        var f = new GlobalForecaster(model, () => default);
        f.Fit([1, 2, 3, 4, 5]);
        Assert.Equal(3, f.Forecast(1).Point);
    }

    [Fact]
    public void Features_reject_short_histories_clearly()
    {
        var ex = Assert.Throws<ArgumentException>(() => GlobalFeatures.Extract(new double[5], default, new float[GlobalFeatures.Count], new double[GlobalFeatures.Lookback]));
        Assert.Contains("at least", ex.Message);
    }
}
