using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Planning;

namespace VmEcosystem.Ecosystem.Planning;

/// <summary>
/// The ecosystem graph seen through one planning pass: positions come from the pass's (tentative) state, so
/// checks see every move committed earlier in the pass. Per-dependency met counts are computed on first use and
/// kept current through commits and rollbacks, so a check costs O(own candidates + dependents) like a live move.
/// </summary>
internal sealed class EcosystemPassView : IPlanningPassObserver
{
    private readonly EcosystemGraph _graph;
    private readonly PlanningState _state;
    private readonly int[] _stateOfVertex;
    private readonly int[] _vertexOfState;
    private readonly int[] _graphHost;
    private readonly int[] _met;
    private readonly bool[] _known;
    private Dictionary<int, List<int>>? _rackHosts;
    private Dictionary<int, List<int>>? _zoneHosts;
    private Dictionary<int, int>? _stateHostOfGraphHost;
    private List<int>? _allHosts;

    public EcosystemPassView(EcosystemGraph graph, PlanningState state)
    {
        _graph = graph;
        _state = state;
        _stateOfVertex = new int[graph.VertexCapacity];
        Array.Fill(_stateOfVertex, -1);
        _vertexOfState = new int[state.VmCount];
        for (int v = 0; v < state.VmCount; v++)
        {
            if (graph.TryVertex(state.VmIds[v], out int vertex))
            {
                _vertexOfState[v] = vertex;
                _stateOfVertex[vertex] = v;
            }
            else
            {
                _vertexOfState[v] = -1;
            }
        }

        _graphHost = new int[state.HostCount];
        for (int h = 0; h < state.HostCount; h++)
        {
            _graphHost[h] = graph.EnsureHost(state.HostIds[h], state.HostLocation[h]);
        }

        _met = new int[graph.SlotCapacity];
        _known = new bool[graph.SlotCapacity];
    }

    public EcosystemGraph Graph => _graph;

    /// <summary>The graph vertex of a state VM (-1 when the graph does not know it).</summary>
    public int VertexOf(int stateVm) => _vertexOfState[stateVm];

    /// <summary>The state index of a vertex (-1 when the pass does not hold it).</summary>
    public int StateOf(int vertex) => _stateOfVertex[vertex];

    /// <summary>Graph host index of a state host.</summary>
    public int GraphHost(int stateHost) => stateHost < 0 ? -1 : _graphHost[stateHost];

    /// <summary>Where a vertex is under the plan (graph host index, -1 when not placed).</summary>
    public int Position(int vertex)
    {
        int s = _stateOfVertex[vertex];
        if (s < 0)
        {
            return _graph.HostOfVertex(vertex);
        }

        if (!_state.VmActive[s])
        {
            return -1;
        }

        int h = _state.VmMigratingTo[s] >= 0 ? _state.VmMigratingTo[s] : _state.VmHost[s];
        return h >= 0 ? _graphHost[h] : -1;
    }

    /// <summary>How many candidates meet the slot under the plan.</summary>
    public int Met(int slot)
    {
        if (!_known[slot])
        {
            _met[slot] = CountWithin(slot, Position(_graph.OwnerOf(slot)));
            _known[slot] = true;
        }

        return _met[slot];
    }

