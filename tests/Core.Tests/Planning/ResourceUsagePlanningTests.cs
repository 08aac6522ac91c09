using VmEcosystem.Cluster;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;

namespace VmEcosystem.Tests.Planning;

/// <summary>Network, disk and dirty rate in planning: filters refuse hosts they would overfill, migration cost follows the dirty rate.</summary>
public sealed class ResourceUsagePlanningTests
{
    [Fact]
    public void An_overloaded_host_does_not_shed_a_vm_onto_a_host_whose_network_it_would_overfill()
    {
        // h0 is overloaded; h2, its best target on CPU, memory and energy, has a nearly full network.
        var (state, _, context) = PredictivePlannerTests.Cluster([11_000, 1_000, 5_000, 5_000], before: (_, s, _) =>
        {
            for (int v = 0; v < s.VmCount; v++)
            {
                s.SetVmUsage(v, 0, s.HostOf(v) == 2 ? 2_400 : 1_000, 0, 0);
            }
        });
        var plan = PredictivePolicy.Create(new PredictiveOptions { EvacuationThreshold = 0.05, ConsolidationUtilization = 0.5 }).Plan(state, context);
        var move = Assert.Single(plan.Decisions, d => d.Stage == "predicted-overload");
        Assert.NotEqual(new HostId("h2"), move.Target); // 4 x 2,400 + 1,000 > 10,000 Mbit/s
        Assert.Contains(move.Alternatives, a => a.Host == new HostId("h2") && a.RejectedBy == "network-capacity");
    }

    [Fact]
    public void Disk_capacity_is_checked_only_where_it_is_known()
    {
        var (state, _, context) = PredictivePlannerTests.Cluster([11_000, 1_000, 5_000, 5_000], before: (_, s, _) =>
        {
            for (int v = 0; v < s.VmCount; v++)
            {
                s.SetVmUsage(v, 0, 0, 500, 0);
            }

            s.SetHostDiskCapacity(2, 2_100); // h2 (the best target otherwise) holds 4 x 500 IOPS: one more does not fit
        });
        var plan = PredictivePolicy.Create(new PredictiveOptions { EvacuationThreshold = 0.05, ConsolidationUtilization = 0.5 }).Plan(state, context);
        var move = Assert.Single(plan.Decisions, d => d.Stage == "predicted-overload");
        Assert.NotEqual(new HostId("h2"), move.Target);
        Assert.Contains(move.Alternatives, a => a.Host == new HostId("h2") && a.RejectedBy == "disk-capacity");
    }

    [Fact]
    public void A_guest_that_dirties_memory_fast_costs_more_to_move()
    {
        var context = new PlanningContext(new Random(1), 300, 0.5);
        double idle = context.MigrationSeconds(4096, 1000, 0);
        double busy = context.MigrationSeconds(4096, 1000, 40);
        Assert.Equal(context.MigrationSeconds(4096, 1000) + 0.02, idle, 9); // one full copy and the switch-over
        // 1,000 Mbit/s x 0.5 = 62.5 MiB/s, 40 of it dirtied again: the pre-copy rounds shrink by 0.64 each, close to
        // the closed form M / (B - D) of endless rounds, a little under it (the last rounds go in the downtime).
        Assert.InRange(busy, 0.9 * 4096 / (62.5 - 40), 4096 / (62.5 - 40));
        // Never converging (100 > 62.5): two full rounds, then the whole memory again with the guest paused.
        Assert.Equal((3 * 4096 / 62.5) + 0.02, context.MigrationSeconds(4096, 1000, 100), 6);
    }
}
