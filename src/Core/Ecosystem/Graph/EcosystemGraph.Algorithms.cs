using QuikGraph;
using QuikGraph.Algorithms;
using QuikGraph.Algorithms.Search;
using QuikGraph.Collections;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Ecosystem.Graph;

/// <summary>
/// Whole-graph questions, answered with QuikGraph: the required dependencies are held in a QuikGraph
/// <see cref="BidirectionalGraph{TVertex, TEdge}"/> (dependent to each VM that can serve it), built on the first
/// whole-graph query and from then on kept current edge by edge beside the incremental satisfaction state, and its algorithms find cycles (strongly connected components),
/// co-location groups (QuikGraph's disjoint-set forest over nearest servers) and transitive dependents (breadth-first search on the reversed graph).
/// </summary>
public sealed partial class EcosystemGraph
{
    // Vertex = the graph's vertex index; parallel edges: two required dependencies of one VM may name the same server.
    // Built from the slots on the first whole-graph query (a bulk load need not pay for it), then kept current edge by
    // edge with every change.
    private BidirectionalGraph<int, SEquatableEdge<int>>? _required;

    /// <summary>Required dependencies held in QuikGraph (edge count), for checks and metrics.</summary>
    public int RequiredEdgeCount => Required.EdgeCount;

    private BidirectionalGraph<int, SEquatableEdge<int>> Required
    {
        get
        {
            if (_required is null)
            {
                var graph = new BidirectionalGraph<int, SEquatableEdge<int>>(allowParallelEdges: true);
                for (int s = 0; s < _slotCapacityUsed; s++)
                {
                    if (_slotOwner[s] >= 0 && _slotKind[s] == DependencyKind.Required)
                    {
                        foreach (int c in _slotCandidates[s].AsSpan())
                        {
                            graph.AddVerticesAndEdge(new SEquatableEdge<int>(_slotOwner[s], c));
                        }
                    }
                }

                _required = graph;
            }

            return _required;
        }
    }

    /// <summary>Cycles of required dependencies (strongly connected groups of more than one VM), handled as mutual co-location.</summary>
    public IReadOnlyList<IReadOnlyList<VmId>> RequiredCycles()
    {
        var required = Required;
        var components = new Dictionary<int, int>(required.VertexCount);
        int count = required.StronglyConnectedComponents(components);
        return Groups(components, count);
    }

    /// <summary>
    /// Groups of VMs that must stay close: connected through required dependencies with a proximity bound,
    /// each dependency bound to its nearest candidate. Mutual requirements (cycles) form one group.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<VmId>> CoLocationGroups()
    {
        // QuikGraph's disjoint-set forest: its undirected ConnectedComponents is far slower on many small groups.
        var groups = new ForestDisjointSet<int>();
        for (int s = 0; s < _slotCapacityUsed; s++)
        {
            if (_slotOwner[s] < 0 || _slotKind[s] != DependencyKind.Required || _slotMaxDistance[s] >= 3 || _slotMaxDistance[s] < 0)
            {
                continue;
            }

            int nearest = Nearest(s, out _);
            if (nearest >= 0)
            {
                int owner = _slotOwner[s];
                if (!groups.Contains(owner))
                {
                    groups.MakeSet(owner);
                }

                if (!groups.Contains(nearest))
                {
                    groups.MakeSet(nearest);
                }

                groups.Union(owner, nearest);
            }
        }

        var members = new Dictionary<int, List<VmId>>();
        for (int v = 0; v < _vertexCapacityUsed; v++)
        {
            if (_vm[v] is { } vm && groups.Contains(v))
            {
                int root = groups.FindSet(v);
                if (!members.TryGetValue(root, out var list))
                {
                    members[root] = list = [];
                }

                list.Add(vm.Id);
            }
        }

        return [.. members.Values.Where(m => m.Count > 1).Select(m => (IReadOnlyList<VmId>)m)];
    }

    /// <summary>
    /// A snapshot of the dependency graph as a QuikGraph graph over VM ids (dependent to every VM that can serve it),
    /// for an application's own algorithms; <paramref name="requiredOnly"/> keeps required dependencies only.
    /// </summary>
    public BidirectionalGraph<VmId, SEquatableEdge<VmId>> ToGraph(bool requiredOnly = false)
    {
        var graph = new BidirectionalGraph<VmId, SEquatableEdge<VmId>>(allowParallelEdges: true, _vertexOf.Count);
        foreach (var vm in _vertexOf.Keys)
        {
            graph.AddVertex(vm);
        }

        for (int s = 0; s < _slotCapacityUsed; s++)
        {
            if (_slotOwner[s] < 0 || (requiredOnly && _slotKind[s] != DependencyKind.Required))
            {
                continue;
            }

            var owner = _vm[_slotOwner[s]]!.Id;
            foreach (int c in _slotCandidates[s].AsSpan())
            {
                graph.AddEdge(new SEquatableEdge<VmId>(owner, _vm[c]!.Id));
            }
        }

        return graph;
    }

    /// <summary>Every VM that depends on <paramref name="start"/> through required dependencies, directly or not.</summary>
    private List<VmId> TransitiveRequiredDependents(int start)
    {
        var result = new List<VmId>();
        var required = Required;
        if (!required.ContainsVertex(start))
        {
            return result;
        }

        var search = new BreadthFirstSearchAlgorithm<int, SReversedEdge<int, SEquatableEdge<int>>>(
            new ReversedBidirectionalGraph<int, SEquatableEdge<int>>(required));
        search.DiscoverVertex += v =>
        {
            if (v != start)
            {
                result.Add(_vm[v]!.Id);
            }
        };
        search.Compute(start);
        return result;
    }

    /// <summary>Called wherever a slot gains a candidate: required slots add their edge to the QuikGraph graph.</summary>
    private void OnCandidateAdded(int slot, int candidate)
    {
        if (_required is not null && _slotKind[slot] == DependencyKind.Required)
        {
            _required.AddVerticesAndEdge(new SEquatableEdge<int>(_slotOwner[slot], candidate));
        }
    }

    /// <summary>A VM's slots were dropped: its outgoing required edges go.</summary>
    private void OnSlotsDropped(int owner)
    {
        if (_required is not null && _required.ContainsVertex(owner))
        {
            _required.ClearOutEdges(owner);
        }
    }

    /// <summary>A VM left the graph: it serves nobody any more.</summary>
    private void OnVertexRemoved(int vertex) => _required?.RemoveVertex(vertex);

    private List<IReadOnlyList<VmId>> Groups(Dictionary<int, int> components, int count)
    {
        var members = new List<VmId>?[count];
        foreach (var (v, component) in components)
        {
            if (_vm[v] is { } vm)
            {
                (members[component] ??= []).Add(vm.Id);
            }
        }

        return [.. members.Where(m => m is { Count: > 1 }).Select(m => (IReadOnlyList<VmId>)m!)];
    }
}
