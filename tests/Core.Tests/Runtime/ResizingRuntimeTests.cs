using System.Text;
using Microsoft.Extensions.Options;
using VmEcosystem.Adjustment;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Policies;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>The runtime's resizing controller on the simulator, fed a synthetic demand series: ahead of the peak, within the policy, rolled back when an apply fails halfway.</summary>
public sealed class ResizingRuntimeTests
{
    private const string Policy = """
        { "policies": [ { "name": "web", "select": { "names": ["web-*"] }, "priority": "critical", "horizon": "15m",
            "cpu":    { "growAbove": 0.8, "shrinkBelow": 0.5, "shrinkHold": "15m", "min": 1, "max": 6, "step": 0.25, "cooldown": "5m" },
            "memory": { "growAbove": 0.85, "shrinkBelow": 0.6, "shrinkHold": "15m", "min": 1024, "max": 8192, "step": 256, "cooldown": "5m" } } ] }
        """;

    private const double CoreMhz = 2000;

    // Cores and MiB web-1 uses at minute m: quiet for an hour, a ramp to a two-hour peak, back down.
    private static (double Cores, double MemoryMiB) Demand(double m) =>
        m < 60 ? (1, 1200) : m < 120 ? (1 + (3 * (m - 60) / 60), 1200 + (2300 * (m - 60) / 60)) : m < 180 ? (4, 3500)
        : m < 240 ? (4 - (3 * (m - 180) / 60), 3500 - (2300 * (m - 180) / 60)) : (1, 1200);

