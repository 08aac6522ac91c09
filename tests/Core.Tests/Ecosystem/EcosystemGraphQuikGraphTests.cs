using QuikGraph;
using QuikGraph.Algorithms;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using static VmEcosystem.Tests.Ecosystem.EcosystemTestCluster;

namespace VmEcosystem.Tests.Ecosystem;

/// <summary>The QuikGraph graph the ecosystem graph keeps edge by edge stays equal to the dependencies, whatever happens.</summary>
public sealed class EcosystemGraphQuikGraphTests
{
    [Fact]
    public void The_required_graph_follows_every_change_and_its_algorithms_agree_with_a_fresh_snapshot()
    {
        var hosts = Hosts(2, 2, 3);
        var random = new Random(11);
        string[] types = ["a", "b", "c", "d", "e"];
        VmDeclaration Declare(string vm) => new()
        {
            VmName = vm,
            Required = [.. Enumerable.Range(0, random.Next(3)).Select(_ => Spec(types[random.Next(types.Length)], random.Next(2) == 0 ? "< 300us" : null))],
            Preferred = [Spec(types[random.Next(types.Length)])],
        };

        var vms = Enumerable.Range(0, 30).Select(i => Vm($"vm{i}", types[i % types.Length])).ToList();
        var graph = new EcosystemGraph();
        graph.Load(Inventory(hosts, [.. vms.Select(v => (v, hosts[random.Next(hosts.Count)].Id.Value))]), [.. vms.Select(v => Declare(v.Name))]);
        for (int step = 0; step < 300; step++)
        {
            var vm = vms[random.Next(vms.Count)];
            switch (random.Next(4))
            {
                case 0 when graph.Contains(vm.Id):
                    graph.MoveVm(vm.Id, hosts[random.Next(hosts.Count)].Id);
                    break;
                case 1:
                    graph.RemoveVm(vm.Id);
                    break;
                case 2:
                    graph.UpsertVm(vm, hosts[random.Next(hosts.Count)].Id);
                    break;
                default:
                    graph.SetDeclaration(Declare(vm.Name));
                    break;
            }

            var snapshot = graph.ToGraph(requiredOnly: true);
            Assert.Equal(snapshot.EdgeCount, graph.RequiredEdgeCount);

            var components = new Dictionary<VmId, int>();
            snapshot.StronglyConnectedComponents(components);
            var expected = components.GroupBy(kv => kv.Value).Where(g => g.Count() > 1)
                .Select(g => string.Join(",", g.Select(kv => kv.Key.Value).Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal);
            var actual = graph.RequiredCycles().Select(c => string.Join(",", c.Select(v => v.Value).Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal);
            Assert.Equal(expected, actual);

            // Transitive dependents of a removal: every VM with a required path to it, found on the snapshot.
            var target = vms[random.Next(vms.Count)];
            if (snapshot.ContainsVertex(target.Id) && graph.Contains(target.Id))
            {
                var reach = new HashSet<VmId>();
                var frontier = new Queue<VmId>([target.Id]);
                while (frontier.Count > 0)
                {
                    foreach (var e in snapshot.InEdges(frontier.Dequeue()))
                    {
                        if (e.Source != target.Id && reach.Add(e.Source))
                        {
                            frontier.Enqueue(e.Source);
                        }
                    }
                }

                Assert.Equal(reach.Select(v => v.Value).Order(), graph.ImpactOfRemoval(target.Id).TransitiveDependents.Select(v => v.Value).Order());
            }
        }
    }

    [Fact]
    public void A_bulk_load_equals_a_full_rescore_without_one()
    {
        var hosts = Hosts(3, 2, 3);
        var random = new Random(5);
        string[] types = ["a", "b", "c", "d"];
        var vms = Enumerable.Range(0, 80).Select(i => Vm($"vm{i}", types[i % types.Length])).ToList();
        var graph = new EcosystemGraph();
        graph.Load(Inventory(hosts, [.. vms.Select(v => (v, hosts[random.Next(hosts.Count)].Id.Value))]),
            [.. vms.Where((_, i) => i % 3 != 0).Select(v => new VmDeclaration
            {
                VmName = v.Name,
                Required = [Spec(types[random.Next(types.Length)], random.Next(3) switch { 0 => "< 300us", 1 => "< 1ms", _ => null })],
                Preferred = [Spec(types[random.Next(types.Length)], "< 300us"), Spec("nobody-offers-this")],
            })]);
        var loaded = vms.Select(v => graph.Satisfaction(v.Id)).Select(s => (s.Score, s.Optimum, s.Dependencies.Count(d => d.Met))).ToList();
        var cluster = graph.Cluster();

        graph.Rescore();
        Assert.Equal(loaded, vms.Select(v => graph.Satisfaction(v.Id)).Select(s => (s.Score, s.Optimum, s.Dependencies.Count(d => d.Met))));
        Assert.Equal(cluster, graph.Cluster());
    }

    [Fact]
    public void A_snapshot_holds_every_dependency_edge_as_a_quikgraph_graph()
    {
        var hosts = Hosts(1, 1, 2);
        var graph = new EcosystemGraph();
        graph.Load(Inventory(hosts, (Vm("web", "web"), "z0-r0-h0"), (Vm("db1", "database"), "z0-r0-h1"), (Vm("db2", "database"), "z0-r0-h1"), (Vm("cache", "caching"), "z0-r0-h0")),
            [new VmDeclaration { VmName = "web", Required = [Spec("database")], Preferred = [Spec("caching")] }]);
        BidirectionalGraph<VmId, SEquatableEdge<VmId>> all = graph.ToGraph();
        Assert.Equal(4, all.VertexCount);
        Assert.Equal(3, all.EdgeCount);
        Assert.Equal(2, graph.ToGraph(requiredOnly: true).EdgeCount);
        Assert.Equal(2, graph.RequiredEdgeCount);
        Assert.True(all.ContainsEdge(new VmId("web"), new VmId("cache")));
    }
}
