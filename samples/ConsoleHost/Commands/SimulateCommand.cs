using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using VmEcosystem.Sqlite;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Hosting;
using VmEcosystem.Planning;
using VmEcosystem.Policies;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>
/// `simulate`: runs a simulated day on the built-in simulator through the library's runtime (the same loops,
/// channels, executor and audit a control plane embeds, on a virtual clock) and writes a report.
/// </summary>
internal static partial class SimulateCommand
{
    public static Command Create()
    {
        var traceDir = new Option<DirectoryInfo?>("--trace-dir") { Description = "Folder of PlanetLab trace files (default: the shipped day 20110303)." };
        var synthetic = new Option<bool>("--synthetic") { Description = "Use the seeded synthetic workload generator instead of traces." };
        var vms = new Option<int>("--vms") { Description = "Number of synthetic VMs.", DefaultValueFactory = _ => 1000 };
        var hosts = new Option<int>("--hosts") { Description = "Number of hosts.", DefaultValueFactory = _ => 800 };
        var policy = PolicyOptions.Policy("predictive");
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
        var mode = new Option<string>("--mode")
        {
            Description = "What the runtime does with plans: dry-run (plan and explain only), approve (plans wait for approval; this sample's operator approves each), automatic.",
            DefaultValueFactory = _ => "automatic",
        };
        mode.AcceptOnlyFromAmong("dry-run", "approve", "automatic");
        var perHost = new Option<int>("--max-per-host") { Description = "Most migrations running at once touching one host.", DefaultValueFactory = _ => new RuntimeOptions().MaxConcurrentMigrationsPerHost };
        var inCluster = new Option<int>("--max-in-cluster") { Description = "Most migrations running at once in the cluster.", DefaultValueFactory = _ => new RuntimeOptions().MaxConcurrentMigrationsInCluster };
        var audit = new Option<FileInfo?>("--audit") { Description = "Write the audit trail to this SQLite file (default: in memory)." };
        var resize = new Option<bool>("--resize") { Description = "Also run the day with per-VM allocations resized under policies (predictive, against the reactive baseline)." };
        var resizePolicies = new Option<FileInfo?>("--resize-policies") { Description = "Resizing policy file for --resize (default: the sample's data/resizing-policies.json)." };
        vms.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > CliLimits.MaxSimulatedVms) { r.AddError($"--vms must be between 1 and {CliLimits.MaxSimulatedVms}."); } });
        hosts.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > CliLimits.MaxHosts) { r.AddError($"--hosts must be between 1 and {CliLimits.MaxHosts}."); } });
        explain.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0 or > 10_000) { r.AddError("--explain must be between 0 and 10000."); } });

        var command = new Command("simulate", "Run a simulated day on the built-in simulator; print a summary and write an HTML report.")
        {
            traceDir, synthetic, vms, hosts, policy, param, seed, cloudSim, report, json, explain, mode, perHost, inCluster, audit, resize, resizePolicies,
        };

        // Options that contradict each other are refused, not silently ignored.
        command.Validators.Add(r =>
        {
            if (r.GetResult(synthetic) is { Implicit: false } && r.GetResult(traceDir) is { Implicit: false })
            {
                r.AddError("--synthetic and --trace-dir exclude each other: synthetic VMs are generated, traces are read.");
            }

            if (r.GetResult(vms) is { Implicit: false } && !r.GetValue(synthetic))
            {
                r.AddError("--vms applies only with --synthetic (with traces, each trace file is one VM).");
            }

            if (r.GetResult(resizePolicies) is { Implicit: false } && !r.GetValue(resize))
            {
                r.AddError("--resize-policies applies only with --resize.");
            }

            if (r.GetValue(json) && r.GetValue(explain) > 0)
            {
                r.AddError("--json and --explain exclude each other: explanations are printed as text (the audit trail keeps them as JSON).");
            }
        });
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            // Outputs are checked before the run, not found unusable after it.
            var reportFile = parse.GetValue(report)!;
            CliFiles.CheckOutput(reportFile.FullName, "--report");
            if (parse.GetValue(audit) is { } auditFile)
            {
                CliFiles.CheckAuditStore(auditFile.FullName);
            }

            string resizingFile = parse.GetValue(resizePolicies)?.FullName ?? SampleData.DefaultResizingPolicies;
            var resizing = parse.GetValue(resize) ? new PolicyParser().Parse(File.ReadAllBytes(resizingFile)).GetOrThrow() : null;
            var model = parse.GetValue(cloudSim) ? SimulationModel.CloudSimCompatible : SimulationModel.Realistic;
            SimulationScenario scenario;
            IReadOnlyList<DemandTrace> traces;
            if (parse.GetValue(synthetic))
            {
                traces = SyntheticWorkload.Generate(new SyntheticWorkloadOptions { VmCount = parse.GetValue(vms), Seed = parse.GetValue(seed) });
                scenario = CloudSimScenario.Create(traces, model, parse.GetValue(hosts), $"synthetic ({parse.GetValue(vms)} VMs, seed {parse.GetValue(seed)})");
            }
            else
            {
                string dir = parse.GetValue(traceDir)?.FullName ?? SampleData.DefaultTraceDirectory;
                traces = PlanetLabTraces.ReadFolder(dir);
                scenario = CloudSimScenario.Create(traces, model, parse.GetValue(hosts), $"PlanetLab {Path.GetFileName(dir)}");
            }

            var policies = PolicyOptions.Build(parse.GetValue(policy)!, parse.GetValue(param), model, parse.GetValue(explain) > 0 ? 3 : 0);
            if (policies.Count > 1)
            {
                if (resizing is not null || parse.GetValue(explain) > 0 || parse.GetValue(audit) is not null)
                {
                    throw new ArgumentException("several --policy values compare policies; --resize, --explain and --audit apply to one policy at a time.");
                }

                var each = new RunSetup(scenario, policies[0].Policy, parse.GetValue(seed), ParseMode(parse.GetValue(mode)!), parse.GetValue(perHost), parse.GetValue(inCluster), null);
                return await CompareAsync(scenario, policies, each, parse.GetValue(json), reportFile, ct);
            }

            var (selected, name, p) = policies[0];
            bool quiet = parse.GetValue(json);
            var explanations = new List<MigrationDecision>();
            int wanted = parse.GetValue(explain);
            var setup = new RunSetup(scenario, selected, parse.GetValue(seed), ParseMode(parse.GetValue(mode)!), parse.GetValue(perHost),
                parse.GetValue(inCluster), parse.GetValue(audit)?.FullName);
            var result = await RunAsync(setup, quiet, ct,
                wanted > 0 ? plan => { lock (explanations) { explanations.AddRange(plan.Decisions.Take(wanted - explanations.Count)); } } : null);
            var summary = result.Summary;
            var rows = SummaryRows(scenario, name, p, result);
            object? resized = null;
            if (resizing is not null)
            {
                // The same day again through the runtime with its resizing controller, on the simulator's allocation
                // model (demand bound by allocation, 60 s hot-plugs); then the trace-level comparison.
                var runtimeDay = await RunAsync(setup with { ResizingPolicyFile = resizingFile, AuditPath = null }, quiet: true, ct, null);
                resized = ResizingRows.Run(traces, resizing, rows, runtimeDay.Summary.Allocation!, runtimeDay.Status, ct);
            }

            var baseline = Baseline(scenario);
            File.WriteAllText(reportFile.FullName, HtmlReport.Render($"VmEcosystem simulation — {scenario.Name}, policy {name}", rows, summary,
                new ReportViews(baseline, result.Final, result.Decisions)));
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
                    mode = parse.GetValue(mode),
                    plans = result.Status.PlanningPasses,
                    skipped = result.Status.Migrations.Skipped,
                    failed = result.Status.Migrations.Failed,
                    meanActiveHosts = MeanActiveHosts(summary),
                    memoryBoundHosts = MemoryBoundHosts(scenario),
                    summary.MeanMigrationSeconds,
                    summary.MeanDowntimeMs,
                    summary.UnconvergedMigrations,
                    peakPerHost = result.Status.PeakConcurrency.PerHost,
                    peakInCluster = result.Status.PeakConcurrency.InCluster,
                    resizing = resized,
                    baselineEnergyKwh = baseline.EnergyKwh,
                    baselineMeanActiveHosts = MeanActiveHosts(baseline),
                    report = reportFile.FullName,
                }));
            }
            else
            {
                var table = new Table().AddColumn("Figure").AddColumn("Value");
                foreach (var (label, value) in rows)
                {
                    table.AddRow(CliText.Cell(label), CliText.Cell(value));
                }

                CliOutput.Ansi.Write(table);
                foreach (var d in explanations)
                {
                    CliOutput.Ansi.MarkupLineInterpolated($"[bold]{CliText.Plain(d.Vm.Value)}[/] {CliText.Plain(d.Source.Value)} → {CliText.Plain(d.Target.Value)} ({d.Stage}: {d.Rule})");
                    CliOutput.Ansi.MarkupLineInterpolated($"   why: {CliText.Plain(d.Trigger.Detail)}");
                    CliOutput.Ansi.MarkupLineInterpolated($"   cost {d.TotalCost:F3} = {string.Join(" + ", d.Costs.Select(c => $"{c.Scorer} {c.WeightedCost:F3} ({c.RawCost:F1})"))}");
                    foreach (var a in d.Alternatives)
                    {
                        CliOutput.Ansi.MarkupLineInterpolated($"   not {CliText.Plain(a.Host.Value)}: {(a.RejectedBy is null ? $"cost {a.TotalCost:F3}" : $"rejected by {a.RejectedBy}")}");
                    }
                }

                CliOutput.Ansi.MarkupLineInterpolated($"Report written to [link]{CliText.Plain(reportFile.FullName)}[/]");
            }

            return 0;
        }));
        return command;
    }

    private static ExecutionMode ParseMode(string mode) => mode switch
    {
        "dry-run" => ExecutionMode.DryRun,
        "approve" => ExecutionMode.Approve,
        _ => ExecutionMode.Automatic,
    };

    private sealed record RunSetup(SimulationScenario Scenario, IMigrationPolicy Policy, int Seed, ExecutionMode Mode, int MaxPerHost, int MaxInCluster, string? AuditPath)
    {
        /// <summary>With a policy file: the resizing controller runs too, on the simulator's allocation model.</summary>
        public string? ResizingPolicyFile { get; init; }
    }

    private sealed record RunResult(SimulationSummary Summary, RuntimeStatus Status, double WallSeconds)
    {
        /// <summary>The cluster at the last observation (the report's heat map).</summary>
        public ClusterView? Final { get; init; }

        /// <summary>The first planned moves with their explanations (the report's timeline).</summary>
        public IReadOnlyList<AuditRecord> Decisions { get; init; } = [];
    }

    private static async Task<RunResult> RunAsync(RunSetup setup, bool quiet, CancellationToken ct, Action<MigrationPlan>? onPlan)
    {
        var watch = Stopwatch.StartNew();
        var clock = new VirtualClock();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddVmEcosystem(b =>
        {
            b.Configure(o => o.Seed = setup.Seed);
            b.UseSimulator(o =>
            {
                o.Scenario = () => setup.ResizingPolicyFile is null
                    ? setup.Scenario
                    : new SimulationScenario(setup.Scenario.Name, setup.Scenario.Hosts, setup.Scenario.Vms,
                        setup.Scenario.Model with { DemandBoundByAllocation = true, HotPlugDelaySeconds = 60 }, setup.Scenario.Topology);
                o.Seed = setup.Seed;
                o.InitialPlacement = setup.Policy is NoMigrationPolicy ? InitialPlacementStrategy.FirstFit : InitialPlacementStrategy.PowerAwareBestFit;
            });
            b.UsePolicy(_ => setup.Policy);
            b.ConfigureRuntime(o =>
            {
                o.Mode = setup.Mode;
                // One observation and one pass per simulator tick, as the scenario's model defines them.
                o.MetricsInterval = o.PlanningInterval = TimeSpan.FromSeconds(setup.Scenario.Model.TickIntervalSeconds);
                o.PlanOnInventoryChange = false;
                o.PlanOnForecastAbove = null;
                o.MaxConcurrentMigrationsPerHost = setup.MaxPerHost;
                o.MaxConcurrentMigrationsInCluster = setup.MaxInCluster;
                o.MaxMigrationsPerWindow = 1_000_000;
            });
            if (setup.AuditPath is not null)
            {
                b.UseSqliteAudit(setup.AuditPath);
            }

            if (setup.ResizingPolicyFile is { } policies)
            {
                b.UseResizingPolicies(o =>
                {
                    o.PolicyFile = policies;
                    o.Watch = false;
                    o.Interval = TimeSpan.FromSeconds(setup.Scenario.Model.TickIntervalSeconds);
                });
            }
        });
        await using var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<EcosystemRuntime>();
        var simulation = provider.GetRequiredService<ISimulatedCluster>();
        if (onPlan is not null)
        {
            runtime.PlanMade += made => onPlan(made.Plan);
        }

        // In approve mode this sample plays the operator and approves every plan as soon as it waits.
        Func<EcosystemRuntime, CancellationToken, Task>? approver = setup.Mode == ExecutionMode.Approve ? ApproveAllAsync : null;
        SimulationSummary summary;
        RuntimeStatus? last = null;
        ClusterView? final = null;
        if (quiet || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            summary = await SimulatedRuntime.RunAsync(runtime, clock, simulation, p => { last = p.Status; final = runtime.Cluster; }, ct, approver);
        }
        else
        {
            summary = await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask($"Simulating {setup.Scenario.Name}", maxValue: 1);
                    return await SimulatedRuntime.RunAsync(runtime, clock, simulation, p =>
                    {
                        last = p.Status;
                        final = runtime.Cluster;
                        task.Value = p.Share;
                        var m = p.Status.Migrations;
                        task.Description = $"t={p.Share * 24:F1}h  plans={p.Status.PlanningPasses}  migrations={m.Started} ({m.Failed} failed, {m.Skipped} skipped)  running={p.Status.MigrationsRunning}";
                    }, ct, approver);
                });
        }

        var decisions = new List<AuditRecord>();
        await foreach (var r in runtime.Audit.QueryAsync(new AuditQuery { Kinds = [AuditKind.DecisionPlanned, AuditKind.MigrationSucceeded, AuditKind.MigrationFailed], Limit = 150 }, ct))
        {
            decisions.Add(r);
        }

        return new RunResult(summary, last ?? runtime.Status, watch.Elapsed.TotalSeconds) { Final = final, Decisions = decisions };
    }

    private static async Task ApproveAllAsync(EcosystemRuntime runtime, CancellationToken ct)
    {
        foreach (var pending in runtime.PendingPlans)
        {
            await runtime.ApproveAsync(pending.PlanId, ct);
        }
    }

    private static double MeanActiveHosts(SimulationSummary s) => s.Ticks.Select(t => (double)t.ActiveHosts).DefaultIfEmpty(0).Average();

    /// <summary>The fewest hosts (largest first) whose memory holds the memory of every VM: no placement can use fewer.</summary>
    internal static int MemoryBoundHosts(SimulationScenario scenario)
    {
        double needed = scenario.Vms.Sum(v => v.Info.Allocation.MemoryMiB);
        int hosts = 0;
        foreach (var memory in scenario.Hosts.Select(h => h.Capacity.MemoryMiB).OrderDescending())
        {
            if (needed <= 1e-9)
            {
                break;
            }

            needed -= memory;
            hosts++;
        }

        return hosts;
    }

    private static List<(string, string)> SummaryRows(SimulationScenario scenario, string policy, double? param, RunResult result)
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
            ("Memory-packing bound", $"{MemoryBoundHosts(scenario)} hosts (fewest hosts whose memory holds every VM's)"),
            ("Runtime", $"mode {result.Status.Mode}, {result.Status.PlanningPasses} planning passes, {result.Status.Migrations.Skipped} decisions skipped by limits, {result.Status.Migrations.Failed} failed, peak {result.Status.PeakConcurrency.PerHost} per host / {result.Status.PeakConcurrency.InCluster} in the cluster"),
            ("Wall time", $"{result.WallSeconds.ToString("F2", inv)} s"),
        ];
    }
}
