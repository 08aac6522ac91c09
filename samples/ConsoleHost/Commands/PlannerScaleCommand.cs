using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using VmEcosystem.Cluster;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`benchmark planner-scale`: predictive planning passes on a large synthetic cluster.</summary>
internal static class PlannerScaleCommand
{
    public static Command Create()
    {
        var hosts = new Option<int>("--hosts") { Description = "Number of hosts.", DefaultValueFactory = _ => 10_000 };
        var vms = new Option<int>("--vms") { Description = "Number of VMs.", DefaultValueFactory = _ => 100_000 };
        var passes = new Option<int>("--passes") { Description = "Timed planning passes (the median is reported).", DefaultValueFactory = _ => 7 };
        var seed = new Option<int>("--seed") { Description = "Seed of the synthetic cluster.", DefaultValueFactory = _ => 42 };
        var json = new Option<bool>("--json") { Description = "One JSON object." };
        hosts.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 2 or > CliLimits.MaxHosts) { r.AddError($"--hosts must be between 2 and {CliLimits.MaxHosts}."); } });
        vms.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > CliLimits.MaxVms) { r.AddError($"--vms must be between 1 and {CliLimits.MaxVms}."); } });
        passes.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--passes must be at least 1."); } });
        var command = new Command("planner-scale", "Time predictive planning passes on a synthetic cluster (plans are applied between passes).")
        {
            hosts, vms, passes, seed, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            var r = Run(parse.GetValue(hosts), parse.GetValue(vms), parse.GetValue(passes), parse.GetValue(seed), ct);
            if (parse.GetValue(json))
            {
                CliOutput.Line(Json.Line(r));
            }
            else
            {
                var t = new Table().AddColumns("hosts", "vms", "pass s (median)", "pass s (max)", "prepare s (median)", "peak MB", "migrations planned (median pass)", "total");
                var inv = CultureInfo.InvariantCulture;
                t.AddRow(r.Hosts.ToString(inv), r.Vms.ToString(inv), r.PassSeconds.ToString("F3", inv), r.PassSecondsMax.ToString("F3", inv), r.PrepareSeconds.ToString("F3", inv),
                    r.PeakMemoryMb.ToString("F0", inv), r.MigrationsPlanned.ToString(inv), r.MigrationsPlannedTotal.ToString(inv));
                CliOutput.Ansi.Write(t);
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    internal sealed record Result(int Hosts, int Vms, int Passes, double PassSeconds, double PassSecondsMax, double PrepareSeconds, double PeakMemoryMb,
        int MigrationsPlanned, int MigrationsPlannedTotal, double[] PassSecondsAll, int[] MigrationsPerPass);

    internal static Result Run(int hostCount, int vmCount, int passes, int seed, CancellationToken ct)
    {
        const int warmup = 24;
        var random = new Random(seed);
        var traces = SyntheticWorkload.Generate(new SyntheticWorkloadOptions { VmCount = vmCount, Samples = warmup + passes + 1, Seed = seed });
        var state = new PlanningState();
        state.Reset(hostCount, vmCount, 1);
        var hostIds = new HostId[hostCount];
        for (int h = 0; h < hostCount; h++)
        {
            bool big = h % 2 == 1;
            hostIds[h] = new HostId($"h{h:D6}");
            var location = new TopologyLocation($"zone-{h / 5000}", $"rack-{h / 40:D4}");
            state.SetHost(h, hostIds[h], big ? 48 * 2400 : 32 * 2600, big ? 48 : 32, big ? 393_216 : 262_144, 25_000,
                big ? new LinearPowerModel(200, 500) : new LinearPowerModel(120, 350), true, location);
        }

        var vmMips = new double[vmCount];
        var vmPes = new int[vmCount];
        var vmMemory = new double[vmCount];
        var hostOf = new int[vmCount];
        int[] sizes = [1, 2, 4, 8];
        for (int v = 0; v < vmCount; v++)
        {
            vmPes[v] = sizes[random.Next(sizes.Length)];
            vmMips[v] = vmPes[v] * 2400;
            vmMemory[v] = vmPes[v] * 2048;
            hostOf[v] = v % hostCount;
        }

        var session = new PlanningSession(new PlanningSessionOptions { ForecastMethod = "median24" });
        var context = new PlanningContext(new Random(seed));
        var policy = PredictivePolicy.Create(new PredictiveOptions { AlternativesToExplain = 0, MaxMigrationsInCluster = 2_000, MaxMigrationsPerHost = 16, ExhaustiveSearchBelowHosts = 0 });
        var epoch = DateTimeOffset.UnixEpoch;
        var passTimes = new List<double>();
        var prepareTimes = new List<double>();
        var planned = new List<int>();
        for (int t = 0; t < warmup + passes; t++)
        {
            ct.ThrowIfCancellationRequested();
            Capture(state, traces, t, vmMips, vmPes, vmMemory, hostOf);
            var now = epoch + TimeSpan.FromMinutes(5 * t);
            var prepare = Stopwatch.StartNew();
            session.Prepare(state, context, now);
            prepare.Stop();
            if (t < warmup)
            {
                continue;
            }

            var watch = Stopwatch.StartNew();
            var plan = policy.Plan(state, context);
            watch.Stop();
            passTimes.Add(watch.Elapsed.TotalSeconds);
            prepareTimes.Add(prepare.Elapsed.TotalSeconds);
            planned.Add(plan.Decisions.Count);
            foreach (var d in plan.Decisions)
            {
                // Migrations complete instantly between passes here: this measures planning, not moving.
                session.History.Record(d.Vm, d.Source, d.Target, now);
                hostOf[d.VmIndex] = d.TargetIndex;
            }
        }

        double Median(List<double> x) => x.Order().ElementAt(x.Count / 2);
        return new Result(hostCount, vmCount, passes, Median(passTimes), passTimes.Max(), Median(prepareTimes),
            Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0),
            planned.Order().ElementAt(planned.Count / 2), planned.Sum(), [.. passTimes], [.. planned]);
    }

    private static void Capture(PlanningState state, IReadOnlyList<DemandTrace> traces, int t, double[] mips, int[] pes, double[] memory, int[] hostOf)
    {
        int hosts = state.HostCount;
        state.ClearPlacements();

        double time = t * 300.0;
        for (int v = 0; v < mips.Length; v++)
        {
            double demand = traces[v].CpuAt(time) * mips[v];
            state.SetVm(v, new VmId($"v{v:D7}"), mips[v], pes[v], memory[v], demand, demand, hostOf[v], -1, true);
            state.AppendToHost(hostOf[v], v);
        }

        for (int h = 0; h < hosts; h++)
        {
            state.SetHostState(h, 0, 0, false);
        }
    }
}
