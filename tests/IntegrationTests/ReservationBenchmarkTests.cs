using System.Text.Json;
using VmEcosystem.ConsoleHost;
using VmEcosystem.TestSupport;

namespace VmEcosystem.IntegrationTests;

/// <summary>`benchmark reservations` on the shipped day: one line per mode, the controller's figures against none and static.</summary>
[Collection("cli")] // the CLI uses process-wide writers
public sealed class ReservationBenchmarkTests
{
    private static async Task<Dictionary<string, JsonElement>> RunAsync(params string[] extra)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await VmecoCli.RunAsync(["benchmark", "reservations", "--trace-dir", RepositoryPaths.ShippedPlanetLabDay, "--json", .. extra], output, error);
        Assert.True(code == 0, error.ToString());
        var lines = output.ToString().Trim().Split('\n');
        Assert.Equal(3, lines.Length);
        return lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToDictionary(e => e.GetProperty("reservation").GetString()!);
    }

    [Fact]
    public async Task Pid_holds_a_fraction_of_what_static_holds_idle_and_serves_at_least_as_well()
    {
        var runs = await RunAsync();
        Assert.Equal(["none", "static", "pid"], runs.Keys);
        foreach (var field in new[] { "migrations", "deferred", "meanMigrationSeconds", "meanDowntimeMs", "shortfallCoreSeconds", "idleReservedCoreSeconds", "sloViolationSeconds", "wallSeconds" })
        {
            Assert.True(runs["pid"].TryGetProperty(field, out _), $"missing {field}");
        }

        double Of(string mode, string field) => runs[mode].GetProperty(field).GetDouble();
        Assert.Equal(0, Of("none", "idleReservedCoreSeconds"));
        Assert.True(Of("static", "deferred") > 0, "static's full-size requests defer moves");
        Assert.True(Of("pid", "idleReservedCoreSeconds") <= 0.7 * Of("static", "idleReservedCoreSeconds"),
            $"pid idle {Of("pid", "idleReservedCoreSeconds")} vs static {Of("static", "idleReservedCoreSeconds")}");
        Assert.True(Of("pid", "shortfallCoreSeconds") <= Of("static", "shortfallCoreSeconds"));
        Assert.True(Of("pid", "shortfallCoreSeconds") <= 0.5 * Of("none", "shortfallCoreSeconds") + 1e-9);
        Assert.True(Of("pid", "reservationCommands") > 0, "the controller resized reservations");

        // Why shortfall is zero: with demand varying within the traces' intervals, no destination comes near its capacity.
        Assert.Equal(1, Of("pid", "variation"));
        Assert.InRange(Of("none", "peakDestinationUtilization"), 0.05, 0.9);
        Assert.Equal(0, Of("none", "destinationSecondsAbove90"));
    }

    [Fact]
    public async Task On_a_busier_day_with_demand_varying_within_intervals_pid_leaves_less_shortfall_than_none_and_static()
    {
        var runs = await RunAsync("--demand-scale", "2", "--hold", "300");
        double Shortfall(string mode) => runs[mode].GetProperty("shortfallCoreSeconds").GetDouble();
        Assert.True(Shortfall("none") > 0, "the busier day has contention in migration windows");
        Assert.True(Shortfall("pid") < Shortfall("none") && Shortfall("pid") < Shortfall("static"),
            $"shortfall none {Shortfall("none")}, static {Shortfall("static")}, pid {Shortfall("pid")} core-s");
    }
}
