using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Ecosystem.Graph;

// Read access for the planner integration (same assembly), kept apart from the public surface.
public sealed partial class EcosystemGraph
{
    internal int SlotCapacity => _slotCapacityUsed;

    internal int VertexCapacity => _vertexCapacityUsed;

    internal bool TryVertex(VmId vm, out int vertex) => _vertexOf.TryGetValue(vm, out vertex);

    internal VmInfo? VmAt(int vertex) => _vm[vertex];

    internal int HostOfVertex(int vertex) => _host[vertex];

    internal ReadOnlySpan<int> SlotsOf(int vertex) => _vmSlots[vertex].AsSpan();

    internal ReadOnlySpan<int> ServedSlotsOf(int vertex) => _reverse[vertex].AsSpan();

    internal ReadOnlySpan<int> CandidatesOf(int slot) => _slotCandidates[slot].AsSpan();

    internal int OwnerOf(int slot) => _slotOwner[slot];

    internal DependencyKind KindOf(int slot) => _slotKind[slot];

    internal DependencySpec SpecOf(int slot) => _slotSpec[slot]!;

    internal int MaxDistanceOf(int slot) => _slotMaxDistance[slot];

    internal double WeightOfSlot(int slot) => _slotWeight[slot];

    internal int MetCountOf(int slot) => _slotMet[slot];

    internal double WeightTotalOf(int vertex) => _wTotal[vertex];

    internal double ScoreAt(int vertex) => _wTotal[vertex] > 0 ? _wMet[vertex] / _wTotal[vertex] : 1;

    internal double OptimumAt(int vertex) => _wTotal[vertex] > 0 ? _wPossible[vertex] / _wTotal[vertex] : 1;

    internal int RackOf(int host) => _hostRack[host];

    internal int ZoneOf(int host) => _hostZone[host];

    /// <summary>The graph's index of a host, registering it with <paramref name="location"/> when new.</summary>
    internal int EnsureHost(HostId host, TopologyLocation location)
    {
        if (!_hostIndex.TryGetValue(host, out int h))
        {
            UpsertHostCore(new HostInfo(host, new ResourceVector(1, 1, 1)) { Location = location });
            h = _hostIndex[host];
        }

        return h;
    }

    /// <summary>True when the slot can be met somewhere (it has candidates and a reachable distance).</summary>
    internal bool IsPossible(int slot) => _slotCandidates[slot].Count > 0 && _slotMaxDistance[slot] >= 0;
}
