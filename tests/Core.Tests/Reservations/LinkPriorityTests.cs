using VmEcosystem.Cluster;
using VmEcosystem.Reservations;

namespace VmEcosystem.Tests.Reservations;

public sealed class LinkPriorityTests
{
    private static RunningCopy Copy(string vm, string to, SloPriority p) => new(new VmId(vm), new HostId(to), p);

    [Fact]
    public void A_copy_yields_the_link_to_a_higher_network_priority_copy_into_the_same_destination_only()
    {
        RunningCopy[] running = [Copy("web-1", "h1", SloPriority.Critical), Copy("batch-1", "h1", SloPriority.BestEffort), Copy("db-1", "h1", SloPriority.Standard), Copy("app-1", "h2", SloPriority.BestEffort)];

        Assert.Equal((1.0, (RunningCopy?)null), LinkPriority.CapOf(running[0], running, 0.5)); // the highest runs free
        var (cap, to) = LinkPriority.CapOf(running[1], running, 0.5);
        Assert.Equal((0.5, new VmId("web-1")), (cap, to!.Value.Vm)); // yields to the highest, not to the middle one
        Assert.Equal(new VmId("web-1"), LinkPriority.CapOf(running[2], running, 0.5).YieldsTo!.Value.Vm);
        Assert.Equal((1.0, (RunningCopy?)null), LinkPriority.CapOf(running[3], running, 0.5)); // another destination: no contention
        Assert.Equal(1.0, LinkPriority.CapOf(running[1], [running[1], Copy("b2", "h1", SloPriority.BestEffort)], 0.5).Cap); // equals share
    }

    [Fact]
    public void Network_priority_follows_its_own_table_then_the_class_priority()
    {
        var o = new ReservationOptions();
        Assert.Equal(SloPriority.Critical, o.NetworkPriorityOf("web"));
        Assert.Equal(SloPriority.Critical, o.DiskPriorityOf("database"));
        Assert.Equal(o.PriorityOf("idle"), o.NetworkPriorityOf("idle"));
        Assert.Contains(new ReservationOptions { YieldedBandwidthShare = 0 }.Validate(), e => e.Contains("YieldedBandwidthShare", StringComparison.Ordinal));
    }
}