    /// <summary>The simulator, with web-1's samples replaced by the synthetic series (the simulator scales demand with the allocation).</summary>
    private class SyntheticDemand(IHypervisor inner, DateTimeOffset start, TimeProvider time) : DelegatingHypervisor(inner)
    {
        public override async Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default)
        {
            var samples = await base.GetVmMetricsAsync(vms, cancellationToken);
            var (cores, memory) = Demand((time.GetUtcNow() - start).TotalMinutes);
            return [.. samples.Select(s => s.Vm.Value == "web-1" ? s with { CpuMhz = cores * CoreMhz, MemoryMiB = memory } : s)];
        }
    }

    /// <summary>web-1's application answers in 50 ms with its first 2 GiB and in 100 ms with less (it swaps).</summary>
    private sealed class SlowerWhenShrunk(IHypervisor inner, DateTimeOffset start, TimeProvider time) : SyntheticDemand(inner, start, time)
    {
        public override async Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default)
        {
            var samples = await base.GetVmMetricsAsync(vms, cancellationToken);
            double memory = (await GetInventoryAsync(cancellationToken)).Vms.Single(v => v.Id.Value == "web-1").Allocation.MemoryMiB;
            return [.. samples.Select(s => s.Vm.Value == "web-1" ? s with { Application = new ApplicationMetrics(memory >= 2048 ? 50 : 100, 1000) } : s)];
        }
    }

    /// <summary>web-1's application always answers in 300 ms, whatever it is given.</summary>
    private sealed class AlwaysSlow(IHypervisor inner, DateTimeOffset start, TimeProvider time) : SyntheticDemand(inner, start, time)
    {
        public override async Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default) =>
            [.. (await base.GetVmMetricsAsync(vms, cancellationToken)).Select(s => s.Vm.Value == "web-1" ? s with { Application = new ApplicationMetrics(300, 1000) } : s)];
    }

    /// <summary>web-1's application reports a transaction rate rising 5/s every minute from 100/s, whatever its CPU use.</summary>
    private sealed class RisingThroughput(IHypervisor inner, DateTimeOffset start, TimeProvider clock, TimeProvider now) : SyntheticDemand(inner, start, clock)
    {
        private readonly DateTimeOffset _from = now.GetUtcNow();

        public override async Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default)
        {
            double minutes = (now.GetUtcNow() - _from).TotalMinutes;
            return [.. (await base.GetVmMetricsAsync(vms, cancellationToken)).Select(s => s.Vm.Value == "web-1" ? s with { Application = new ApplicationMetrics(20, 100 + (5 * minutes)) } : s)];
        }
    }

    /// <summary>Hot-plug works; setting a CPU quota fails: a grow past a vCPU boundary lands halfway.</summary>
    private sealed class QuotaFails(IHypervisor inner, DateTimeOffset start, TimeProvider time) : SyntheticDemand(inner, start, time)
    {
        public override Task<ResourceControls> SetResourceControlsAsync(VmId vm, ResourceControls controls, CancellationToken cancellationToken = default) =>
            throw new HypervisorException(HypervisorErrorKind.Unavailable, "cgroup write failed", "test", "SetResourceControls");
    }

    private sealed class Services(Func<EcosystemRuntime?> runtime) : IServiceProvider
    {
        public object? GetService(Type serviceType) => serviceType == typeof(IEcosystemControl) ? runtime() : null;
    }

    private static SimulationScenario Scenario()
    {
        var hosts = Enumerable.Range(0, 2).Select(h => new HostInfo(new HostId($"h{h}"), new ResourceVector(8, 8 * CoreMhz, 16384, 10000, 1000)) { PowerModel = SpecPowerModel.HpProLiantMl110G5 }).ToArray();
        var vms = new[] { "web-1", "db-1" }.Select(n => new SimulatedVm(
            new VmInfo(new VmId(n), new ResourceVector(2, 2 * CoreMhz, 2048)) { MaxAllocation = new ResourceVector(6, 6 * CoreMhz, 8192) },
            new DemandTrace(n, Enumerable.Repeat(0.3, 80).ToArray(), 300))).ToArray();
        return new SimulationScenario("resizing", hosts, vms, SimulationModel.Realistic with { DurationSeconds = 6.5 * 3600 });
    }

    private static async Task<(EcosystemRuntime Runtime, ResizingController Controller, ResizePolicyStore Store, InMemoryAuditStore Audit, IHypervisor Provider)> StartAsync(
        VirtualClock clock, Func<IHypervisor, DateTimeOffset, IHypervisor> wrap, CancellationToken ct)
    {
        var simulator = new SimulatorHypervisor(new SimulatorOptions { Scenario = Scenario }, clock);
        var provider = wrap(simulator, clock.GetUtcNow());
        var store = new ResizePolicyStore(clock);
        Assert.True(store.Load(Encoding.UTF8.GetBytes(Policy), "test").Success);
        EcosystemRuntime? runtime = null;
        var controller = new ResizingController(store, Options.Create(new ResizingOptions { PolicyFile = "test", Interval = TimeSpan.FromMinutes(5) }), new Services(() => runtime));
        var audit = new InMemoryAuditStore();
        var options = new RuntimeOptions { Mode = ExecutionMode.Automatic, PlanOnForecastAbove = null };
        options.Modes["migrate"] = ExecutionMode.DryRun;
        runtime = new EcosystemRuntime(provider, PredictivePolicy.Create(), Options.Create(options), clock,
            new RuntimeComponents { Audit = audit, Controllers = [controller] });
        await runtime.StartAsync(ct);
        return (runtime, controller, store, audit, provider);
    }

    [Fact]
    public async Task Grows_cpu_and_memory_ahead_of_the_forecast_peak_within_the_policy_and_shrinks_back_after_it()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var (runtime, controller, store, audit, provider) = await StartAsync(clock, (s, t0) => new SyntheticDemand(s, t0, clock), ct);
        try
        {
            var web = new VmId("web-1");
            double peakMemory = 0, shortMinutes = 0;
            for (int minute = 5; minute <= 360; minute += 5)
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(minute), ct);
                var vm = (await provider.GetInventoryAsync(ct)).Vms.Single(v => v.Id == web);
                var quota = (await provider.GetResourceControlsAsync(web, ct)).CpuQuota;
                double cores = quota is { } q && double.IsFinite(q) ? q * vm.Allocation.CpuCores : vm.Allocation.CpuCores;
                Assert.InRange(cores, 1, 6);
                Assert.InRange(vm.Allocation.MemoryMiB, 1024, 8192);
                peakMemory = Math.Max(peakMemory, vm.Allocation.MemoryMiB);
                var (demandCores, demandMemory) = Demand(minute + 2.5); // the middle of the next five minutes
                if (minute >= 60 && (demandCores > cores || demandMemory > vm.Allocation.MemoryMiB))
                {
                    shortMinutes += 5;
                }
            }

            var final = (await provider.GetInventoryAsync(ct)).Vms.Single(v => v.Id == web);
            Assert.True(shortMinutes <= 10, $"web-1 was short for {shortMinutes} min of the ramp: the grows came late");
            Assert.True(peakMemory >= 3584, $"memory peaked at {peakMemory} MiB");
            Assert.True(final.Allocation.MemoryMiB < peakMemory && final.Allocation.MemoryMiB >= 1200 * 1.05, $"memory back to {final.Allocation.MemoryMiB} MiB");
            Assert.Equal(2, (await provider.GetInventoryAsync(ct)).Vms.Single(v => v.Id.Value == "db-1").Allocation.CpuCores); // no policy selects it

            var records = await audit.ListAsync(new AuditQuery { Controller = ResizingController.ControllerName });
            Assert.Contains(records, r => r.Kind == AuditKind.PolicyVersionInUse && r.Message.Contains(store.Current.Version, StringComparison.Ordinal));
            var planned = records.Where(r => r.Kind == AuditKind.DecisionPlanned && r.Vm == web).Select(r => r.Message).ToList();
            Assert.Contains(planned, m => m.Contains("grew web-1 cpu from 2 to", StringComparison.Ordinal) && m.Contains("15-min forecast upper bound", StringComparison.Ordinal)
                && m.Contains($"policy web version {store.Current.Version}", StringComparison.Ordinal));
            Assert.Contains(planned, m => m.Contains("shrank web-1 memory", StringComparison.Ordinal));
            Assert.True(runtime.Status.Actions["hot-plug"].Succeeded >= 2);
            Assert.True(controller.Rollbacks == 0, string.Join("\n", (await audit.ListAsync(new AuditQuery { Vm = web })).Select(r => $"{r.Timestamp:HH:mm} {r.Kind} {r.PlanId} {r.Message}")));
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }

    [Fact]
    public async Task A_shrink_after_which_the_application_answers_slower_is_reverted_and_not_repeated()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var (runtime, controller, _, audit, provider) = await StartAsync(clock, (s, t0) => new SlowerWhenShrunk(s, t0, clock), ct);
        try
        {
            // Quiet for the first hour: web-1 uses 1,200 of its 2,048 MiB, under the policy's 60% for 15 min.
            await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(55), ct);
            var records = await audit.ListAsync(new AuditQuery { Vm = new VmId("web-1") });
            string trail = string.Join("\n", records.Select(r => $"{r.Timestamp:HH:mm} {r.Kind} {r.Message}"));
            Assert.Contains(records, r => r.Kind == AuditKind.DecisionPlanned && r.Message.Contains("shrank web-1 memory from 2048", StringComparison.Ordinal));
            var revert = records.Where(r => r.Kind == AuditKind.DecisionPlanned && r.Message.Contains("rolled back web-1", StringComparison.Ordinal)).ToList();
            Assert.True(revert.Count == 1, trail);
            Assert.Contains("application latency 100 ms against 50 ms before", revert[0].Message, StringComparison.Ordinal);
            Assert.Equal(1, controller.Rollbacks);
            Assert.Equal(2048, (await provider.GetInventoryAsync(ct)).Vms.Single(v => v.Id.Value == "web-1").Allocation.MemoryMiB);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }

    [Fact]
    public async Task Application_latency_above_the_policys_limit_grows_cpu_and_keeps_it_from_shrinking()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var simulator = new SimulatorHypervisor(new SimulatorOptions { Scenario = Scenario }, clock);
        string policy = Policy.Replace("\"horizon\": \"15m\",", "\"horizon\": \"15m\", \"latencyAboveMs\": 200,", StringComparison.Ordinal);
        var (runtime, _, store, audit) = await ResizingTestRuntime.StartAsync(new AlwaysSlow(simulator, start, clock), policy, clock);
        try
        {
            // The first hour is quiet (1 core of 2 used): by use alone CPU would stay; latency asks for more.
            await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(50), ct);
            var planned = (await audit.ListAsync(new AuditQuery { Vm = new VmId("web-1") })).Where(r => r.Kind == AuditKind.DecisionPlanned).Select(r => r.Message).ToList();
            Assert.Contains(planned, m => m.Contains("grew web-1 cpu from 2 to 2.25: 15-min forecast upper bound of application latency 300 ms > 200 ms", StringComparison.Ordinal)
                && m.Contains($"version {store.Current.Version}", StringComparison.Ordinal));
            Assert.DoesNotContain(planned, m => m.Contains("shrank web-1 cpu", StringComparison.Ordinal));
            var vm = (await simulator.GetInventoryAsync(ct)).Vms.Single(v => v.Id.Value == "web-1");
            Assert.InRange(vm.Allocation.CpuCores, 3, 6); // grown step by step, never past the policy's max
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }

    [Fact]
    public async Task Application_throughput_sizes_cpu_at_the_policys_rate_per_core()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var simulator = new SimulatorHypervisor(new SimulatorOptions { Scenario = Scenario }, clock);
        string policy = Policy.Replace("\"horizon\": \"15m\",", "\"horizon\": \"15m\", \"throughputPerCore\": 100,", StringComparison.Ordinal);
        var (runtime, _, store, audit) = await ResizingTestRuntime.StartAsync(new RisingThroughput(simulator, start, clock, clock), policy, clock);
        try
        {
            // 1 core of 2 used the first hour: by use alone CPU would stay; 100/s per core and a rate passing 300/s need more.
            await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(50), ct);
            var planned = (await audit.ListAsync(new AuditQuery { Vm = new VmId("web-1") })).Where(r => r.Kind == AuditKind.DecisionPlanned).Select(r => r.Message).ToList();
            Assert.Contains(planned, m => m.Contains("grew web-1 cpu", StringComparison.Ordinal)
                && m.Contains("forecast upper bound of application throughput", StringComparison.Ordinal) && m.Contains("at 100/s per core needs", StringComparison.Ordinal)
                && m.Contains($"version {store.Current.Version}", StringComparison.Ordinal));
            Assert.DoesNotContain(planned, m => m.Contains("shrank web-1 cpu", StringComparison.Ordinal));
            var vm = (await simulator.GetInventoryAsync(ct)).Vms.Single(v => v.Id.Value == "web-1");
            Assert.InRange(vm.Allocation.CpuCores, 4, 6); // 350/s by minute 50, and its forecast above it: 4 vCPUs or more, never past the max
            var db = (await simulator.GetInventoryAsync(ct)).Vms.Single(v => v.Id.Value == "db-1");
            Assert.True(db.Allocation.CpuCores <= 2); // no throughput reported: sized on its use alone
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }

    [Fact]
    public async Task A_grow_that_lands_halfway_is_rolled_back_to_the_sizes_before_it()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var (runtime, controller, _, audit, provider) = await StartAsync(clock, (s, t0) => new QuotaFails(s, t0, clock), ct);
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(150), ct);
            var records = await audit.ListAsync(new AuditQuery { Vm = new VmId("web-1") });
            Assert.True(controller.Rollbacks >= 1, string.Join("\n", records.Select(r => $"{r.Timestamp:HH:mm} {r.Kind} {r.PlanId} {r.Message}")));
            Assert.Contains(records, r => r.Kind == AuditKind.ActionFailed && r.Message.Contains("cgroup write failed", StringComparison.Ordinal));
            var rollback = records.First(r => r.Kind == AuditKind.DecisionPlanned && r.Message.Contains("rolled back web-1", StringComparison.Ordinal));
            Assert.Contains("partial apply", rollback.Message, StringComparison.Ordinal);
            var after = records.Where(r => r.Sequence > rollback.Sequence && r.Kind == AuditKind.ActionSucceeded && r.PlanId == rollback.PlanId).ToList();
            Assert.True(after.Count > 0, string.Join("\n", records.Select(r => $"{r.Timestamp:HH:mm} {r.Kind} {r.PlanId} {r.Message}"))); // the hot-plug back went through
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }
}
