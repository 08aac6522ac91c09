using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Planning;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`simulate`: runs a simulated day on the built-in simulator and writes a report.</summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var traceDir = new Option<DirectoryInfo?>("--trace-dir") { Description = "Folder of PlanetLab trace files (default: the shipped day 20110303)." };
        var synthetic = new Option<bool>("--synthetic") { Description = "Use the seeded synthetic workload generator instead of traces." };
        var vms = new Option<int>("--vms") { Description = "Number of synthetic VMs.", DefaultValueFactory = _ => 1000 };
        var hosts = new Option<int>("--hosts") { Description = "Number of hosts.", DefaultValueFactory = _ => 800 };
        var policy = PolicyOptions.Policy("lr-mmt");
        var param = PolicyOptions.Param();
        var seed = new Option<int>("--seed") { Description = "Seed of every random choice.", DefaultValueFactory = _ => 42 };
        var cloudSim = new Option<bool>("--cloudsim-compatible") { Description = "Use CloudSim 3.0.3's exact model (removes VMs whose demand reaches 0)." };
        var report = new Option<FileInfo>("--report")
        {
            Description = "Where to write the HTML report.",
            DefaultValueFactory = _ => new FileInfo("vmeco-report.html"),
        };
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON line (and no table)." };
        var explain = new Option<int>("--explain") { Description = "Print the explanations of the first N migration decisions.", DefaultValueFactory = _ => 0 };
        vms.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--vms must be at least 1."); } });
        hosts.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--hosts must be at least 1."); } });

        var command = new Command("simulate", "Run a simulated day on the built-in simulator; print a summary and write an HTML report.")
        {
            traceDir, synthetic, vms, hosts, policy, param, seed, cloudSim, report, json, explain,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            var model = parse.GetValue(cloudSim) ? SimulationModel.CloudSimCompatible : SimulationModel.Default;
            SimulationScenario scenario;
            if (parse.GetValue(synthetic))
            {
                var traces = SyntheticWorkload.Generate(new SyntheticWorkloadOptions { VmCount = parse.GetValue(vms), Seed = parse.GetValue(seed) });
                scenario = CloudSimScenario.Create(traces, model, parse.GetValue(hosts), $"synthetic ({parse.GetValue(vms)} VMs, seed {parse.GetValue(seed)})");
            }
            else
            {
                string dir = parse.GetValue(traceDir)?.FullName ?? SampleData.DefaultTraceDirectory;
                var traces = PlanetLabTraces.ReadFolder(dir);
                scenario = CloudSimScenario.Create(traces, model, parse.GetValue(hosts), $"PlanetLab {Path.GetFileName(dir)}");
            }

            var (selected, name, p) = PolicyOptions.Build(parse.GetValue(policy)!, parse.GetValue(param), model, parse.GetValue(explain) > 0 ? 3 : 0).Single();
            bool quiet = parse.GetValue(json);
            var explanations = new List<MigrationDecision>();
            int wanted = parse.GetValue(explain);
            var result = Run(scenario, selected, parse.GetValue(seed), quiet, ct,
                wanted > 0 ? (plan, _) => explanations.AddRange(plan.Decisions.Take(wanted - explanations.Count)) : null);
            var summary = result.Summary;
            var rows = SummaryRows(scenario, name, p, result);
            var reportFile = parse.GetValue(report)!;
            File.WriteAllText(reportFile.FullName, HtmlReport.Render($"VmEcosystem simulation — {scenario.Name}, policy {name}", rows, summary));
            if (quiet)
            {
                CliOutput.Line(Json.Line(new
                {
                    scenario = scenario.Name,
                    policy = name,
                    param = p,
                    hosts = summary.Hosts,
                    vms = summary.Vms,
                    summary.EnergyKwh,
                    summary.Migrations,
                    summary.Slatah,
                    summary.Pdm,
                    summary.Slav,
                    summary.Esv,
                    summary.VmsAtEnd,
                    report = reportFile.FullName,
                }));
            }
            else
            {
                var table = new Table().AddColumn("Figure").AddColumn("Value");
                foreach (var (label, value) in rows)
                {
                    table.AddRow(Markup.Escape(label), Markup.Escape(value));
                }

                CliOutput.Ansi.Write(table);
                foreach (var d in explanations)
                {
                    CliOutput.Ansi.MarkupLineInterpolated($"[bold]{d.Vm}[/] {d.Source} → {d.Target} ({d.Stage}: {d.Rule})");
                    CliOutput.Ansi.MarkupLineInterpolated($"   why: {d.Trigger.Detail}");
                    CliOutput.Ansi.MarkupLineInterpolated($"   cost {d.TotalCost:F3} = {string.Join(" + ", d.Costs.Select(c => $"{c.Scorer} {c.WeightedCost:F3} ({c.RawCost:F1})"))}");
                    foreach (var a in d.Alternatives)
                    {
                        CliOutput.Ansi.MarkupLineInterpolated($"   not {a.Host}: {(a.RejectedBy is null ? $"cost {a.TotalCost:F3}" : $"rejected by {a.RejectedBy}")}");
                    }
                }

                CliOutput.Ansi.MarkupLineInterpolated($"Report written to [link]{reportFile.FullName}[/]");
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    private static ConsolidationResult Run(SimulationScenario scenario, IMigrationPolicy policy, int seed, bool quiet, CancellationToken ct,
        Action<MigrationPlan, PlanningSession>? onPlan)
    {
        var placement = policy is NoMigrationPolicy ? InitialPlacementStrategy.FirstFit : InitialPlacementStrategy.PowerAwareBestFit;
        int totalTicks = (int)((scenario.Model.DurationSeconds - scenario.Model.StartSeconds) / scenario.Model.TickIntervalSeconds);
        if (quiet || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            return ConsolidationExperiment.Run(scenario, policy, placement, seed, cancellationToken: ct, onPlan: onPlan);
        }

        ConsolidationResult? result = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"Simulating {scenario.Name}", maxValue: totalTicks);
                result = ConsolidationExperiment.Run(scenario, policy, placement, seed, sim =>
                {
                    task.Value = sim.TicksProcessed;
                    task.Description = $"t={sim.Now / 3600:F1}h  energy={sim.EnergyKwh:F1} kWh  migrations={sim.Migrations}";
                }, ct, onPlan: onPlan);
                task.Value = totalTicks;
            });
        return result!;
    }

    private static List<(string, string)> SummaryRows(SimulationScenario scenario, string policy, double? param, ConsolidationResult result)
    {
        var s = result.Summary;
        var inv = CultureInfo.InvariantCulture;
        var active = s.Ticks.Select(t => t.ActiveHosts).DefaultIfEmpty(0).ToArray();
        return
        [
            ("Scenario", scenario.Name),
            ("Policy", param is null ? policy : $"{policy} {param.Value.ToString(inv)}"),
            ("Hosts / VMs", $"{s.Hosts} / {s.Vms} ({s.VmsAtEnd} at the end)"),
            ("Energy", $"{s.EnergyKwh.ToString("F2", inv)} kWh"),
            ("Migrations", s.Migrations.ToString(inv)),
            ("SLATAH", s.Slatah.ToString("P3", inv)),
            ("PDM", s.Pdm.ToString("P4", inv)),
            ("SLAV", s.Slav.ToString("E3", inv)),
            ("ESV", s.Esv.ToString("E3", inv)),
            ("Overall SLA violation", s.OverallSlaViolation.ToString("P3", inv)),
            ("Active hosts (min / mean / max)", $"{active.Min()} / {active.Average().ToString("F1", inv)} / {active.Max()}"),
            ("Wall time", $"{result.WallSeconds.ToString("F2", inv)} s"),
        ];
    }
}
