using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Ecosystem.Graph;

public sealed partial class EcosystemGraph
{
    /// <summary>Cluster-wide satisfaction (O(1) for the score; counts unmet dependencies in O(dependencies)).</summary>
    public ClusterSatisfaction Cluster()
    {
        int requiredUnmet = 0, preferredUnmet = 0, impossible = 0;
        for (int s = 0; s < _slotCapacityUsed; s++)
        {
            if (_slotOwner[s] < 0)
            {
                continue;
            }

            if (_slotCandidates[s].Count == 0 || _slotMaxDistance[s] < 0)
            {
                impossible++;
            }

            if (_slotMet[s] == 0)
            {
                if (_slotKind[s] == DependencyKind.Required)
                {
                    requiredUnmet++;
                }
                else
                {
                    preferredUnmet++;
                }
            }
        }

        return new ClusterSatisfaction(ClusterScore, ClusterOptimum, _declaring, requiredUnmet, preferredUnmet, impossible);
    }

    /// <summary>
    /// An immutable copy of the graph's state (O(VMs + dependencies)). The caller must not change the graph while it
    /// is taken (the runtime takes it under its model lock and caches it per <see cref="Version"/>).
    /// </summary>
    public EcosystemSnapshot Snapshot()
    {
        var vms = new List<VmEcosystemState>(_vertexOf.Count);
        for (int v = 0; v < _vertexCapacityUsed; v++)
        {
            if (_vm[v] is not { } vm)
            {
                continue;
            }

            HostId? host = _host[v] >= 0 ? _hostIds[_host[v]] : null;
            var satisfaction = _vmSlots[v].Count > 0 ? Satisfaction(vm.Id) : null;
            vms.Add(new VmEcosystemState(vm.Id, vm.Name, host, ScoreAt(v), satisfaction));
        }

        return new EcosystemSnapshot(Version, Cluster(), vms, [.. _declarations.Values]);
    }

    /// <summary>Mean satisfaction over the VMs that declare dependencies (1 when none do); O(1).</summary>
    public double ClusterScore => _declaring > 0 ? _scoreSum / _declaring : 1;

    /// <summary>Mean best reachable satisfaction (impossible dependencies excluded); O(1).</summary>
    public double ClusterOptimum => _declaring > 0 ? _optimumSum / _declaring : 1;

    /// <summary>True when the VM is in the graph.</summary>
    public bool Contains(VmId vm) => _vertexOf.ContainsKey(vm);

    /// <summary>The VM's current score (1 when it declares nothing); O(1).</summary>
    public double ScoreOf(VmId vm)
    {
        int v = Vertex(vm);
        return _wTotal[v] > 0 ? _wMet[v] / _wTotal[v] : 1;
    }

    /// <summary>The VM's satisfaction with every dependency's state and the reason in words.</summary>
    public DependencySatisfaction Satisfaction(VmId vm)
    {
        int v = Vertex(vm);
        var list = new List<DependencyStatus>();
        int rMet = 0, rTotal = 0, pMet = 0, pTotal = 0;
        var slots = _vmSlots[v];
        for (int i = 0; i < slots.Count; i++)
        {
            int s = slots[i];
            var status = Status(s);
            list.Add(status);
            if (status.Kind == DependencyKind.Required)
            {
                rTotal++;
                rMet += status.Met ? 1 : 0;
            }
            else
            {
                pTotal++;
                pMet += status.Met ? 1 : 0;
            }
        }

        double score = _wTotal[v] > 0 ? _wMet[v] / _wTotal[v] : 1;
        double optimum = _wTotal[v] > 0 ? _wPossible[v] / _wTotal[v] : 1;
        return new DependencySatisfaction(vm, score, optimum, rMet, rTotal, pMet, pTotal, list);
    }

