using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>The resizing controller on disk IOPS and network limits: set ahead of a predicted peak, shrunk after it, within the policy.</summary>
public sealed class ResizingLimitsRuntimeTests
{
    private const string Policy = """
        { "policies": [ { "name": "db", "select": { "names": ["db-*"] }, "horizon": "15m",
            "diskIops":    { "growAbove": 0.8, "shrinkBelow": 0.5, "shrinkHold": "15m", "min": 100, "max": 3000, "step": 50, "cooldown": "5m" },
            "networkMbps": { "growAbove": 0.8, "shrinkBelow": 0.5, "shrinkHold": "15m", "min": 50, "max": 2000, "step": 25, "cooldown": "5m" } } ] }
        """;

    // IOPS and Mbit/s db-1 would use at minute m without limits: quiet for an hour, a ramp to a one-hour peak, back down.
    private static (double Iops, double Mbps) Demand(double m)
    {
        double f = m < 60 ? 0 : m < 120 ? (m - 60) / 60 : m < 180 ? 1 : m < 240 ? 1 - ((m - 180) / 60) : 0;
        return (200 + (1000 * f), 60 + (500 * f));
    }

    /// <summary>The simulator with db-1's disk and network replaced by the series, capped by the limits set on it.</summary>
    private sealed class SyntheticIo(IHypervisor inner, DateTimeOffset start, TimeProvider time) : DelegatingHypervisor(inner)
    {
        public override async Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default)
        {
            var samples = await base.GetVmMetricsAsync(vms, cancellationToken);
            var (iops, mbps) = Demand((time.GetUtcNow() - start).TotalMinutes);
            var c = await GetResourceControlsAsync(new VmId("db-1"), cancellationToken);
            double disk = Math.Min(iops, c.DiskIopsLimit ?? double.PositiveInfinity), net = Math.Min(mbps, c.NetworkBandwidthLimitMbps ?? double.PositiveInfinity);
            return [.. samples.Select(s => s.Vm.Value == "db-1"
                ? s with { DiskReadIops = disk * 0.7, DiskWriteIops = disk * 0.3, NetworkRxMbps = net / 2, NetworkTxMbps = net / 2 }
                : s)];
        }
    }

    private static SimulationScenario Scenario()
    {
        var hosts = Enumerable.Range(0, 2).Select(h => new HostInfo(new HostId($"h{h}"), new ResourceVector(8, 16000, 16384, 10000, 20000)) { PowerModel = SpecPowerModel.HpProLiantMl110G5 }).ToArray();
        var vms = new[] { "db-1", "web-1" }.Select(n => new SimulatedVm(
            new VmInfo(new VmId(n), new ResourceVector(2, 4000, 2048)), new DemandTrace(n, Enumerable.Repeat(0.3, 80).ToArray(), 300))).ToArray();
        return new SimulationScenario("resizing-limits", hosts, vms, SimulationModel.Realistic with { DurationSeconds = 6.5 * 3600 });
    }

    [Fact]
    public async Task Disk_and_network_limits_are_set_ahead_of_the_peak_and_shrunk_after_it()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var simulator = new SimulatorHypervisor(new SimulatorOptions { Scenario = Scenario }, clock);
        var provider = new SyntheticIo(simulator, start, clock);
        var (runtime, controller, store, audit) = await ResizingTestRuntime.StartAsync(provider, Policy, clock);
        try
        {
            var db = new VmId("db-1");
            double peakDisk = 0, peakNet = 0, shortMinutes = 0;
            for (int minute = 5; minute <= 360; minute += 5)
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(minute), ct);
                var c = await provider.GetResourceControlsAsync(db, ct);
                double disk = c.DiskIopsLimit ?? double.PositiveInfinity, net = c.NetworkBandwidthLimitMbps ?? double.PositiveInfinity;
                if (double.IsFinite(disk))
                {
                    Assert.InRange(disk, 100, 3000);
                    peakDisk = Math.Max(peakDisk, disk);
                }

                if (double.IsFinite(net))
                {
                    Assert.InRange(net, 50, 2000);
                    peakNet = Math.Max(peakNet, net);
                }

                var (iops, mbps) = Demand(minute + 2.5);
                shortMinutes += minute >= 60 && (iops > disk || mbps > net) ? 5 : 0;
            }

            var final = await provider.GetResourceControlsAsync(db, ct);
            var records = await audit.ListAsync(new AuditQuery { Vm = db });
            string trail = string.Join("\n", records.Select(r => $"{r.Timestamp:HH:mm} {r.Kind} {r.Message}"));
            Assert.True(shortMinutes <= 10, $"db-1 was limited below its demand for {shortMinutes} min of the ramp\n{trail}");
            Assert.True(peakDisk >= 1200 && peakNet >= 560, $"limits peaked at {peakDisk} IOPS, {peakNet} Mbit/s\n{trail}");
            Assert.True(final.DiskIopsLimit < 600 && final.NetworkBandwidthLimitMbps < 300, $"limits back to {final.DiskIopsLimit} IOPS, {final.NetworkBandwidthLimitMbps} Mbit/s\n{trail}");
            Assert.Null((await provider.GetResourceControlsAsync(new VmId("web-1"), ct)).DiskIopsLimit); // no policy selects it
            var planned = records.Where(r => r.Kind == AuditKind.DecisionPlanned).Select(r => r.Message).ToList();
            Assert.Contains(planned, m => m.Contains("grew db-1 diskiops from", StringComparison.Ordinal) && m.Contains($"policy db version {store.Current.Version}", StringComparison.Ordinal));
            Assert.Contains(planned, m => m.Contains("shrank db-1 networkmbps from", StringComparison.Ordinal));
            Assert.Equal(0, controller.Rollbacks);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }
}
