using System.Globalization;
using VmEcosystem.Forecasting;
using VmEcosystem.Simulation;
using VmEcosystem.TestSupport;

namespace VmEcosystem.IntegrationTests;

/// <summary>The rolling-origin forecast protocol on the shipped day (20110303) against the anchor figures.</summary>
public sealed class ForecastProtocolTests
{
    private const string Day = "20110303";

    private static readonly Lazy<IReadOnlyList<ForecastMethodResult>> Results = new(() =>
    {
        var traces = PlanetLabTraces.ReadFolder(RepositoryPaths.ShippedPlanetLabDay);
        var names = traces.Select(t => t.Name).ToList();
        var series = traces.Select(t => t.Cpu.ToArray().Select(v => v * 100).ToArray()).ToList();
        var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        var evaluated = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Anchors", "forecast", "sampled_vms.txt"))
            .Where(l => l.StartsWith(Day + "/", StringComparison.Ordinal)).Select(l => index[l[(Day.Length + 1)..]]).ToList();
        var groups = VmEcosystem.ConsoleHost.Commands.PlanetLabGroups.BySlice(names);
        return ForecastBenchmark.Run(series, evaluated, ["naive", "ses", "auto"], groups);
    });

    private static double Anchor(string method, int horizon, int column) =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Anchors", "forecast", "results.csv")).Skip(1)
            .Select(l => l.Split(','))
            .Where(f => f[0] == "sample200" && f[1] == Day && f[2] == method && f[3] == horizon.ToString(CultureInfo.InvariantCulture))
            .Select(f => double.Parse(f[column], CultureInfo.InvariantCulture)).Single();

    private static double BestAnchorMase(int horizon) =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Anchors", "forecast", "results.csv")).Skip(1)
            .Select(l => l.Split(','))
            .Where(f => f[0] == "sample200" && f[1] == Day && f[3] == horizon.ToString(CultureInfo.InvariantCulture))
            .Min(f => double.Parse(f[7], CultureInfo.InvariantCulture));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(12)]
    public void Naive_reproduces_the_protocol_exactly(int horizon)
    {
        var naive = Results.Value.Single(r => r.Method == "naive" && r.Horizon == horizon);
        Assert.Equal(200, naive.Series);
        Assert.Equal(Anchor("naive", horizon, 5), naive.Mae, 4);
        Assert.Equal(Anchor("naive", horizon, 7), naive.Mase, 4);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(12)]
    public void Auto_is_at_most_95_percent_of_the_best_established_method_with_calibrated_intervals(int horizon)
    {
        var auto = Results.Value.Single(r => r.Method == "auto" && r.Horizon == horizon);
        double bound = 0.95 * BestAnchorMase(horizon);
        Assert.True(auto.Mase <= bound, $"auto MASE {auto.Mase:F4} > {bound:F4} at h={horizon}");
        Assert.InRange(auto.Coverage95, 0.93, 0.97);
    }

    [Fact]
    public void Our_ses_is_within_a_few_percent_of_statsmodels()
    {
        foreach (int h in new[] { 1, 3, 12 })
        {
            var ses = Results.Value.Single(r => r.Method == "ses" && r.Horizon == h);
            Assert.InRange(ses.Mase / Anchor("ses", h, 7), 0.97, 1.03);
        }
    }
}