    /// <summary>Whether the slot would be met with its owner at graph host <paramref name="ownerHost"/>.</summary>
    public bool AnyWithin(int slot, int ownerHost)
    {
        int max = _graph.MaxDistanceOf(slot);
        foreach (int c in _graph.CandidatesOf(slot))
        {
            if (_graph.Distance(ownerHost, Position(c)) <= max)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Change of the sum of VM scores if the VM moves to graph host <paramref name="target"/> (planned positions).</summary>
    public double Delta(int vertex, int target)
    {
        double delta = 0;
        int from = Position(vertex);
        if (from == target)
        {
            return 0;
        }

        double total = _graph.WeightTotalOf(vertex);
        foreach (int s in _graph.SlotsOf(vertex))
        {
            bool before = Met(s) > 0;
            bool after = AnyWithin(s, target);
            if (before != after)
            {
                delta += (after ? 1 : -1) * _graph.WeightOfSlot(s) / total;
            }
        }

        foreach (int s in _graph.ServedSlotsOf(vertex))
        {
            int owner = _graph.OwnerOf(s);
            int ownerHost = Position(owner);
            int max = _graph.MaxDistanceOf(s);
            bool before = _graph.Distance(ownerHost, from) <= max;
            bool after = _graph.Distance(ownerHost, target) <= max;
            if (before == after)
            {
                continue;
            }

            int count = Met(s);
            int next = count + (after ? 1 : -1);
            if ((count > 0) != (next > 0))
            {
                delta += (after ? 1 : -1) * _graph.WeightOfSlot(s) / _graph.WeightTotalOf(owner);
            }
        }

        return delta;
    }

    /// <summary>
    /// True when moving the VM to graph host <paramref name="target"/> could leave a met required dependency (its
    /// own or one it serves) unmet at some moment. Migrations complete in any order, so a dependency counts as met
    /// only when a candidate meets it whichever of the two VMs' live and planned positions are in effect.
    /// </summary>
    public bool BreaksRequired(int vertex, int target)
    {
        int live = _graph.HostOfVertex(vertex);
        int planned = Position(vertex);
        foreach (int s in _graph.SlotsOf(vertex))
        {
            if (_graph.KindOf(s) == DependencyKind.Required
                && RobustlyMet(s, live, planned, -1, 0, 0) && !RobustlyMet(s, live, target, -1, 0, 0))
            {
                return true;
            }
        }

        foreach (int s in _graph.ServedSlotsOf(vertex))
        {
            if (_graph.KindOf(s) != DependencyKind.Required)
            {
                continue;
            }

            int owner = _graph.OwnerOf(s);
            int ownerLive = _graph.HostOfVertex(owner), ownerPlanned = Position(owner);
            if (RobustlyMet(s, ownerLive, ownerPlanned, -1, 0, 0) && !RobustlyMet(s, ownerLive, ownerPlanned, vertex, live, target))
            {
                return true;
            }
        }

        return false;
    }

    // Met under every order of completion: for each host the owner may be on (live or planned) some candidate is
    // within reach from both of its own possible hosts. (An adversarial order can put every candidate on its worse
    // host, so a candidate counts only if both of its hosts qualify.) The candidate `moved` uses (movedLive, movedPlanned).
    private bool RobustlyMet(int slot, int ownerLive, int ownerPlanned, int moved, int movedLive, int movedPlanned) =>
        MetFromBothHostsOfSomeCandidate(slot, ownerLive, moved, movedLive, movedPlanned)
        && (ownerPlanned == ownerLive || MetFromBothHostsOfSomeCandidate(slot, ownerPlanned, moved, movedLive, movedPlanned));

    private bool MetFromBothHostsOfSomeCandidate(int slot, int ownerHost, int moved, int movedLive, int movedPlanned)
    {
        int max = _graph.MaxDistanceOf(slot);
        foreach (int c in _graph.CandidatesOf(slot))
        {
            int cl = c == moved ? movedLive : _graph.HostOfVertex(c);
            int cp = c == moved ? movedPlanned : Position(c);
            if (_graph.Distance(ownerHost, cl) <= max && _graph.Distance(ownerHost, cp) <= max)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>State host indexes within <paramref name="maxDistance"/> of graph host <paramref name="graphHost"/>.</summary>
    public IReadOnlyList<int> HostsNear(int graphHost, int maxDistance)
    {
        if (graphHost < 0 || maxDistance < 0)
        {
            return [];
        }

        BuildHostIndex();
        return maxDistance switch
        {
            0 => _stateHostOfGraphHost!.TryGetValue(graphHost, out int h) ? [h] : [],
            1 => _rackHosts!.GetValueOrDefault(_graph.RackOf(graphHost)) ?? [],
            2 => _zoneHosts!.GetValueOrDefault(_graph.ZoneOf(graphHost)) ?? [],
            _ => _allHosts!,
        };
    }

    /// <summary>State host indexes grouped by rack (for group moves).</summary>
    public IEnumerable<List<int>> Racks()
    {
        BuildHostIndex();
        return _rackHosts!.Values;
    }

    /// <summary>State host indexes grouped by zone.</summary>
    public IEnumerable<List<int>> Zones()
    {
        BuildHostIndex();
        return _zoneHosts!.Values;
    }

    public void OnCommitted(PlanningPass pass, int vm, int source, int target) =>
        Moved(vm, GraphHost(_state.VmMigratingTo[vm] >= 0 ? _state.VmMigratingTo[vm] : source), GraphHost(target));

    public void OnRolledBack(PlanningPass pass, int vm, int source, int target) => Moved(vm, GraphHost(target), GraphHost(source));

    private void Moved(int stateVm, int from, int to)
    {
        int vertex = _vertexOfState[stateVm];
        if (vertex < 0 || from == to)
        {
            return;
        }

        foreach (int s in _graph.ServedSlotsOf(vertex))
        {
            if (!_known[s])
            {
                continue;
            }

            int ownerHost = Position(_graph.OwnerOf(s));
            int max = _graph.MaxDistanceOf(s);
            bool before = _graph.Distance(ownerHost, from) <= max;
            bool after = _graph.Distance(ownerHost, to) <= max;
            if (before != after)
            {
                _met[s] += after ? 1 : -1;
            }
        }

        foreach (int s in _graph.SlotsOf(vertex))
        {
            _known[s] = false;
        }
    }

    private int CountWithin(int slot, int ownerHost)
    {
        if (ownerHost < 0)
        {
            return 0;
        }

        int max = _graph.MaxDistanceOf(slot);
        int count = 0;
        foreach (int c in _graph.CandidatesOf(slot))
        {
            if (_graph.Distance(ownerHost, Position(c)) <= max)
            {
                count++;
            }
        }

        return count;
    }

    private void BuildHostIndex()
    {
        if (_rackHosts is not null)
        {
            return;
        }

        _rackHosts = [];
        _zoneHosts = [];
        _stateHostOfGraphHost = [];
        _allHosts = new List<int>(_state.HostCount);
        for (int h = 0; h < _state.HostCount; h++)
        {
            int g = _graphHost[h];
            _stateHostOfGraphHost[g] = h;
            _allHosts.Add(h);
            Add(_rackHosts, _graph.RackOf(g), h);
            Add(_zoneHosts, _graph.ZoneOf(g), h);
        }

        static void Add(Dictionary<int, List<int>> map, int key, int h)
        {
            if (!map.TryGetValue(key, out var list))
            {
                map[key] = list = [];
            }

            list.Add(h);
        }
    }
}
