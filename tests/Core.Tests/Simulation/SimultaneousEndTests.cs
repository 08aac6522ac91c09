using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Simulation;

/// <summary>
/// Moves that end at the same simulated instant are reported one per clock step, in a fixed order, never all at
/// once: completing them together let the runtime record their outcomes in thread-pool order, and the same seeded
/// run could differ (about 1 run in 12 under load, before).
/// </summary>
public sealed class SimultaneousEndTests
{
    [Fact]
    public async Task Migrations_ending_together_complete_one_timer_at_a_time_in_the_same_order_every_run()
    {
        var orders = new List<string>();
        for (int run = 0; run < 3; run++)
        {
            orders.Add(await CompletionOrderAsync());
        }

        Assert.All(orders, o => Assert.Equal(orders[0], o));
    }

    private static async Task<string> CompletionOrderAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions
        {
            Synthetic = new SyntheticWorkloadOptions { VmCount = 60, Seed = 5 },
            HostCount = 40,
            CloudSimCompatible = true, // a flat model: equal memory, equal link, equal duration
        }, clock);
        var inventory = await simulator.GetInventoryAsync(ct);
        var hostOf = inventory.Placements.ToDictionary(p => p.Vm, p => p.Host);
        // Three VMs of the same memory on different hosts, each to one of the emptiest other hosts: their moves end at one instant.
        var group = inventory.Vms.GroupBy(v => v.Allocation.MemoryMiB).First(g => g.Select(v => hostOf[v.Id]).Distinct().Count() >= 3);
        var vms = group.DistinctBy(v => hostOf[v.Id]).Take(3).ToList();
        var sources = vms.Select(v => hostOf[v.Id]).ToHashSet();
        var empty = inventory.Hosts.Select(h => h.Id).Where(h => !sources.Contains(h))
            .OrderBy(h => hostOf.Values.Count(x => x == h)).ThenBy(h => h.Value, StringComparer.Ordinal).Take(3).ToList();
        Assert.Equal(3, vms.Count);
        var operations = new List<IMigrationOperation>();
        for (int i = 0; i < 3; i++)
        {
            operations.Add(await simulator.StartMigrationAsync(new MigrationRequest(vms[i].Id, empty[i]), ct));
        }

        var order = new List<string>();
        while (order.Count < 3 && clock.AdvanceToNextTimer())
        {
            var done = operations.Where(o => o.Completion.IsCompleted && !order.Contains(o.Vm.Value)).ToList();
            Assert.True(done.Count <= 1, $"{done.Count} moves completed on one clock step");
            order.AddRange(done.Select(o => o.Vm.Value));
        }

        Assert.Equal(3, order.Count);
        var ends = await Task.WhenAll(operations.Select(o => o.Completion));
        Assert.All(ends, e => Assert.Equal(MigrationOutcome.Succeeded, e.Outcome));
        Assert.Single(ends.Select(e => e.FinishedAt).Distinct()); // they did end together
        return string.Join(",", order);
    }
}
