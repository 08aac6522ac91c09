using VmEcosystem.Ecosystem.Graph;

namespace VmEcosystem.Tests.Ecosystem;

public sealed class CompactGraphTests
{
    [Fact]
    public void Components_and_search_on_a_known_graph()
    {
        // 0 -> 1 -> 2 -> 0 (cycle), 2 -> 3, 4 -> 5, 6 alone
        var g = CompactGraph.FromEdges(7, [(0, 1), (1, 2), (2, 0), (2, 3), (4, 5)]);
        var scc = g.StronglyConnectedComponents(out int sccCount);
        Assert.Equal(5, sccCount);
        Assert.Equal(scc[0], scc[1]);
        Assert.Equal(scc[1], scc[2]);
        Assert.NotEqual(scc[2], scc[3]);
        var wcc = g.WeaklyConnectedComponents(out int wccCount);
        Assert.Equal(3, wccCount);
        Assert.Equal(wcc[0], wcc[3]);
        Assert.Equal(wcc[4], wcc[5]);
        Assert.Equal([0, 1, 2, 3, -1, -1, -1], g.BreadthFirst(0));
        Assert.Equal([1, 0, 2, -1, -1, -1, -1], g.Reverse().BreadthFirst(1)); // reversed: 1 -> 0 -> 2
        Assert.Throws<ArgumentOutOfRangeException>(() => CompactGraph.FromEdges(2, [(0, 2)]));
    }

    [Fact]
    public void Strongly_connected_components_agree_with_mutual_reachability_on_random_graphs()
    {
        var random = new Random(3);
        for (int trial = 0; trial < 50; trial++)
        {
            int n = random.Next(1, 40);
            var edges = Enumerable.Range(0, random.Next(0, 3 * n)).Select(_ => (random.Next(n), random.Next(n))).ToList();
            var g = CompactGraph.FromEdges(n, edges);
            var scc = g.StronglyConnectedComponents(out _);
            var reach = Enumerable.Range(0, n).Select(v => g.BreadthFirst(v)).ToArray();
            for (int a = 0; a < n; a++)
            {
                for (int b = 0; b < n; b++)
                {
                    bool mutual = reach[a][b] >= 0 && reach[b][a] >= 0;
                    Assert.Equal(mutual, scc[a] == scc[b]);
                }
            }
        }
    }

    [Fact]
    public void Deep_chains_do_not_overflow_the_stack()
    {
        const int n = 1_000_000;
        var from = Enumerable.Range(0, n - 1).ToArray();
        var to = Enumerable.Range(1, n - 1).ToArray();
        var g = CompactGraph.FromEdges(n, from, to);
        g.StronglyConnectedComponents(out int count);
        Assert.Equal(n, count);
    }
}
