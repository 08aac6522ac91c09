using VmEcosystem.Cluster;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// The resizing controller against the simulator's own allocation model (demand bound by allocation, 60 s hot-plug
/// delay): no synthetic samples, the trace is the demand and what the allocation misses is counted by the simulator.
/// </summary>
public sealed class ResizingOnSimulatorTests
{
    private const string Policy = """
        { "policies": [ { "name": "web", "select": { "names": ["web-*"] }, "priority": "critical", "horizon": "15m",
            "cpu": { "growAbove": 0.8, "shrinkBelow": 0.5, "shrinkHold": "15m", "min": 0.5, "max": 4, "step": 0.25, "cooldown": "5m" } } ] }
        """;

    // web-1 starts with 4 vCPUs of 2,000 MHz; its trace (a share of that starting size) is quiet (0.1: 0.4 cores) for
    // two hours, ramps to 0.7 (2.8 cores) over an hour, holds an hour and falls back.
    private static double Share(int k) => k < 24 ? 0.1 : k < 36 ? 0.1 + (0.6 * (k - 23) / 12) : k < 48 ? 0.7 : k < 60 ? 0.7 - (0.6 * (k - 47) / 12) : 0.1;

    private static SimulationScenario Scenario()
    {
        var hosts = Enumerable.Range(0, 2).Select(h => new HostInfo(new HostId($"h{h}"), new ResourceVector(8, 16000, 16384, 10000, 1000)) { PowerModel = SpecPowerModel.HpProLiantMl110G5 }).ToArray();
        var vms = new[]
        {
            new SimulatedVm(new VmInfo(new VmId("web-1"), new ResourceVector(4, 8000, 4096)) { MaxAllocation = new ResourceVector(4, 8000, 4096) },
                new DemandTrace("web-1", [.. Enumerable.Range(0, 80).Select(Share)], 300)),
            new SimulatedVm(new VmInfo(new VmId("db-1"), new ResourceVector(2, 4000, 2048)), new DemandTrace("db-1", Enumerable.Repeat(0.3, 80).ToArray(), 300)),
        };
        return new SimulationScenario("resizing-on-simulator", hosts, vms,
            SimulationModel.Realistic with { DurationSeconds = 6.5 * 3600, DemandBoundByAllocation = true, HotPlugDelaySeconds = 60 });
    }

    [Fact]
    public async Task The_controller_shrinks_a_quiet_vm_and_grows_it_back_ahead_of_its_own_traces_peak()
    {
        var (lowest, shortfall, records) = await RunAsync(Policy);
        string trail = string.Join("\n", records.Select(r => $"{r.Timestamp:HH:mm} {r.Kind} {r.Message}"));
        Assert.True(lowest <= 1, $"web-1 was never shrunk below {lowest} cores in its quiet hours\n{trail}");
        Assert.True(shortfall.ShortVmMinutes <= 15, $"web-1 was short for {shortfall.ShortVmMinutes} VM-minutes: the grows came late\n{trail}");
        Assert.Contains(records, r => r.Kind == AuditKind.DecisionPlanned && r.Message.Contains("grew web-1 cpu", StringComparison.Ordinal));

        // The same day under a policy that grows only when the forecast passes the whole allocation (which served use
        // cannot; only the interval's width can): the simulator counts what that leaves unserved.
        var (_, late, _) = await RunAsync(Policy.Replace("\"growAbove\": 0.8", "\"growAbove\": 1.0", StringComparison.Ordinal));
        Assert.True(late.ShortVmMinutes >= shortfall.ShortVmMinutes + 10 && late.UnservedCoreHours > 0, $"{late} against {shortfall}");
    }

    private static async Task<(double Lowest, AllocationShortfall Shortfall, IReadOnlyList<AuditRecord> Records)> RunAsync(string policy)
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Scenario = Scenario }, clock);
        var (runtime, _, _, audit) = await ResizingTestRuntime.StartAsync(simulator, policy, clock);
        double lowest = double.PositiveInfinity;
        try
        {
            for (int minute = 5; minute <= 360; minute += 5)
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(minute), ct);
                var quota = (await simulator.GetResourceControlsAsync(new VmId("web-1"), ct)).CpuQuota;
                var vm = (await simulator.GetInventoryAsync(ct)).Vms.Single(v => v.Id.Value == "web-1");
                lowest = Math.Min(lowest, quota is { } q && double.IsFinite(q) ? q * vm.Allocation.CpuCores : vm.Allocation.CpuCores);
            }
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }

        var records = await audit.ListAsync(new AuditQuery { Vm = new VmId("web-1") });
        return (lowest, simulator.Summary().Allocation!, records);
    }
}
