using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Simulation;

/// <summary>The simulator with allocations separate from demand: unserved demand counted per VM, hot-plug delay, the guest's memory floor.</summary>
public sealed class AllocationBoundDemandTests
{
    // One 2-vCPU VM of 2 x 1000 MHz and 2048 MiB wanting half its starting CPU (1000 MHz) and 1536 MiB all along.
    private static SimulationScenario Scenario(bool bound, double delay = 60) => new(
        "allocation",
        [new HostInfo(new HostId("h0"), new ResourceVector(8, 8000, 16384, 1000, 1000)) { PowerModel = SpecPowerModel.HpProLiantMl110G5 }],
        [new SimulatedVm(new VmInfo(new VmId("vm0"), new ResourceVector(2, 2000, 2048)) { MaxAllocation = new ResourceVector(4, 4000, 4096) },
            new DemandTrace("vm0", Enumerable.Repeat(0.5, 12).ToArray(), 300, memory: Enumerable.Repeat(0.75, 12).ToArray()))],
        SimulationModel.Default with { DemandBoundByAllocation = bound, HotPlugDelaySeconds = delay, DurationSeconds = 3600 });

    [Fact]
    public void Demand_is_a_share_of_the_starting_size_and_what_the_allocation_misses_is_unserved_per_vm()
    {
        var sim = new ClusterSimulation(Scenario(bound: true), [0]);
        Assert.True(sim.AdvanceToNextTick()); // 300.1 s
        Assert.Equal(1000, sim.VmDemandMips(0), 9);
        sim.SetCpuQuota(0, 0.25); // 500 MHz of its 2000: half its demand goes unserved from the next update
        Assert.True(sim.AdvanceToNextTick()); // 600.1
        Assert.Equal(500, sim.VmDemandMips(0), 9);
        Assert.Equal(0, sim.VmShortSeconds(0));
        Assert.True(sim.AdvanceToNextTick()); // 900.1: one 300 s interval short of 500 MHz
        Assert.Equal(300, sim.VmShortSeconds(0), 6);
        Assert.Equal(500 * 300, sim.VmUnservedMhzSeconds(0), 6);
        var summary = sim.Summary().Allocation!;
        Assert.Equal(5, summary.ShortVmMinutes, 6);
        Assert.Equal(500.0 * 300 / 1000 / 3600, summary.UnservedCoreHours, 9); // 1000 MHz per vCPU
        Assert.Equal(5, summary.ShortVmMinutesByClass["unclassified"], 6);
    }

    [Fact]
    public void A_resize_takes_effect_after_the_hot_plug_delay_and_growing_the_vm_does_not_grow_its_demand()
    {
        var sim = new ClusterSimulation(Scenario(bound: true, delay: 400), [0]);
        Assert.True(sim.AdvanceToNextTick()); // 300.1
        sim.Resize(0, 4, 2048);
        Assert.True(sim.AdvanceToNextTick()); // 600.1: not yet (due at 700.1)
        Assert.Equal(2000, sim.VmCapacityMips(0), 9);
        Assert.True(sim.AdvanceToNextTick()); // 900.1
        Assert.Equal(4000, sim.VmCapacityMips(0), 9);
        Assert.Equal(1000, sim.VmDemandMips(0), 9); // still half its starting 2000 MHz, not half of 4000

        var cloudSim = new ClusterSimulation(Scenario(bound: false, delay: 0), [0]);
        Assert.True(cloudSim.AdvanceToNextTick());
        cloudSim.Resize(0, 4, 2048);
        Assert.True(cloudSim.AdvanceToNextTick());
        Assert.Equal(2000, cloudSim.VmDemandMips(0), 9); // CloudSim's demand is a share of the current size
        Assert.Null(cloudSim.Summary().Allocation);
    }

    [Fact]
    public async Task A_guest_gives_back_only_the_memory_it_does_not_use()
    {
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Scenario = () => Scenario(bound: true, delay: 0) }, clock);
        var ct = TestContext.Current.CancellationToken;
        var vm = new VmId("vm0");
        var info = await simulator.HotPlugAsync(vm, new HotPlugRequest(MemoryMiB: 1024), ct);
        Assert.Equal(1536, info.Allocation.MemoryMiB); // the guest uses 1536 of its 2048 MiB: the balloon stops there
    }

    [Fact]
    public void Memory_below_the_guests_demand_counts_as_short()
    {
        var sim = new ClusterSimulation(Scenario(bound: true, delay: 0), [0]);
        Assert.True(sim.AdvanceToNextTick()); // 300.1
        sim.Resize(0, 2, 1024); // below the 1536 MiB it wants (the simulation itself does not stop a shrink); no delay: at once
        Assert.Equal(1024, sim.VmMemoryUsedMiB(0), 9);
        Assert.True(sim.AdvanceToNextTick()); // 600.1
        Assert.True(sim.AdvanceToNextTick()); // 900.1: two intervals short of memory
        Assert.Equal(600, sim.VmShortSeconds(0), 6);
        Assert.Equal(0, sim.VmUnservedMhzSeconds(0)); // its CPU was enough
    }
}
