using System.Globalization;

namespace VmEcosystem.IntegrationTests;

/// <summary>CloudSim 3.0.3's figures (see Anchors/cloudsim/SOURCE.md).</summary>
internal static class CloudSimAnchors
{
    public sealed record Row(string Day, string Algo, string Order, double EnergyKwh, int Migrations, double Slatah, double Pdm, double Slav, int? VmsLeft);

    public static IReadOnlyList<Row> Results { get; } = Load();

    public static Row Get(string day, string algo) => Results.Single(r => r.Day == day && r.Algo == algo && r.Order == "sorted");

    public static IReadOnlyList<(double Time, double EnergyKwh, int Migrations, int HostsWithVms, int ActiveHosts, int Vms)> Ticks(string file) =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Anchors", "cloudsim", file)).Skip(1)
            .Select(l => l.Split(','))
            .Select(f => (D(f[0]), D(f[1]), int.Parse(f[2], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture),
                int.Parse(f[4], CultureInfo.InvariantCulture), int.Parse(f[5], CultureInfo.InvariantCulture)))
            .ToArray();

    private static IReadOnlyList<Row> Load() =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Anchors", "cloudsim", "results.csv")).Skip(1)
            .Select(l => l.Split(','))
            .Select(f => new Row(f[0], f[1], f[2], D(f[5]), int.Parse(f[6], CultureInfo.InvariantCulture), D(f[7]), D(f[8]), D(f[9]),
                f[20].Length == 0 ? null : int.Parse(f[20], CultureInfo.InvariantCulture)))
            .ToArray();

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
}