    /// <summary>Every VM that depends on <paramref name="vm"/> (it matches one of their dependencies).</summary>
    public IReadOnlyList<Dependent> Dependents(VmId vm)
    {
        int v = Vertex(vm);
        var result = new List<Dependent>();
        var reverse = _reverse[v];
        for (int i = 0; i < reverse.Count; i++)
        {
            int s = reverse[i];
            bool through = Meets(s, v);
            result.Add(new Dependent(_vm[_slotOwner[s]]!.Id, _slotKind[s], _slotSpec[s]!, through, through && _slotMet[s] == 1));
        }

        return result;
    }

    /// <summary>Every dependency that is not met, with the reason.</summary>
    public IEnumerable<(VmId Vm, DependencyStatus Status)> UnsatisfiedDependencies()
    {
        for (int s = 0; s < _slotCapacityUsed; s++)
        {
            if (_slotOwner[s] >= 0 && _slotMet[s] == 0)
            {
                yield return (_vm[_slotOwner[s]]!.Id, Status(s));
            }
        }
    }

    /// <summary>Dependencies no placement can meet: no VM matches, or the latency bound is below what the topology offers.</summary>
    public IEnumerable<(VmId Vm, DependencyStatus Status)> ImpossibleDependencies()
    {
        for (int s = 0; s < _slotCapacityUsed; s++)
        {
            if (_slotOwner[s] >= 0 && (_slotCandidates[s].Count == 0 || _slotMaxDistance[s] < 0))
            {
                yield return (_vm[_slotOwner[s]]!.Id, Status(s));
            }
        }
    }

    /// <summary>What moving <paramref name="vm"/> to <paramref name="host"/> would do (the graph is left unchanged).</summary>
    public ImpactReport ImpactOfMove(VmId vm, HostId host)
    {
        int v = Vertex(vm);
        int from = _host[v];
        var touched = Touched(v);
        var before = Snapshot(touched);
        double clusterBefore = ClusterScore;
        MoveVertex(v, HostIndex(host));
        var after = Snapshot(touched);
        double clusterAfter = ClusterScore;
        MoveVertex(v, from);
        return Compare(touched, before, after, clusterBefore, clusterAfter, []);
    }

    /// <summary>What removing <paramref name="vm"/> would do, including every VM that depends on it transitively through required dependencies.</summary>
    public ImpactReport ImpactOfRemoval(VmId vm)
    {
        int v = Vertex(vm);
        var touched = Touched(v).Where(t => t != v).ToList();
        var before = Snapshot(touched);
        double clusterBefore = ClusterScore;
        int from = _host[v];
        // Unplacing it has the same effect on others as removing it; its own score leaves the mean.
        MoveVertex(v, NotPlaced);
        var after = Snapshot(touched);
        double clusterAfter = _declaring - (_vmSlots[v].Count > 0 ? 1 : 0) > 0
            ? (_scoreSum - (_wTotal[v] > 0 ? _wMet[v] / _wTotal[v] : 0)) / (_declaring - (_vmSlots[v].Count > 0 ? 1 : 0))
            : 1;
        MoveVertex(v, from);
        return Compare(touched, before, after, clusterBefore, clusterAfter, TransitiveRequiredDependents(v));
    }

    // ---------------------------------------------------------------- helpers

    internal int Vertex(VmId vm) =>
        _vertexOf.TryGetValue(vm, out int v) ? v : throw new KeyNotFoundException($"VM '{vm}' is not in the ecosystem graph.");

