using VmEcosystem.Cluster;
using VmEcosystem.Planning;

namespace VmEcosystem.Tests.Planning;

/// <summary>The planning session forecasts with the method named in its options, <c>auto</c> included.</summary>
public sealed class PlanningSessionForecastTests
{
    private static double[] Plan(string method, Func<int, double> demand, int steps)
    {
        var state = new PlanningState();
        state.Reset(1, 1, 1);
        state.SetHost(0, new HostId("h0"), 10_000, 10, 65_536, 10_000, null, true);
        var session = new PlanningSession(new PlanningSessionOptions { ForecastMethod = method });
        var context = new PlanningContext(new Random(1), 300);
        var t0 = DateTimeOffset.UnixEpoch;
        for (int t = 0; t < steps; t++)
        {
            state.SetVm(0, new VmId("v"), 2000, 2, 1024, demand(t), demand(t), 0, -1, true);
            session.Prepare(state, context, t0 + TimeSpan.FromMinutes(5 * t));
        }

        return [session.Forecasts.Point(0), session.Forecasts.Upper(0)];
    }

    [Fact]
    public void Auto_follows_a_trend_that_the_median_lags_behind()
    {
        // A steady climb: the moving median trails by half its window; auto switches to a trend-aware candidate.
        var median = Plan("median24", t => 100 + 10 * t, 96);
        var auto = Plan("auto", t => 100 + 10 * t, 96);
        double next = 100 + 10 * 96;
        Assert.True(Math.Abs(auto[0] - next) < Math.Abs(median[0] - next), $"auto {auto[0]:F0}, median {median[0]:F0}, truth ~{next}");
        Assert.True(auto[1] >= auto[0]);
    }

    [Fact]
    public void An_unknown_method_is_refused_listing_the_known_ones()
    {
        var ex = Assert.Throws<ArgumentException>(() => new PlanningSession(new PlanningSessionOptions { ForecastMethod = "magic" }));
        Assert.Contains("auto", ex.Message, StringComparison.Ordinal);
        Assert.Contains("median24", ex.Message, StringComparison.Ordinal);
    }
}
