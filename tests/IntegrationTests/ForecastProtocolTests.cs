using System.Globalization;
using VmEcosystem.Forecasting;
using VmEcosystem.Simulation;
using VmEcosystem.TestSupport;

namespace VmEcosystem.IntegrationTests;

/// <summary>
/// The rolling-origin forecast protocol on both visible days against the anchor figures: 20110303 (shipped with the
/// sample) and 20110322 (shipped with these tests).
/// </summary>
public sealed class ForecastProtocolTests
{
    private static readonly Dictionary<string, Lazy<IReadOnlyList<ForecastMethodResult>>> Results = new(StringComparer.Ordinal)
    {
        ["20110303"] = new(() => Run("20110303", RepositoryPaths.ShippedPlanetLabDay)),
        ["20110322"] = new(() => Run("20110322", RepositoryPaths.File("tests", "IntegrationTests", "Data", "planetlab", "20110322"))),
    };

    private static IReadOnlyList<ForecastMethodResult> Run(string day, string folder)
    {
        var traces = PlanetLabTraces.ReadFolder(folder);
        var names = traces.Select(t => t.Name).ToList();
        var series = traces.Select(t => t.Cpu.ToArray().Select(v => v * 100).ToArray()).ToList();
        var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        var evaluated = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Anchors", "forecast", "sampled_vms.txt"))
            .Where(l => l.StartsWith(day + "/", StringComparison.Ordinal)).Select(l => index[l[(day.Length + 1)..]]).ToList();
        var groups = VmEcosystem.ConsoleHost.Commands.PlanetLabGroups.BySlice(names);
        return ForecastBenchmark.Run(series, evaluated, ["naive", "ses", "auto"], groups);
    }

    private static IEnumerable<string[]> AnchorRows(string day) =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Anchors", "forecast", "results.csv")).Skip(1)
            .Select(l => l.Split(','))
            .Where(f => f[0] == "sample200" && f[1] == day);

    private static double Anchor(string day, string method, int horizon, int column) =>
        AnchorRows(day).Where(f => f[2] == method && f[3] == horizon.ToString(CultureInfo.InvariantCulture))
            .Select(f => double.Parse(f[column], CultureInfo.InvariantCulture)).Single();

    private static double BestAnchorMase(string day, int horizon) =>
        AnchorRows(day).Where(f => f[3] == horizon.ToString(CultureInfo.InvariantCulture))
            .Min(f => double.Parse(f[7], CultureInfo.InvariantCulture));

    [Theory]
    [InlineData("20110303", 1)]
    [InlineData("20110303", 3)]
    [InlineData("20110303", 12)]
    [InlineData("20110322", 1)]
    [InlineData("20110322", 3)]
    [InlineData("20110322", 12)]
    public void Naive_reproduces_the_protocol_exactly(string day, int horizon)
    {
        var naive = Results[day].Value.Single(r => r.Method == "naive" && r.Horizon == horizon);
        Assert.Equal(200, naive.Series);
        Assert.Equal(Anchor(day, "naive", horizon, 5), naive.Mae, 4);
        Assert.Equal(Anchor(day, "naive", horizon, 7), naive.Mase, 4);
    }

    [Theory]
    [InlineData("20110303", 3)]
    [InlineData("20110303", 12)]
    [InlineData("20110322", 3)]
    [InlineData("20110322", 12)]
    public void Auto_is_at_most_95_percent_of_the_best_established_method_with_calibrated_intervals(string day, int horizon)
    {
        var auto = Results[day].Value.Single(r => r.Method == "auto" && r.Horizon == horizon);
        double bound = 0.95 * BestAnchorMase(day, horizon);
        Assert.True(auto.Mase <= bound, $"{day}: auto MASE {auto.Mase:F4} > {bound:F4} at h={horizon}");
        Assert.InRange(auto.Coverage95, 0.93, 0.97);
    }

    [Theory]
    [InlineData("20110303")]
    [InlineData("20110322")]
    public void Our_ses_is_within_a_few_percent_of_statsmodels(string day)
    {
        foreach (int h in new[] { 1, 3, 12 })
        {
            var ses = Results[day].Value.Single(r => r.Method == "ses" && r.Horizon == h);
            Assert.InRange(ses.Mase / Anchor(day, "ses", h, 7), 0.97, 1.03);
        }
    }
}
