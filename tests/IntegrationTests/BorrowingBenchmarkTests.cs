using System.Text.Json;
using VmEcosystem.ConsoleHost;
using VmEcosystem.Experiments;
using VmEcosystem.Policies;
using VmEcosystem.Simulation;
using VmEcosystem.TestSupport;

namespace VmEcosystem.IntegrationTests;

/// <summary>`benchmark borrowing` on the shipped traces, and a host set whose demand ramps past its budget.</summary>
[Collection("cli")] // the CLI uses process-wide writers
public sealed class BorrowingBenchmarkTests
{
    private static string Gcd => RepositoryPaths.File("tests", "IntegrationTests", "Data", "gcd", "vms");

    private static async Task<Dictionary<string, JsonElement>> RunAsync(string traceDir)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await VmecoCli.RunAsync(["benchmark", "borrowing", "--trace-dir", traceDir, "--json"], output, error);
        Assert.True(code == 0, error.ToString());
        return output.ToString().Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToDictionary(e => e.GetProperty("run").GetString()!);
    }

    [Theory]
    [InlineData("gcd")]
    [InlineData("planetlab")]
    public async Task Borrowing_cuts_violation_minutes_to_at_most_0_7_of_resizing_alone_and_no_lender_goes_below_its_floor(string traces)
    {
        var runs = await RunAsync(traces == "gcd" ? Gcd : RepositoryPaths.ShippedPlanetLabDay);
        double Of(string run, string field) => runs[run].GetProperty(field).GetDouble();
        foreach (var field in new[] { "sloViolationMinutes", "slackPercent", "loans", "loanMinutes", "forcedReturns", "scaleOutRequests", "wallSeconds", "lenderViolations" })
        {
            Assert.True(runs["borrowing"].TryGetProperty(field, out _), $"missing {field}");
        }

        Assert.Equal(0, Of("resizing", "loans"));
        Assert.True(Of("borrowing", "loans") > 0);
        Assert.Equal(0, Of("borrowing", "lenderViolations"));
        Assert.Equal(0, Of("borrowing", "outOfPolicyMinutes"));
        Assert.True(Of("borrowing", "sloViolationMinutes") <= 0.7 * Of("resizing", "sloViolationMinutes"),
            $"borrowing {Of("borrowing", "sloViolationMinutes")} vs resizing alone {Of("resizing", "sloViolationMinutes")} violation minutes");
        foreach (var set in runs["borrowing"].GetProperty("setSizes").EnumerateArray())
        {
            Assert.InRange(set.GetInt32(), 8, 16);
        }
    }

    [Fact]
    public void A_host_set_whose_demand_ramps_past_its_budget_asks_for_scale_out_at_least_the_lead_time_before_its_first_violation()
    {
        // Twelve VMs: flat at 20 % for six hours, then a ramp to 90 % by the end of the day, each with a little noise.
        // The budget is 70 % of the set's peak aggregate demand, so the ramp crosses it late in the afternoon.
        var random = new Random(7);
        var traces = Enumerable.Range(0, 12).Select(v => new DemandTrace($"vm-{v}", [.. Enumerable.Range(0, 288).Select(k =>
            ((k < 72 ? 20 : 20 + (70.0 * (k - 72) / 215)) + (random.NextDouble() * 2)) / 100)], 300)).ToList();
        var policies = new PolicyParser().Parse(File.ReadAllText(RepositoryPaths.File("samples", "ConsoleHost", "data", "borrowing-policies.json"))).GetOrThrow();
        var lead = TimeSpan.FromMinutes(30);
        var options = new ResizingRunOptions { HostSetSizes = [12], BudgetShare = 0.7, Borrowing = true, ScaleOutLeadTime = lead };

        var result = ResizingExperiment.Run(traces, policies, ResizingMode.Predictive, options);

        var request = Assert.Single(result.ScaleOuts);
        Assert.Equal("set-0", request.HostSet);
        Assert.True(request.Instances >= 1);
        Assert.NotNull(request.FirstViolationSeconds);
        Assert.True(request.FirstViolationSeconds!.Value - request.RequestedAtSeconds >= lead.TotalSeconds,
            $"asked at {request.RequestedAtSeconds / 60:F0} min, first violation at {request.FirstViolationSeconds / 60:F0} min");
        Assert.Equal(0, result.LenderViolations);
    }
}
