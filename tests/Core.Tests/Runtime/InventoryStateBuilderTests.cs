using VmEcosystem.Cluster;
using VmEcosystem.Planning;
using VmEcosystem.Runtime;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// The observation path every provider without <c>IPlanningStateSource</c> takes (libvirt, vSphere, an
/// application's own): inventory and metric samples into a planning state.
/// </summary>
public sealed class InventoryStateBuilderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static InventorySnapshot Inventory(HostState secondHost = HostState.Online, VmPowerState secondVm = VmPowerState.Running) => new(
        [
            new HostInfo(new HostId("h1"), new ResourceVector(4, 8000, 16384, 1000, 10000)),
            new HostInfo(new HostId("h2"), new ResourceVector(8, 16000, 32768, 10000, 10000)) { State = secondHost },
        ],
        [
            new VmInfo(new VmId("a"), new ResourceVector(2, 4000, 4096)) { Priority = 3 },
            new VmInfo(new VmId("b"), new ResourceVector(1, 2000, 2048)) { State = secondVm },
            new VmInfo(new VmId("c"), new ResourceVector(1, 2000, 1024)),
        ],
        [new Placement(new VmId("a"), new HostId("h1")), new Placement(new VmId("b"), new HostId("h1")), new Placement(new VmId("c"), new HostId("h2"))],
        T0);

    private static VmMetricSample Sample(string vm, double mhz) => new() { Vm = new VmId(vm), Timestamp = T0, CpuMhz = mhz };

    [Fact]
    public void Hosts_vms_placements_and_demand_come_from_inventory_and_samples()
    {
        var state = new PlanningState();
        new InventoryStateBuilder().Build(state, Inventory(), [Sample("a", 3000), Sample("b", 500)],
            [new HostMetricSample { Host = new HostId("h1"), Timestamp = T0, CpuUtilization = 0.6 }], new Dictionary<VmId, HostId>());

        Assert.Equal(2, state.HostCount);
        Assert.Equal(3, state.VmCount);
        Assert.Equal(8000, state.HostCapacityMips(0));
        Assert.Equal(16384, state.HostMemoryMiB[0]);
        Assert.Equal(1000, state.HostBandwidthMbps[0]);
        int a = state.IndexOf(new VmId("a")), b = state.IndexOf(new VmId("b")), c = state.IndexOf(new VmId("c"));
        Assert.Equal(0, state.HostOf(a));
        Assert.Equal(0, state.HostOf(b));
        Assert.Equal(1, state.HostOf(c));
        Assert.Equal(3000, state.RequestedMips(a));
        Assert.Equal(0, state.RequestedMips(c)); // no sample: no demand seen
        Assert.Equal(3, state.VmPriority[a]);
        Assert.Equal(4096, state.VmMemory(a));
        Assert.Equal([a, b], state.VmsOn(0));
        Assert.Equal(0.6, state.HostUtilizationAtUpdate(0));   // the host's own sample wins
        Assert.Equal(0, state.HostUtilizationAtUpdate(1));     // otherwise requested / capacity
        Assert.Equal(8000 - 3500, state.HostAvailableMips[0]);
        Assert.False(state.IsMigrating(a));
        Assert.True(state.AcceptsVms(1));
    }

    [Fact]
    public void Memory_network_disk_and_dirty_rate_reach_the_planning_state()
    {
        var state = new PlanningState();
        var busy = Sample("a", 3000) with
        {
            MemoryMiB = 3500, NetworkRxMbps = 300, NetworkTxMbps = 200, DiskReadIops = 700, DiskWriteIops = 300, DirtyMiBPerSecond = 40,
        };
        new InventoryStateBuilder().Build(state, Inventory(), [busy, Sample("b", 500)], [], new Dictionary<VmId, HostId>());
        int a = state.IndexOf(new VmId("a")), b = state.IndexOf(new VmId("b")), c = state.IndexOf(new VmId("c"));
        Assert.Equal((3500.0, 500.0, 1000.0, 40.0), (state.MemoryUsedMiB(a), state.NetworkMbps(a), state.DiskIops(a), state.DirtyMiBps(a)));
        Assert.Equal((0.0, 0.0), (state.NetworkMbps(b), state.NetworkMbps(c))); // not reported: 0
        Assert.Equal(10000, state.DiskCapacityIops(0));
        Assert.Equal(500, state.NetworkUsedOn(0));
        Assert.Equal(1000, state.DiskIopsOn(0));

        // The same state object reused for the next observation starts clean for a VM that stopped reporting.
        new InventoryStateBuilder().Build(state, Inventory(), [Sample("a", 3000)], [], new Dictionary<VmId, HostId>());
        Assert.Equal(0, state.NetworkMbps(state.IndexOf(new VmId("a"))));
    }

    [Fact]
    public void Offline_hosts_take_no_vms_and_stopped_vms_are_inactive()
    {
        var state = new PlanningState();
        new InventoryStateBuilder().Build(state, Inventory(HostState.Maintenance, VmPowerState.Stopped), [], [], new Dictionary<VmId, HostId>());
        Assert.False(state.AcceptsVms(1));
        Assert.False(state.IsActive(state.IndexOf(new VmId("b"))));
        Assert.True(state.IsActive(state.IndexOf(new VmId("a"))));
    }

    [Fact]
    public void A_vm_in_flight_is_listed_on_its_source_and_its_target()
    {
        var state = new PlanningState();
        new InventoryStateBuilder().Build(state, Inventory(), [Sample("a", 1000)], [], new Dictionary<VmId, HostId> { [new VmId("a")] = new HostId("h2") });
        int a = state.IndexOf(new VmId("a"));
        Assert.True(state.IsMigrating(a));
        Assert.Equal(0, state.HostOf(a));
        Assert.Contains(a, state.VmsOn(0));
        Assert.Contains(a, state.VmsOn(1));
    }

    [Fact]
    public void Cpu_history_is_kept_per_vm_newest_first_and_bounded()
    {
        var builder = new InventoryStateBuilder(historyLength: 3);
        var state = new PlanningState();
        foreach (double mhz in new[] { 400.0, 800, 1200, 1600 })
        {
            builder.Build(state, Inventory(), [Sample("a", mhz)], [], new Dictionary<VmId, HostId>());
        }

        int a = state.IndexOf(new VmId("a"));
        Assert.Equal([0.4, 0.3, 0.2], state.History(a).ToArray()); // utilisation of its 4000 MHz, newest first, three kept
        Assert.Equal([0.0, 0.0, 0.0], state.History(state.IndexOf(new VmId("c"))).ToArray());
    }
}
