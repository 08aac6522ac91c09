using System.Globalization;
using Spectre.Console;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Planning;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`simulate --policy a,b,...`: each policy runs the same day through the runtime, then one comparison.</summary>
internal static partial class SimulateCommand
{
    private static async Task<int> CompareAsync(
        SimulationScenario scenario, IReadOnlyList<(IMigrationPolicy Policy, string Name, double? Param)> policies, RunSetup each, bool json,
        FileInfo reportFile, CancellationToken ct)
    {
        var runs = new List<(string Name, double? Param, RunResult Result, string Report)>();
        SimulationSummary? baseline = null;
        foreach (var (policy, name, param) in policies)
        {
            var result = await RunAsync(each with { Policy = policy }, quiet: true, ct, null);
            // One report per policy beside the requested path: vmeco-report.html → vmeco-report-lr-mmt.html.
            string path = Path.Combine(reportFile.DirectoryName ?? ".", $"{Path.GetFileNameWithoutExtension(reportFile.Name)}-{Slug(name, param)}{reportFile.Extension}");
            baseline ??= Baseline(scenario);
            File.WriteAllText(path, HtmlReport.Render($"VmEcosystem simulation — {scenario.Name}, policy {name}", SummaryRows(scenario, name, param, result), result.Summary,
                new ReportViews(baseline, result.Final, result.Decisions)));
            runs.Add((name, param, result, path));
        }

        if (json)
        {
            CliOutput.Line(Json.Line(new
            {
                scenario = scenario.Name,
                hosts = scenario.Hosts.Count,
                vms = scenario.Vms.Count,
                policies = runs.Select(r => new
                {
                    policy = r.Name,
                    param = r.Param,
                    r.Result.Summary.EnergyKwh,
                    r.Result.Summary.Migrations,
                    r.Result.Summary.Slatah,
                    r.Result.Summary.Pdm,
                    r.Result.Summary.Slav,
                    r.Result.Summary.Esv,
                    meanActiveHosts = MeanActiveHosts(r.Result.Summary),
                    report = r.Report,
                }),
            }));
            return 0;
        }

        var table = new Table().AddColumn("Policy").AddColumn("Energy kWh", c => c.RightAligned()).AddColumn("Migrations", c => c.RightAligned())
            .AddColumn("SLATAH", c => c.RightAligned()).AddColumn("PDM", c => c.RightAligned()).AddColumn("SLAV", c => c.RightAligned())
            .AddColumn("ESV", c => c.RightAligned()).AddColumn("Mean active hosts", c => c.RightAligned());
        var c = CultureInfo.InvariantCulture;
        foreach (var (name, param, result, _) in runs)
        {
            var s = result.Summary;
            table.AddRow(CliText.Cell(param is null ? name : $"{name} ({param.Value.ToString(c)})"), s.EnergyKwh.ToString("F2", c), s.Migrations.ToString(c),
                s.Slatah.ToString("P3", c), s.Pdm.ToString("P4", c), s.Slav.ToString("E2", c), s.Esv.ToString("E2", c), MeanActiveHosts(s).ToString("F1", c));
        }

        CliOutput.Ansi.MarkupLineInterpolated($"[bold]{CliText.Plain(scenario.Name)}[/]: {scenario.Vms.Count} VMs on {scenario.Hosts.Count} hosts, {runs.Count} policies");
        CliOutput.Ansi.Write(table);
        foreach (var r in runs)
        {
            CliOutput.Ansi.MarkupLineInterpolated($"Report for {CliText.Plain(r.Name)}: [link]{CliText.Plain(r.Report)}[/]");
        }

        return 0;
    }

    /// <summary>The same day with no migration at all, on the same initial placement: the report's baseline.</summary>
    private static SimulationSummary Baseline(SimulationScenario scenario)
    {
        var simulation = new ClusterSimulation(scenario, InitialPlacement.Place(scenario, InitialPlacementStrategy.PowerAwareBestFit));
        while (simulation.AdvanceToNextTick())
        {
        }

        simulation.Finish();
        return simulation.Summary();
    }

    private static string Slug(string name, double? param)
    {
        string text = param is null ? name : $"{name}-{param.Value.ToString(CultureInfo.InvariantCulture)}";
        return new string([.. text.Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '.' ? char.ToLowerInvariant(ch) : '-')]);
    }
}
