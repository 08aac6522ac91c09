using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime;

namespace VmEcosystem.Tests.Runtime;

/// <summary>The executor's last check before a move: the observed placement, moved by the feed, with moves in flight on both hosts.</summary>
public sealed class PlacementRecheckTests
{
    // Three hosts of 10 GHz and 8 GiB (h0, h1 in rack r0; h2 in rack r1); a, b on h0, c on h1; each VM 4 GHz and 2 GiB.
    private static readonly DateTimeOffset T0 = DateTimeOffset.UnixEpoch;

    private static PlanningState State()
    {
        var state = new PlanningState();
        state.Reset(3, 3, 1);
        for (int h = 0; h < 3; h++)
        {
            state.SetHost(h, new HostId($"h{h}"), 10_000, 10, 8192, 10_000, null, true, new TopologyLocation("z", h < 2 ? "r0" : "r1"));
        }

        state.SetVm(0, new VmId("a"), 8000, 2, 2048, 4000, 4000, 0, -1, true);
        state.SetVm(1, new VmId("b"), 8000, 2, 2048, 4000, 4000, 0, -1, true);
        state.SetVm(2, new VmId("c"), 8000, 2, 2048, 4000, 4000, 1, -1, true);
        return state;
    }

    private static PlacementRecheck Observed(PlacementConstraints? constraints = null)
    {
        var recheck = new PlacementRecheck(constraints);
        recheck.Refresh(State(), T0);
        return recheck;
    }

    private static MigrateAction Move(string vm, string from, string to) => new(new MigrationDecision
    {
        Vm = new VmId(vm), Source = new HostId(from), Target = new HostId(to), VmIndex = -1, TargetIndex = -1, Stage = "t", Rule = "t",
        Trigger = new TriggerEvidence("t", "t"),
    });

    [Fact]
    public void A_move_in_flight_counts_on_its_target_until_it_ends_and_on_its_source_until_it_lands()
    {
        var recheck = Observed();
        Assert.Null(recheck.Check(Move("a", "h0", "h1"), null));
        recheck.Started(new VmId("a"), new HostId("h1"));
        // h1 carries c (4 GHz) and a in flight (4 GHz): b's 4 GHz would make 12 of 10.
        Assert.Contains("12000 MHz of CPU demand", recheck.Check(Move("b", "h0", "h1"), null));
        recheck.Ended(new VmId("a"), moved: false); // cancelled: a stays on h0, h1 has room again
        Assert.Null(recheck.Check(Move("b", "h0", "h1"), null));
        recheck.Started(new VmId("a"), new HostId("h2"));
        recheck.Apply(new VmMoved(new VmId("a"), new HostId("h0"), new HostId("h2")) { Timestamp = DateTimeOffset.UnixEpoch }, T0); // the feed may report it before the executor does
        recheck.Ended(new VmId("a"), moved: true);
        Assert.Contains("the VM is on h2 now", recheck.Check(Move("a", "h0", "h1"), null));
        Assert.Null(recheck.Check(Move("c", "h1", "h0"), null)); // h0 holds b only now
    }

    [Fact]
    public void Proximity_and_anti_affinity_see_the_peer_on_both_hosts_of_its_move()
    {
        var constraints = new PlacementConstraints();
        constraints.AddProximity(new VmId("a"), new VmId("c"), NetworkDistance.SameRack);
        constraints.AddAntiAffinity(new VmId("b"), new VmId("c"));
        var recheck = Observed(constraints);
        recheck.Started(new VmId("c"), new HostId("h2"));
        Assert.Contains("proximity", recheck.Check(Move("a", "h0", "h1"), null)); // c may end a rack away from h1
        Assert.Contains("anti-affinity", recheck.Check(Move("b", "h0", "h2"), null));
        recheck.Ended(new VmId("c"), moved: false);
        Assert.Null(recheck.Check(Move("a", "h0", "h1"), null));
    }

    [Fact]
    public void Hosts_that_left_or_take_no_VMs_and_VMs_that_left_are_refused()
    {
        var recheck = Observed();
        recheck.Apply(new HostRemoved(new HostId("h2")) { Timestamp = DateTimeOffset.UnixEpoch }, T0);
        Assert.Contains("takes no VMs", recheck.Check(Move("a", "h0", "h2"), null));
        Assert.Contains("no longer in the inventory", recheck.Check(Move("a", "h0", "h9"), null));
        recheck.Apply(new VmRemoved(new VmId("b")) { Timestamp = DateTimeOffset.UnixEpoch }, T0);
        Assert.Equal("the VM is no longer in the inventory", recheck.Check(Move("b", "h0", "h1"), null));
    }

    [Fact]
    public void An_observation_older_than_a_move_the_feed_announced_does_not_undo_it()
    {
        // Nothing can be checked before the first observation: the action waits for it.
        Assert.Contains("not been observed yet", new PlacementRecheck(null).Check(Move("a", "h0", "h1"), null));

        var recheck = Observed();
        recheck.Apply(new VmMoved(new VmId("a"), new HostId("h0"), new HostId("h1")) { Timestamp = T0 }, T0 + TimeSpan.FromMinutes(2)); // moved outside the library
        recheck.Refresh(State(), T0 + TimeSpan.FromMinutes(1)); // captured before that move: a still on h0
        // h1 holds c and a (8 GHz): b's 4 GHz would make 12 of 10; a is not on h0 any more.
        Assert.Contains("12000 MHz of CPU demand", recheck.Check(Move("b", "h0", "h1"), null));
        Assert.Contains("the VM is on h1 now", recheck.Check(Move("a", "h0", "h2"), null));

        recheck.Refresh(State(), T0 + TimeSpan.FromMinutes(3)); // a newer observation is the truth again
        Assert.Null(recheck.Check(Move("b", "h0", "h1"), null));
    }
}
