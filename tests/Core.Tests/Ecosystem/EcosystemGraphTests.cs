using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Hypervisor;
using static VmEcosystem.Tests.Ecosystem.EcosystemTestCluster;

namespace VmEcosystem.Tests.Ecosystem;

public sealed class EcosystemGraphTests
{
    private static readonly List<HostInfo> Hosts3x2x2 = Hosts(3, 2, 2);

    private static EcosystemGraph WebAndDatabases(out VmInfo web)
    {
        web = Vm("web", "web");
        var graph = new EcosystemGraph();
        graph.Load(
            Inventory(Hosts3x2x2, (web, "z0-r0-h0"), (Vm("db-a", "database", "PostgreSQL 14.9"), "z1-r0-h0"), (Vm("db-b", "database", "PostgreSQL 15.1"), "z0-r1-h0"),
                (Vm("cache", "caching", "Redis 6.2.14", memoryGiB: 32), "z2-r0-h0")),
            [new VmDeclaration
            {
                VmName = "web",
                Required = [Spec("database", "< 1ms", "PostgreSQL 14")],
                Preferred = [Spec("caching", "< 300us", "Redis 6") with { ResourceProfile = "high-memory" }],
            }]);
        return graph;
    }

    [Fact]
    public void Satisfaction_is_weighted_and_explains_each_dependency()
    {
        var graph = WebAndDatabases(out var web);
        var s = graph.Satisfaction(web.Id);
        Assert.Equal(0, s.Score);
        Assert.Equal(1, s.Optimum);
        var db = s.Dependencies[0];
        Assert.False(db.Met);
        Assert.Equal(1, db.Candidates); // db-b runs PostgreSQL 15: not a candidate
        Assert.Equal(new VmId("db-a"), db.Nearest);
        Assert.Equal(NetworkDistance.CrossZone, db.NearestDistance);
        Assert.Contains("nearest of 1 matching VMs is db-a, another zone, 2000 us; needs latency < 1ms", db.Reason, StringComparison.Ordinal);

        graph.MoveVm(web.Id, new HostId("z1-r1-h0")); // same zone as db-a: 500 us < 1 ms
        s = graph.Satisfaction(web.Id);
        Assert.True(s.Dependencies[0].Met);
        Assert.Equal(1 / 1.5, s.Score, 12); // required weight 1 met, preferred 0.5 not
        Assert.Equal(1 / 1.5, graph.ClusterScore, 12);

        graph.MoveVm(web.Id, new HostId("z2-r0-h1")); // cache's rack: 200 us < 300 us, database lost
        Assert.Equal(0.5 / 1.5, graph.ScoreOf(web.Id), 12);
        Assert.Contains("met by cache (same rack, 200 us)", graph.Satisfaction(web.Id).Dependencies[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Dependents_and_impact_of_moving_or_removing_a_vm()
    {
        var graph = WebAndDatabases(out var web);
        graph.MoveVm(web.Id, new HostId("z1-r1-h0"));
        var dependent = Assert.Single(graph.Dependents(new VmId("db-a")));
        Assert.Equal((web.Id, DependencyKind.Required, true, true), (dependent.Vm, dependent.Kind, dependent.MetThroughThis, dependent.OnlyWayMet));
        Assert.Empty(graph.Dependents(new VmId("db-b")));

        long version = graph.Version;
        var move = graph.ImpactOfMove(new VmId("db-a"), new HostId("z0-r0-h0"));
        Assert.Equal((web.Id, graph.Satisfaction(web.Id).Dependencies[0].Spec), Assert.Single(move.RequiredBroken));
        Assert.True(move.ClusterScoreAfter < move.ClusterScoreBefore);
        Assert.Equal(1 / 1.5, graph.ScoreOf(web.Id), 12); // unchanged: what-if only
        Assert.True(graph.Version >= version);

        var removal = graph.ImpactOfRemoval(new VmId("db-a"));
        Assert.Single(removal.RequiredBroken);
        Assert.Equal([web.Id], removal.TransitiveDependents);
    }

    [Fact]
    public void Impossible_declarations_are_reported_not_crashed_on()
    {
        var graph = new EcosystemGraph();
        graph.Load(Inventory(Hosts3x2x2, (Vm("a", "web"), "z0-r0-h0"), (Vm("db", "database"), "z0-r0-h0")),
        [
            new VmDeclaration { VmName = "a", Required = [Spec("search")], Preferred = [Spec("database", "< 10us")] },
            new VmDeclaration { VmName = "ghost", Required = [Spec("database")] }, // a VM not in the inventory: kept for later
        ]);
        var impossible = graph.ImpossibleDependencies().ToList();
        Assert.Equal(2, impossible.Count);
        Assert.Contains(impossible, i => i.Status.Reason.StartsWith("impossible: no VM offers search", StringComparison.Ordinal));
        Assert.Contains(impossible, i => i.Status.Reason.Contains("below the latency of two VMs on one host", StringComparison.Ordinal));
        Assert.Equal(0, graph.ClusterOptimum);
        Assert.Equal(2, graph.Cluster().Impossible);

        graph.UpsertVm(Vm("ghost", "web"), new HostId("z2-r0-h0"));
        Assert.Equal(1, graph.ScoreOf(new VmId("ghost"))); // its declaration applied on arrival
    }

    [Fact]
    public void Required_cycles_form_one_co_location_group()
    {
        var graph = new EcosystemGraph();
        graph.Load(Inventory(Hosts3x2x2, (Vm("a", "svc-a"), "z0-r0-h0"), (Vm("b", "svc-b"), "z0-r0-h1"), (Vm("c", "svc-c"), "z1-r0-h0"), (Vm("lonely", "svc-d"), "z2-r0-h0")),
        [
            Requires("a", "svc-b", "< 300us"),
            Requires("b", "svc-a", "< 300us"),
            Requires("c", "svc-a", "< 1ms"),
            Requires("lonely", "svc-a"), // no proximity: no co-location
        ]);
        var cycle = Assert.Single(graph.RequiredCycles());
        Assert.Equal(["a", "b"], cycle.Select(v => v.Value).Order());
        var group = Assert.Single(graph.CoLocationGroups());
        Assert.Equal(["a", "b", "c"], group.Select(v => v.Value).Order());
    }

    [Fact]
    public void Inventory_events_update_the_graph_incrementally()
    {
        var graph = WebAndDatabases(out var web);
        graph.Apply(new VmAdded(Vm("db-c", "database", "PostgreSQL 14.2"), new HostId("z0-r0-h1")) { Timestamp = DateTimeOffset.UnixEpoch });
        Assert.True(graph.Satisfaction(web.Id).Dependencies[0].Met);
        Assert.Equal(2, graph.Satisfaction(web.Id).Dependencies[0].Candidates);
        graph.Apply(new VmMoved(new VmId("db-c"), new HostId("z0-r0-h1"), new HostId("z2-r1-h1")) { Timestamp = DateTimeOffset.UnixEpoch });
        Assert.False(graph.Satisfaction(web.Id).Dependencies[0].Met);
        graph.Apply(new VmUpdated(Vm("db-c", "database", "PostgreSQL 16.0")) { Timestamp = DateTimeOffset.UnixEpoch });
        Assert.Equal(1, graph.Satisfaction(web.Id).Dependencies[0].Candidates); // no longer matches PostgreSQL 14
        graph.Apply(new VmRemoved(new VmId("db-a")) { Timestamp = DateTimeOffset.UnixEpoch });
        Assert.Equal(0, graph.Satisfaction(web.Id).Dependencies[0].Candidates);
        Assert.Equal(0.5 / 1.5, graph.ClusterOptimum, 12);

        graph.SetDeclaration(new VmDeclaration { VmName = "web", Preferred = [Spec("caching")] });
        Assert.Equal(1, graph.ScoreOf(web.Id)); // the cache anywhere meets a dependency without bounds
        Assert.True(graph.RemoveDeclaration("web"));
        Assert.Equal(1, graph.ClusterScore); // nobody declares anything
    }

    [Fact]
    public void Incremental_state_always_equals_a_full_rebuild()
    {
        var hosts = Hosts(3, 3, 3);
        var random = new Random(7);
        var graph = new EcosystemGraph();
        var vms = Enumerable.Range(0, 60).Select(i => Vm($"vm{i}", $"t{i % 6}", $"app {i % 3}.0")).ToList();
        var placement = vms.ToDictionary(v => v.Id, _ => hosts[random.Next(hosts.Count)].Id);
        var declarations = new Dictionary<string, VmDeclaration>();
        VmDeclaration RandomDeclaration(string name) => new()
        {
            VmName = name,
            Required = Enumerable.Range(0, random.Next(0, 3)).Select(_ => Spec($"t{random.Next(6)}", random.Next(2) == 0 ? "< 300us" : "< 1ms")).ToList(),
            Preferred = Enumerable.Range(0, random.Next(0, 3)).Select(_ => Spec($"t{random.Next(6)}", null, random.Next(2) == 0 ? $"app {random.Next(3)}" : null)).ToList(),
        };
        foreach (var vm in vms.Take(40))
        {
            declarations[vm.Name] = RandomDeclaration(vm.Name);
        }

        graph.Load(new InventorySnapshot(hosts, vms, placement.Select(p => new Placement(p.Key, p.Value)).ToList(), DateTimeOffset.UnixEpoch), declarations.Values);
        var present = vms.ToDictionary(v => v.Id);
        for (int step = 0; step < 2000; step++)
        {
            var vm = vms[random.Next(vms.Count)];
            switch (random.Next(5))
            {
                case 0 or 1 when present.ContainsKey(vm.Id):
                    placement[vm.Id] = hosts[random.Next(hosts.Count)].Id;
                    graph.MoveVm(vm.Id, placement[vm.Id]);
                    break;
                case 2 when present.ContainsKey(vm.Id):
                    present.Remove(vm.Id);
                    graph.RemoveVm(vm.Id);
                    break;
                case 3 when !present.ContainsKey(vm.Id):
                    present[vm.Id] = vm;
                    placement[vm.Id] = hosts[random.Next(hosts.Count)].Id;
                    graph.UpsertVm(vm, placement[vm.Id]);
                    break;
                case 4:
                    declarations[vm.Name] = RandomDeclaration(vm.Name);
                    graph.SetDeclaration(declarations[vm.Name]);
                    break;
            }

            if (step % 100 == 99)
            {
                var fresh = new EcosystemGraph();
                var inventoryVms = present.Values.ToList();
                fresh.Load(new InventorySnapshot(hosts, inventoryVms, inventoryVms.Select(v => new Placement(v.Id, placement[v.Id])).ToList(), DateTimeOffset.UnixEpoch),
                    declarations.Values);
                Assert.Equal(fresh.ClusterScore, graph.ClusterScore, 10);
                Assert.Equal(fresh.ClusterOptimum, graph.ClusterOptimum, 10);
                Assert.Equal(fresh.EdgeCount, graph.EdgeCount);
                Assert.Equal(fresh.DependencyCount, graph.DependencyCount);
                foreach (var v in inventoryVms)
                {
                    Assert.Equal(fresh.ScoreOf(v.Id), graph.ScoreOf(v.Id), 10);
                }
            }
        }
    }

    [Fact]
    public void Learned_weighting_reweighs_dependencies()
    {
        var graph = WebAndDatabases(out var web);
        graph.MoveVm(web.Id, new HostId("z1-r1-h0")); // database met, cache not
        graph.UseWeighting(new FixedWeighting(("database", 1), ("caching", 4)));
        Assert.Equal(1 / 3.0, graph.ScoreOf(web.Id), 12); // 1 / (1 + 0.5 * 4)
    }

    private sealed class FixedWeighting(params (string Type, double Multiplier)[] weights) : IDependencyWeighting
    {
        public double Multiplier(string? ownerType, string dependencyType, DependencyKind kind) =>
            weights.FirstOrDefault(w => w.Type == dependencyType).Multiplier is var m and > 0 ? m : 1;
    }
}
