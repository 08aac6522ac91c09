using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Experiments;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Reservations;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`benchmark reservations`: one PlanetLab day under the pre-copy model, once per reservation mode, in one process.</summary>
internal static class ReservationBenchmark
{
    public static Command Create()
    {
        var traceDir = new Option<DirectoryInfo>("--trace-dir") { Description = "Folder of PlanetLab trace files (one per VM).", Required = true };
        var modes = new Option<string>("--reservation")
        {
            Description = "Reservation modes to run, comma-separated: none, static, pid.",
            DefaultValueFactory = _ => "none,static,pid",
        };
        var hosts = new Option<int>("--hosts") { Description = "Number of hosts.", DefaultValueFactory = _ => 800 };
        hosts.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > CliLimits.MaxHosts) { r.AddError($"--hosts must be between 1 and {CliLimits.MaxHosts}."); } });
        var step = new Option<double>("--step") { Description = "Accounting and control step within migration windows, seconds.", DefaultValueFactory = _ => 5 };
        step.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (>= 0.5 and <= 300)) { r.AddError("--step must be between 0.5 and 300 seconds."); } });
        var seed = new Option<int>("--seed") { Description = "Seed of random choices.", DefaultValueFactory = _ => 42 };
        var json = new Option<bool>("--json") { Description = "One JSON object per mode, one per line." };
        var hold = new Option<double>("--hold") { Description = "Seconds a reservation outlives the switch-over.", DefaultValueFactory = _ => new ReservationOptions().HoldAfterSwitchOver.TotalSeconds };
        hold.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (>= 0 and <= 3600)) { r.AddError("--hold must be between 0 and 3600 seconds."); } });
        var scale = new Option<double>("--demand-scale") { Description = "Multiplies every VM's CPU demand (capped at its allocation): a busier day on the same traces.", DefaultValueFactory = _ => 1 };
        scale.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (> 0 and <= 10)) { r.AddError("--demand-scale must be within (0, 10]."); } });
        var variation = new Option<double>("--variation")
        {
            Description = "Scale of each VM's demand variation within a trace interval (σ read from its trace; 0: constant within the interval).",
            DefaultValueFactory = _ => 1,
        };
        variation.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (>= 0 and <= 4)) { r.AddError("--variation must be between 0 and 4."); } });
        var command = new Command("reservations", "Run one PlanetLab day (predictive planner, pre-copy migrations) once per migration-reservation mode.")
        {
            traceDir, modes, hosts, step, seed, json, hold, scale, variation,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            var selected = ParseModes(parse.GetValue(modes)!);
            var dir = parse.GetValue(traceDir)!;
            var model = SimulationModel.Realistic;
            var traces = PlanetLabTraces.ReadFolder(dir.FullName, TraceOrder.Sorted);
            if (parse.GetValue(scale) is var k && k != 1)
            {
                traces = [.. traces.Select(t => new DemandTrace(t.Name, [.. t.Cpu.ToArray().Select(u => Math.Min(1, u * k))], t.IntervalSeconds))];
            }

            var scenario = CloudSimScenario.Create(traces, model, parse.GetValue(hosts), $"planetlab:{dir.Name}");
            bool asJson = parse.GetValue(json);
            var inv = CultureInfo.InvariantCulture;
            var table = new Table().AddColumns("reservation", "migrations", "deferred", "mean s", "downtime ms", "shortfall core-s", "idle reserved core-s", "SLO s (crit/std/be)", "energy kWh", "wall s");
            foreach (var mode in selected)
            {
                ct.ThrowIfCancellationRequested();
                var policy = PredictivePolicy.Create(new PredictiveOptions());
                var r = ReservationExperiment.Run(scenario, policy, mode, new ReservationOptions { HoldAfterSwitchOver = TimeSpan.FromSeconds(parse.GetValue(hold)) }, parse.GetValue(seed), parse.GetValue(step), parse.GetValue(variation), ct);
                var w = r.Window;
                if (asJson)
                {
                    CliOutput.Line(Json.Line(new
                    {
                        reservation = mode.ToString().ToLowerInvariant(),
                        day = dir.Name,
                        hosts = r.Summary.Hosts,
                        vms = r.Summary.Vms,
                        migrations = r.Migrations,
                        deferred = r.Deferred,
                        meanMigrationSeconds = r.MeanMigrationSeconds,
                        meanDowntimeMs = r.MeanDowntimeMs,
                        demandCoreSeconds = w.DemandCoreSeconds,
                        shortfallCoreSeconds = w.ShortfallCoreSeconds,
                        reservedCoreSeconds = w.ReservedCoreSeconds,
                        idleReservedCoreSeconds = w.IdleReservedCoreSeconds,
                        sloViolationSeconds = w.SloViolationSeconds,
                        peakDestinationUtilization = w.PeakDestinationUtilization,
                        destinationSecondsAbove90 = w.DestinationSecondsAbove90,
                        bandwidthCommands = w.BandwidthCommands,
                        reservationCommands = w.ReservationCommands,
                        energyKwh = r.Summary.EnergyKwh,
                        slatah = r.Summary.Slatah,
                        stepSeconds = parse.GetValue(step),
                        variation = parse.GetValue(variation),
                        wallSeconds = r.WallSeconds,
                    }));
                }
                else
                {
                    var slo = w.SloViolationSeconds;
                    table.AddRow(mode.ToString().ToLowerInvariant(), r.Migrations.ToString(inv), r.Deferred.ToString(inv), r.MeanMigrationSeconds.ToString("F1", inv),
                        r.MeanDowntimeMs.ToString("F0", inv), w.ShortfallCoreSeconds.ToString("F0", inv), w.IdleReservedCoreSeconds.ToString("F0", inv),
                        $"{slo["critical"].ToString("F0", inv)}/{slo["standard"].ToString("F0", inv)}/{slo["bestEffort"].ToString("F0", inv)}",
                        r.Summary.EnergyKwh.ToString("F2", inv), r.WallSeconds.ToString("F1", inv));
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

    private static List<ReservationMode> ParseModes(string text)
    {
        var result = new List<ReservationMode>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result.Add(part.ToLowerInvariant() switch
            {
                "none" => ReservationMode.None,
                "static" => ReservationMode.Static,
                "pid" => ReservationMode.Pid,
                _ => throw new ArgumentException($"--reservation: '{part}' is not one of none, static, pid."),
            });
        }

        return result.Count > 0 ? result : throw new ArgumentException("--reservation needs at least one of none, static, pid.");
    }
}
