using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VmEcosystem.Experiments;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Planning;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`benchmark consolidation`: CloudSim's PlanetLab experiment, several policies side by side on one trace.</summary>
internal static class ConsolidationBenchmark
{
    public static Command Create()
    {
        var traceDir = new Option<DirectoryInfo>("--trace-dir") { Description = "Folder of PlanetLab trace files (one per VM).", Required = true };
        var policy = PolicyOptions.Policy("lr-mmt");
        var param = PolicyOptions.Param();
        var order = new Option<string>("--vm-order") { Description = "Trace-to-VM order: sorted (ordinal file names, reproducible) or fs.", DefaultValueFactory = _ => "sorted" };
        order.AcceptOnlyFromAmong("sorted", "fs");
        var hosts = new Option<int>("--hosts") { Description = "Number of hosts.", DefaultValueFactory = _ => 800 };
        hosts.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > CliLimits.MaxHosts) { r.AddError($"--hosts must be between 1 and {CliLimits.MaxHosts}."); } });
        var seed = new Option<int>("--seed") { Description = "Seed of random choices.", DefaultValueFactory = _ => 42 };
        var json = new Option<bool>("--json") { Description = "One JSON object per policy, one per line." };
        var forecast = new Option<string>("--forecast") { Description = "Forecasting method of the planning session (what the predictive policy plans with).", DefaultValueFactory = _ => new PlanningSessionOptions().ForecastMethod };
        forecast.AcceptOnlyFromAmong([.. PlanningSession.Methods]);
        var classMethods = new Option<string?>("--class-methods")
        {
            Description = "With --forecast class: the method per workload class, e.g. idle=median24,steady=ses,bursty=median24 (default: the session's).",
        };
        var command = new Command("consolidation", "Run CloudSim's PlanetLab consolidation experiment (CloudSim 3.0.3's model) for one or more policies.")
        {
            traceDir, policy, param, order, hosts, seed, json, forecast, classMethods,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            var model = SimulationModel.CloudSimCompatible;
            var dir = parse.GetValue(traceDir)!;
            var traceOrder = parse.GetValue(order) == "fs" ? TraceOrder.FileSystem : TraceOrder.Sorted;
            var traces = PlanetLabTraces.ReadFolder(dir.FullName, traceOrder);
            var scenario = CloudSimScenario.Create(traces, model, parse.GetValue(hosts), $"planetlab:{dir.Name}");
            var policies = PolicyOptions.Build(parse.GetValue(policy)!, parse.GetValue(param), model);
            bool asJson = parse.GetValue(json);
            var table = new Table().AddColumns("policy", "param", "energy kWh", "migrations", "SLATAH", "PDM", "SLAV", "ESV", "wall s");
            foreach (var (p, name, value) in policies)
            {
                ct.ThrowIfCancellationRequested();
                var placement = p is NoMigrationPolicy ? InitialPlacementStrategy.FirstFit : InitialPlacementStrategy.PowerAwareBestFit;
                var session = new PlanningSessionOptions { Tick = TimeSpan.FromSeconds(model.TickIntervalSeconds), ForecastMethod = parse.GetValue(forecast)! };
                if (parse.GetValue(classMethods) is { } map)
                {
                    session = session with { ForecastMethodByClass = ParseClassMethods(map) };
                }

                var result = ConsolidationExperiment.Run(scenario, p, placement, parse.GetValue(seed), cancellationToken: ct, sessionOptions: session);
                var s = result.Summary;
                if (asJson)
                {
                    CliOutput.Line(Json.Line(new
                    {
                        policy = name,
                        param = value,
                        forecast = session.ForecastMethod,
                        classMethods = session.ForecastMethod == "class" ? session.ForecastMethodByClass : null,
                        day = dir.Name,
                        vmOrder = parse.GetValue(order),
                        hosts = s.Hosts,
                        vms = s.Vms,
                        energyKwh = s.EnergyKwh,
                        migrations = s.Migrations,
                        slatah = s.Slatah,
                        pdm = s.Pdm,
                        slav = s.Slav,
                        esv = s.Esv,
                        overallSlaViolation = s.OverallSlaViolation,
                        vmsAtEnd = s.VmsAtEnd,
                        wallSeconds = result.WallSeconds,
                        planningSeconds = result.PlanningSeconds,
                    }));
                }
                else
                {
                    var inv = CultureInfo.InvariantCulture;
                    table.AddRow(CliText.Cell(name), value?.ToString(inv) ?? "-", s.EnergyKwh.ToString("F2", inv), s.Migrations.ToString(inv),
                        s.Slatah.ToString("F5", inv), s.Pdm.ToString("F6", inv), s.Slav.ToString("E3", inv), s.Esv.ToString("E3", inv),
                        result.WallSeconds.ToString("F2", inv));
                }
            }

            if (!asJson)
            {
                CliOutput.Ansi.Write(table);
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    // "idle=median24,steady=ses": a bad entry is a CliException naming the option (the session validates the methods).
    private static Dictionary<string, string> ParseClassMethods(string text)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == part.Length - 1)
            {
                throw new ArgumentException($"--class-methods: '{part}' is not class=method.");
            }

            map[part[..eq]] = part[(eq + 1)..];
        }

        return map;
    }
}
