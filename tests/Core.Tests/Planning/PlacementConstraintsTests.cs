using VmEcosystem.Cluster;
using VmEcosystem.Planning;

namespace VmEcosystem.Tests.Planning;

/// <summary>Placement rules see VMs in flight on their source and on their destination (safety defect 1).</summary>
public sealed class PlacementConstraintsTests
{
    // Three hosts: h0 and h1 in rack r0, h2 in rack r1 of the same zone. b migrates from h0 to h2.
    private static PlanningState State()
    {
        var state = new PlanningState();
        state.Reset(3, 3, 1);
        for (int h = 0; h < 3; h++)
        {
            state.SetHost(h, new HostId($"h{h}"), 10_000, 10, 65_536, 10_000, new LinearPowerModel(100, 200), true, new TopologyLocation("z", h < 2 ? "r0" : "r1"));
        }

        state.SetVm(0, new VmId("a"), 2000, 2, 2048, 500, 500, 1, -1, true);
        state.SetVm(1, new VmId("b"), 2000, 2, 2048, 500, 500, 0, 2, true);
        state.SetVm(2, new VmId("c"), 2000, 2, 2048, 500, 500, 1, -1, true);
        state.AppendToHost(1, 0);
        state.AppendToHost(0, 1);
        state.AppendToHost(2, 1);
        state.AppendToHost(1, 2);
        return state;
    }

    [Fact]
    public void Anti_affinity_refuses_the_host_a_peer_is_migrating_to()
    {
        var constraints = new PlacementConstraints();
        constraints.AddAntiAffinity(new VmId("a"), new VmId("b"));
        var state = State();
        Assert.False(constraints.Allows(state, 0, 2)); // b lands there
        Assert.False(constraints.Allows(state, 0, 0)); // b is still there
        Assert.True(constraints.Allows(state, 0, 1));
    }

    [Fact]
    public void Proximity_must_hold_wherever_a_peer_in_flight_ends()
    {
        var constraints = new PlacementConstraints();
        constraints.AddProximity(new VmId("a"), new VmId("b"), NetworkDistance.SameRack);
        var state = State();
        // h1 is in b's source rack but not in its destination's: if b's move completes, a would be a rack away.
        Assert.False(constraints.Allows(state, 0, 1));
        Assert.False(constraints.Allows(state, 0, 2)); // same as b's destination, another rack than its source
        constraints = new PlacementConstraints();
        constraints.AddProximity(new VmId("a"), new VmId("b"), NetworkDistance.SameZone);
        Assert.True(constraints.Allows(state, 0, 1)); // one zone: both of b's hosts are near enough
    }
}