    private DependencyStatus Status(int s)
    {
        var spec = _slotSpec[s]!;
        int nearest = Nearest(s, out int distance);
        int candidates = _slotCandidates[s].Count;
        bool met = _slotMet[s] > 0;
        string reason;
        if (candidates == 0)
        {
            reason = $"impossible: no VM offers {spec}";
        }
        else if (_slotMaxDistance[s] < 0)
        {
            reason = $"impossible: {spec.Latency} is below the latency of two VMs on one host ({_topology.SameHostLatency.TotalMicroseconds:0} us)";
        }
        else if (met)
        {
            reason = $"met by {_vm[nearest]!.Name} ({DistanceText(distance)}){(_slotMet[s] > 1 ? $" and {_slotMet[s] - 1} more" : string.Empty)}";
        }
        else if (nearest < 0)
        {
            reason = $"not met: none of the {candidates} matching VMs is placed";
        }
        else
        {
            reason = $"not met: nearest of {candidates} matching VMs is {_vm[nearest]!.Name}, {DistanceText(distance)}; needs {Requirement(s)}";
        }

        return new DependencyStatus(_slotKind[s], spec, met, candidates, _slotMet[s], nearest >= 0 ? _vm[nearest]!.Id : null,
            nearest >= 0 && distance <= 3 ? (NetworkDistance)distance : null, _slotWeight[s], reason);
    }

    private string Requirement(int s)
    {
        var spec = _slotSpec[s]!;
        return spec.Latency is { } l ? $"latency {l}" : $"bandwidth >= {spec.MinBandwidthMbps} Mbps";
    }

    private string DistanceText(int distance) => distance switch
    {
        0 => $"same host, {_topology.SameHostLatency.TotalMicroseconds:0} us",
        1 => $"same rack, {_topology.SameRackLatency.TotalMicroseconds:0} us",
        2 => $"same zone, {_topology.SameZoneLatency.TotalMicroseconds:0} us",
        3 => $"another zone, {_topology.CrossZoneLatency.TotalMicroseconds:0} us",
        _ => "not placed",
    };

    /// <summary>The closest placed candidate of a slot (ties: first), or -1.</summary>
    internal int Nearest(int s, out int distance)
    {
        int ownerHost = _host[_slotOwner[s]];
        int best = -1;
        distance = 5;
        var candidates = _slotCandidates[s].AsSpan();
        for (int j = 0; j < candidates.Length; j++)
        {
            int d = Distance(ownerHost, _host[candidates[j]]);
            if (d < distance && _host[candidates[j]] >= 0)
            {
                distance = d;
                best = candidates[j];
                if (d == 0)
                {
                    break;
                }
            }
        }

        return best;
    }

    private List<int> Touched(int v)
    {
        var set = new HashSet<int> { v };
        var reverse = _reverse[v];
        for (int i = 0; i < reverse.Count; i++)
        {
            set.Add(_slotOwner[reverse[i]]);
        }

        return [.. set];
    }

    private (double Score, bool[] RequiredMet)[] Snapshot(List<int> vertices)
    {
        var result = new (double, bool[])[vertices.Count];
        for (int i = 0; i < vertices.Count; i++)
        {
            int v = vertices[i];
            var slots = _vmSlots[v];
            var met = new bool[slots.Count];
            for (int j = 0; j < slots.Count; j++)
            {
                met[j] = _slotMet[slots[j]] > 0;
            }

            result[i] = (_wTotal[v] > 0 ? _wMet[v] / _wTotal[v] : 1, met);
        }

        return result;
    }

    private ImpactReport Compare(List<int> vertices, (double Score, bool[] RequiredMet)[] before, (double Score, bool[] RequiredMet)[] after,
        double clusterBefore, double clusterAfter, IReadOnlyList<VmId> transitive)
    {
        var changes = new List<(VmId, double, double)>();
        var broken = new List<(VmId, DependencySpec)>();
        for (int i = 0; i < vertices.Count; i++)
        {
            int v = vertices[i];
            if (Math.Abs(before[i].Score - after[i].Score) > 1e-12)
            {
                changes.Add((_vm[v]!.Id, before[i].Score, after[i].Score));
            }

            var slots = _vmSlots[v];
            for (int j = 0; j < slots.Count; j++)
            {
                if (_slotKind[slots[j]] == DependencyKind.Required && before[i].RequiredMet[j] && !after[i].RequiredMet[j])
                {
                    broken.Add((_vm[v]!.Id, _slotSpec[slots[j]]!));
                }
            }
        }

        return new ImpactReport(changes, broken, clusterBefore, clusterAfter, transitive);
    }
}
