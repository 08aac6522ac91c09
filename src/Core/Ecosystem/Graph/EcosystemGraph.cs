using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Matching;

namespace VmEcosystem.Ecosystem.Graph;

/// <summary>
/// The live dependency graph: VMs are vertices; every declared dependency is a <em>slot</em> whose edges go to
/// the VMs that match it (type, version, profile, ...), wherever they run. A slot is met when at least one of
/// them runs within the slot's maximum network distance (from its latency and bandwidth bounds and the
/// topology). The graph keeps, per slot, how many candidates meet it, so moving a VM touches only its own slots
/// and the slots it is a candidate of (O(1) each); per VM the weighted satisfaction; and the cluster sum.
/// Inventory events (add, remove, update, move), declaration changes and host changes update it incrementally.
/// Not thread-safe: one writer at a time (the runtime serialises updates).
/// </summary>
public sealed partial class EcosystemGraph
{
    private const int NotPlaced = -1;
    private const sbyte Unreachable = -1;

    private readonly EcosystemOptions _options;
    private readonly NetworkTopology _topology;
    private readonly DependencyMatcher _matcher;
    private IDependencyWeighting? _weighting;

    // Hosts.
    private readonly Dictionary<HostId, int> _hostIndex = [];
    private readonly List<HostId> _hostIds = [];
    private readonly Dictionary<string, int> _zoneIds = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), int> _rackIds = [];
    private int[] _hostZone = new int[16];
    private int[] _hostRack = new int[16];

    // Vertices.
    private readonly Dictionary<VmId, int> _vertexOf = [];
    private readonly Dictionary<string, int> _vertexByName = new(StringComparer.Ordinal);
    private readonly Stack<int> _freeVertices = new();
    private int _vertexCapacityUsed;
    private VmInfo?[] _vm = new VmInfo?[16];
    private VmProfile[] _profile = new VmProfile[16];
    private int[] _host = new int[16];
    private int[] _type = new int[16];
    private IntList[] _vmSlots = new IntList[16];
    private IntList[] _reverse = new IntList[16];
    private double[] _wTotal = new double[16];
    private double[] _wMet = new double[16];
    private double[] _wPossible = new double[16];
    private bool[] _contributes = new bool[16];

    // Types (interned case-insensitively).
    private readonly Dictionary<string, int> _typeIds = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<IntList> _offersByType = [];
    private readonly List<IntList> _slotsByType = [];

    // Slots.
    private readonly Stack<int> _freeSlots = new();
    private int _slotCapacityUsed;
    private int[] _slotOwner = new int[16];
    private DependencyKind[] _slotKind = new DependencyKind[16];
    private DependencySpec?[] _slotSpec = new DependencySpec?[16];
    private sbyte[] _slotMaxDistance = new sbyte[16];
    private int[] _slotType = new int[16];
    private double[] _slotWeight = new double[16];
    private IntList[] _slotCandidates = new IntList[16];
    private int[] _slotMet = new int[16];

    // Declarations by VM name (kept for VMs not (yet) in the inventory).
    private readonly Dictionary<string, VmDeclaration> _declarations = new(StringComparer.Ordinal);

    // Cluster sums over declaring VMs.
    private double _scoreSum;
    private double _optimumSum;
    private int _declaring;

    /// <summary>Creates an empty graph.</summary>
    public EcosystemGraph(EcosystemOptions? options = null, NetworkTopology? topology = null)
    {
        _options = options ?? new EcosystemOptions();
        _options.Validate();
        _topology = topology ?? NetworkTopology.Default;
        _matcher = new DependencyMatcher(_options.Profiles, _options.Similarity, _options.FuzzyThreshold);
    }

    /// <summary>The options.</summary>
    public EcosystemOptions Options => _options;

    /// <summary>The topology latencies and bandwidths come from.</summary>
    public NetworkTopology Topology => _topology;

    /// <summary>Number of VMs (vertices).</summary>
    public int VmCount => _vertexOf.Count;

    /// <summary>Number of declared dependencies (slots) of VMs present.</summary>
    public int DependencyCount { get; private set; }

    /// <summary>Number of edges (slot to matching VM).</summary>
    public long EdgeCount { get; private set; }

    /// <summary>Incremented on every change; lets callers cache derived views.</summary>
    public long Version { get; private set; }

    /// <summary>Sets the source of learned weight multipliers and re-weighs every dependency.</summary>
    public void UseWeighting(IDependencyWeighting? weighting)
    {
        _weighting = weighting;
        Reweigh();
    }

    // ---------------------------------------------------------------- building

    /// <summary>Replaces the whole graph with an inventory and a set of declarations (bulk, faster than events).</summary>
    public void Load(InventorySnapshot inventory, IEnumerable<VmDeclaration> declarations)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(declarations);
        Clear();
        var all = declarations as IReadOnlyCollection<VmDeclaration> ?? [.. declarations];
        int vms = inventory.Vms.Count;
        _declarations.EnsureCapacity(all.Count);
        _vertexOf.EnsureCapacity(vms);
        _vertexByName.EnsureCapacity(vms);
        _typeIds.EnsureCapacity(vms);
        _offersByType.Capacity = Math.Max(_offersByType.Capacity, vms);
        _slotsByType.Capacity = Math.Max(_slotsByType.Capacity, vms);
        EnsureVertexCapacity(vms);
        EnsureSlotCapacity(all.Sum(d => d.Required.Count + d.Preferred.Count));
        foreach (var d in all)
        {
            if (!_declarations.TryAdd(d.VmName, d))
            {
                throw new ArgumentException($"Duplicate declaration for VM '{d.VmName}'.", nameof(declarations));
            }
        }

        foreach (var h in inventory.Hosts)
        {
            UpsertHostCore(h);
        }

        var hostOf = new Dictionary<VmId, HostId>(inventory.Placements.Count);
        foreach (var p in inventory.Placements)
        {
            hostOf[p.Vm] = p.Host;
        }

        // Vertices and offers first, then every slot once against the complete offer index.
        var added = new List<int>(inventory.Vms.Count);
        foreach (var vm in inventory.Vms)
        {
            added.Add(AddVertex(vm, hostOf.TryGetValue(vm.Id, out var h) ? h : null));
        }

        // Bulk: the reverse lists (slots each VM serves) are built once at their exact size afterwards.
        _bulkLoad = true;
        try
        {
            foreach (int v in added)
            {
                BuildSlots(v);
            }
        }
        finally
        {
            _bulkLoad = false;
        }

        RebuildReverse();

        // No full rescore: every VM was placed before any slot was built, so each slot's met count and each owner's
        // score are already final (Incremental_state_always_equals_a_full_rebuild and the benchmark check it).
        Version++;
    }

    /// <summary>Removes everything.</summary>
    public void Clear()
    {
        _hostIndex.Clear();
        _hostIds.Clear();
        _zoneIds.Clear();
        _rackIds.Clear();
        _vertexOf.Clear();
        _vertexByName.Clear();
        _freeVertices.Clear();
        _vertexCapacityUsed = 0;
        _typeIds.Clear();
        _offersByType.Clear();
        _slotsByType.Clear();
        _freeSlots.Clear();
        _slotCapacityUsed = 0;
        _declarations.Clear();
        Array.Clear(_vm);
        Array.Clear(_vmSlots);
        Array.Clear(_reverse);
        Array.Clear(_slotCandidates);
        Array.Clear(_slotSpec);
        _required = null;
        _scoreSum = _optimumSum = 0;
        _declaring = 0;
        DependencyCount = 0;
        EdgeCount = 0;
        Version++;
    }

    /// <summary>Adds or replaces a host (its location matters for latency).</summary>
    public void UpsertHost(HostInfo host)
    {
        ArgumentNullException.ThrowIfNull(host);
        bool known = _hostIndex.TryGetValue(host.Id, out int h);
        int zone = _hostZone.Length > 0 && known ? _hostZone[h] : -1, rack = known ? _hostRack[h] : -1;
        UpsertHostCore(host);
        if (known && (zone != _hostZone[h] || rack != _hostRack[h]))
        {
            RecountAll();
        }

        Version++;
    }

    /// <summary>Adds or replaces a VM on <paramref name="host"/> (null: not placed); its declaration applies by name.</summary>
    public void UpsertVm(VmInfo vm, HostId? host)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (_vertexOf.ContainsKey(vm.Id))
        {
            RemoveVm(vm.Id);
        }

        int v = AddVertex(vm, host);
        AttachAsCandidate(v);
        BuildSlots(v);
        Version++;
    }

    /// <summary>Removes a VM: its dependencies go, and it stops serving others' (which may break them).</summary>
    public bool RemoveVm(VmId id)
    {
        if (!_vertexOf.TryGetValue(id, out int v))
        {
            return false;
        }

        DropSlots(v);
        var reverse = _reverse[v];
        for (int i = reverse.Count - 1; i >= 0; i--)
        {
            int s = reverse[i];
            _slotCandidates[s].Remove(v);
            EdgeCount--;
            if (Meets(s, v))
            {
                _slotMet[s]--;
            }

            RefreshOwner(_slotOwner[s]);
        }

        _reverse[v].Clear();
        if (_type[v] >= 0)
        {
            var offers = _offersByType[_type[v]];
            offers.Remove(v);
            _offersByType[_type[v]] = offers;
        }

        RemoveContribution(v);
        _vertexOf.Remove(id);
        if (_vertexByName.TryGetValue(_vm[v]!.Name, out int byName) && byName == v)
        {
            _vertexByName.Remove(_vm[v]!.Name);
        }

        OnVertexRemoved(v);
        _vm[v] = null;
        _freeVertices.Push(v);
        Version++;
        return true;
    }

    /// <summary>
    /// Moves a VM to <paramref name="host"/> (null: unplaced). Touches only the VM's own dependencies and those it
    /// serves: O(own candidates + dependents).
    /// </summary>
    public void MoveVm(VmId id, HostId? host)
    {
        if (!_vertexOf.TryGetValue(id, out int v))
        {
            throw new KeyNotFoundException($"VM '{id}' is not in the ecosystem graph.");
        }

        MoveVertex(v, host is { } h ? HostIndex(h) : NotPlaced);
        Version++;
    }

    /// <summary>Adds or replaces a declaration; applies at once when its VM is present, otherwise when it appears.</summary>
    public void SetDeclaration(VmDeclaration declaration)
    {
        ArgumentNullException.ThrowIfNull(declaration);
        _declarations[declaration.VmName] = declaration;
        RebindDeclaration(declaration.VmName);
    }

    /// <summary>Removes a declaration.</summary>
    public bool RemoveDeclaration(string vmName)
    {
        if (!_declarations.Remove(vmName))
        {
            return false;
        }

        RebindDeclaration(vmName);
        return true;
    }

    /// <summary>Applies an inventory event from a provider's change feed.</summary>
    public void Apply(Hypervisor.InventoryChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        switch (change)
        {
            case Hypervisor.VmAdded a:
                UpsertVm(a.Vm, a.Host);
                break;
            case Hypervisor.VmRemoved r:
                RemoveVm(r.Vm);
                break;
            case Hypervisor.VmUpdated u:
                UpsertVm(u.Vm, _vertexOf.TryGetValue(u.Vm.Id, out int v) && _host[v] >= 0 ? _hostIds[_host[v]] : null);
                break;
            case Hypervisor.VmMoved m when _vertexOf.ContainsKey(m.Vm):
                MoveVm(m.Vm, m.To);
                break;
            case Hypervisor.HostAdded ha:
                UpsertHost(ha.Host);
                break;
            case Hypervisor.HostUpdated hu:
                UpsertHost(hu.Host);
                break;
        }
    }

    /// <summary>Recomputes every weight, count and score from scratch (after a weighting change, or to check the incremental state).</summary>
    public void Rescore()
    {
        RecountAll();
    }

    // ---------------------------------------------------------------- internals

    private void RebindDeclaration(string vmName)
    {
        if (_vertexByName.TryGetValue(vmName, out int v))
        {
            var vm = _vm[v]!;
            var host = _host[v] >= 0 ? _hostIds[_host[v]] : (HostId?)null;
            RemoveVm(vm.Id);
            UpsertVm(vm, host);
        }

        Version++;
    }

    private void UpsertHostCore(HostInfo host)
    {
        if (!_hostIndex.TryGetValue(host.Id, out int h))
        {
            h = _hostIds.Count;
            _hostIndex[host.Id] = h;
            _hostIds.Add(host.Id);
            if (h >= _hostZone.Length)
            {
                Array.Resize(ref _hostZone, h * 2);
                Array.Resize(ref _hostRack, h * 2);
            }
        }

        var loc = host.Location;
        if (!_zoneIds.TryGetValue(loc.Zone, out int zone))
        {
            _zoneIds[loc.Zone] = zone = _zoneIds.Count;
        }

        if (!_rackIds.TryGetValue((loc.Zone, loc.Rack), out int rack))
        {
            _rackIds[(loc.Zone, loc.Rack)] = rack = _rackIds.Count;
        }

        _hostZone[h] = zone;
        _hostRack[h] = rack;
    }

    private int HostIndex(HostId host)
    {
        if (!_hostIndex.TryGetValue(host, out int h))
        {
            // A host the graph was not told about: default location.
            UpsertHostCore(new HostInfo(host, new ResourceVector(1, 1, 1)));
            h = _hostIndex[host];
        }

        return h;
    }

    /// <summary>Network distance class between two host indexes (4 when either is not placed).</summary>
    internal int Distance(int hostA, int hostB)
    {
        if (hostA < 0 || hostB < 0)
        {
            return 4;
        }

        if (hostA == hostB)
        {
            return 0;
        }

        if (_hostZone[hostA] != _hostZone[hostB])
        {
            return 3;
        }

        return _hostRack[hostA] == _hostRack[hostB] ? 1 : 2;
    }

    private bool Meets(int slot, int candidate) =>
        Distance(_host[_slotOwner[slot]], _host[candidate]) <= _slotMaxDistance[slot];

    private int TypeId(string type)
    {
        if (!_typeIds.TryGetValue(type, out int t))
        {
            t = _typeIds.Count;
            _typeIds[type] = t;
            _offersByType.Add(default);
            _slotsByType.Add(default);
        }

        return t;
    }

    private int AddVertex(VmInfo vm, HostId? host)
    {
        if (_vertexOf.ContainsKey(vm.Id))
        {
            throw new ArgumentException($"VM '{vm.Id}' appears twice.");
        }

        int v;
        if (_freeVertices.Count > 0)
        {
            v = _freeVertices.Pop();
        }
        else
        {
            v = _vertexCapacityUsed++;
            EnsureVertexCapacity(v + 1);
        }

        _declarations.TryGetValue(vm.Name, out var declaration);
        var profile = declaration?.Provides?.ApplyTo(vm.Profile) ?? vm.Profile;
        _vm[v] = vm;
        _profile[v] = profile;
        _host[v] = host is { } h ? HostIndex(h) : NotPlaced;
        _type[v] = string.IsNullOrWhiteSpace(profile.Type) ? -1 : TypeId(profile.Type);
        _vmSlots[v].Clear();
        _reverse[v].Clear();
        _wTotal[v] = _wMet[v] = _wPossible[v] = 0;
        _contributes[v] = false;
        _vertexOf[vm.Id] = v;
        _vertexByName.TryAdd(vm.Name, v);
        if (_type[v] >= 0)
        {
            var offers = _offersByType[_type[v]];
            offers.Add(v);
            _offersByType[_type[v]] = offers;
        }

        return v;
    }

    /// <summary>Adds a new vertex as a candidate of every existing slot of its type that it matches.</summary>
    private void AttachAsCandidate(int v)
    {
        if (_type[v] < 0)
        {
            return;
        }

        var slots = _slotsByType[_type[v]];
        for (int i = 0; i < slots.Count; i++)
        {
            int s = slots[i];
            if (_slotOwner[s] == v || !_matcher.Matches(_slotSpec[s]!, _vm[v]!, _profile[v]))
            {
                continue;
            }

            _slotCandidates[s].Add(v);
            _reverse[v].Add(s);
            OnCandidateAdded(s, v);
            EdgeCount++;
            if (Meets(s, v))
            {
                _slotMet[s]++;
            }

            RefreshOwner(_slotOwner[s]);
        }
    }

    private void BuildSlots(int v)
    {
        if (!_declarations.TryGetValue(_vm[v]!.Name, out var declaration))
        {
            return;
        }

        foreach (var (kind, spec) in declaration.All())
        {
            int s = AllocateSlot();
            _slotOwner[s] = v;
            _slotKind[s] = kind;
            _slotSpec[s] = spec;
            _slotMaxDistance[s] = MaxDistance(spec);
            int type = TypeId(spec.Type);
            _slotType[s] = type;
            _slotWeight[s] = WeightOf(v, kind, spec);
            _slotCandidates[s] = IntList.WithCapacity(_offersByType[type].Count);
            _slotMet[s] = 0;
            var byType = _slotsByType[type];
            byType.Add(s);
            _slotsByType[type] = byType;
            _vmSlots[v].Add(s);
            DependencyCount++;
            var offers = _offersByType[type];
            for (int i = 0; i < offers.Count; i++)
            {
                int c = offers[i];
                if (c == v || !_matcher.Matches(spec, _vm[c]!, _profile[c]))
                {
                    continue;
                }

                _slotCandidates[s].Add(c);
                if (!_bulkLoad)
                {
                    _reverse[c].Add(s);
                }

                OnCandidateAdded(s, c);
                EdgeCount++;
                if (Meets(s, c))
                {
                    _slotMet[s]++;
                }
            }
        }

        RefreshOwner(v);
    }

    private bool _bulkLoad;

    /// <summary>Builds every VM's list of the slots it serves from the slots' candidates, each list allocated once.</summary>
    private void RebuildReverse()
    {
        var counts = new int[_vertexCapacityUsed];
        for (int s = 0; s < _slotCapacityUsed; s++)
        {
            if (_slotOwner[s] >= 0)
            {
                foreach (int c in _slotCandidates[s].AsSpan())
                {
                    counts[c]++;
                }
            }
        }

        for (int v = 0; v < _vertexCapacityUsed; v++)
        {
            _reverse[v] = IntList.WithCapacity(counts[v]);
        }

        for (int s = 0; s < _slotCapacityUsed; s++)
        {
            if (_slotOwner[s] >= 0)
            {
                foreach (int c in _slotCandidates[s].AsSpan())
                {
                    _reverse[c].Add(s);
                }
            }
        }
    }

    private void DropSlots(int v)
    {
        var slots = _vmSlots[v];
        for (int i = 0; i < slots.Count; i++)
        {
            int s = slots[i];
            var candidates = _slotCandidates[s];
            for (int j = 0; j < candidates.Count; j++)
            {
                _reverse[candidates[j]].Remove(s);
            }

            EdgeCount -= candidates.Count;
            var byType = _slotsByType[_slotType[s]];
            byType.Remove(s);
            _slotsByType[_slotType[s]] = byType;
            _slotCandidates[s].Clear();
            _slotOwner[s] = -1;
            _slotSpec[s] = null;
            _freeSlots.Push(s);
            DependencyCount--;
        }

        _vmSlots[v].Clear();
        OnSlotsDropped(v);
        RefreshOwner(v);
    }

    private int AllocateSlot()
    {
        if (_freeSlots.Count > 0)
        {
            return _freeSlots.Pop();
        }

        int s = _slotCapacityUsed++;
        EnsureSlotCapacity(s + 1);
        return s;
    }

    // Arrays grow by doubling; a bulk load sizes them once (rehashing and copying 100,000-entry structures
    // repeatedly was most of the build time).
    private void EnsureVertexCapacity(int needed)
    {
        if (needed <= _vm.Length)
        {
            return;
        }

        int n = Math.Max(needed, Math.Max(16, _vm.Length * 2));
        Array.Resize(ref _vm, n);
        Array.Resize(ref _profile, n);
        Array.Resize(ref _host, n);
        Array.Resize(ref _type, n);
        Array.Resize(ref _vmSlots, n);
        Array.Resize(ref _reverse, n);
        Array.Resize(ref _wTotal, n);
        Array.Resize(ref _wMet, n);
        Array.Resize(ref _wPossible, n);
        Array.Resize(ref _contributes, n);
    }

    private void EnsureSlotCapacity(int needed)
    {
        if (needed <= _slotOwner.Length)
        {
            return;
        }

        int n = Math.Max(needed, _slotOwner.Length * 2);
        Array.Resize(ref _slotOwner, n);
        Array.Resize(ref _slotKind, n);
        Array.Resize(ref _slotSpec, n);
        Array.Resize(ref _slotMaxDistance, n);
        Array.Resize(ref _slotType, n);
        Array.Resize(ref _slotWeight, n);
        Array.Resize(ref _slotCandidates, n);
        Array.Resize(ref _slotMet, n);
    }

    /// <summary>The farthest distance class that meets the latency and bandwidth bounds (-1: none does).</summary>
    private sbyte MaxDistance(DependencySpec spec)
    {
        sbyte max = 3;
        if (spec.Latency is { } bound)
        {
            max = Unreachable;
            for (sbyte d = 0; d <= 3; d++)
            {
                if (bound.IsMetBy(_topology.Latency((NetworkDistance)d)))
                {
                    max = d;
                }
            }
        }

        if (spec.MinBandwidthMbps is { } bandwidth)
        {
            sbyte bw = 0; // same host: the virtual switch is never the bottleneck
            if (_topology.RackBandwidthMbps >= bandwidth)
            {
                bw = 1;
                if (_topology.ZoneBandwidthMbps >= bandwidth)
                {
                    bw = 2;
                    if (_topology.CrossZoneBandwidthMbps >= bandwidth)
                    {
                        bw = 3;
                    }
                }
            }

            max = Math.Min(max, bw);
        }

        return max;
    }

    private double WeightOf(int owner, DependencyKind kind, DependencySpec spec)
    {
        double w = kind == DependencyKind.Required ? _options.RequiredWeight : _options.PreferredWeight;
        if (_weighting is not null)
        {
            w *= Math.Max(0, _weighting.Multiplier(_profile[owner].Type, spec.Type, kind));
        }

        return w;
    }

    private void MoveVertex(int v, int newHost)
    {
        int oldHost = _host[v];
        if (oldHost == newHost)
        {
            return;
        }

        // Slots this VM serves: O(1) each, from the distance to the owner before and after.
        var reverse = _reverse[v];
        for (int i = 0; i < reverse.Count; i++)
        {
            int s = reverse[i];
            int ownerHost = _host[_slotOwner[s]];
            int max = _slotMaxDistance[s];
            bool before = Distance(ownerHost, oldHost) <= max;
            bool after = Distance(ownerHost, newHost) <= max;
            if (before != after)
            {
                int was = _slotMet[s];
                _slotMet[s] += after ? 1 : -1;
                if ((was > 0) != (_slotMet[s] > 0))
                {
                    RefreshOwner(_slotOwner[s]);
                }
            }
        }

        _host[v] = newHost;

        // Its own slots: recount against every candidate.
        var own = _vmSlots[v];
        for (int i = 0; i < own.Count; i++)
        {
            int s = own[i];
            _slotMet[s] = CountMet(s);
        }

        if (own.Count > 0)
        {
            RefreshOwner(v);
        }
    }

    private int CountMet(int s)
    {
        int ownerHost = _host[_slotOwner[s]];
        if (ownerHost < 0)
        {
            return 0;
        }

        int max = _slotMaxDistance[s];
        int met = 0;
        var candidates = _slotCandidates[s].AsSpan();
        for (int j = 0; j < candidates.Length; j++)
        {
            if (Distance(ownerHost, _host[candidates[j]]) <= max)
            {
                met++;
            }
        }

        return met;
    }

    /// <summary>Recomputes a VM's weighted sums from its slots and updates the cluster sums.</summary>
    private void RefreshOwner(int v)
    {
        RemoveContribution(v);
        double total = 0, met = 0, possible = 0;
        var slots = _vmSlots[v];
        for (int i = 0; i < slots.Count; i++)
        {
            int s = slots[i];
            double w = _slotWeight[s];
            total += w;
            if (_slotMet[s] > 0)
            {
                met += w;
            }

            if (_slotCandidates[s].Count > 0 && _slotMaxDistance[s] >= 0)
            {
                possible += w;
            }
        }

        _wTotal[v] = total;
        _wMet[v] = met;
        _wPossible[v] = possible;
        AddContribution(v);
    }

    // A VM contributes to the cluster sums exactly what it added last time (flagged), so removing it is exact
    // even after its slots were dropped.
    private void RemoveContribution(int v)
    {
        if (_contributes[v])
        {
            _scoreSum -= _wMet[v] / _wTotal[v];
            _optimumSum -= _wPossible[v] / _wTotal[v];
            _declaring--;
            _contributes[v] = false;
        }

        _wTotal[v] = 0;
    }

    private void AddContribution(int v)
    {
        if (_vmSlots[v].Count > 0 && _wTotal[v] > 0)
        {
            _scoreSum += _wMet[v] / _wTotal[v];
            _optimumSum += _wPossible[v] / _wTotal[v];
            _declaring++;
            _contributes[v] = true;
        }
    }

    private void Reweigh()
    {
        for (int s = 0; s < _slotCapacityUsed; s++)
        {
            if (_slotOwner[s] >= 0 && _slotSpec[s] is { } spec)
            {
                _slotWeight[s] = WeightOf(_slotOwner[s], _slotKind[s], spec);
            }
        }

        RecountAll();
    }

    private void RecountAll()
    {
        _scoreSum = _optimumSum = 0;
        _declaring = 0;
        for (int v = 0; v < _vertexCapacityUsed; v++)
        {
            _wTotal[v] = 0;
            _contributes[v] = false;
        }

        for (int s = 0; s < _slotCapacityUsed; s++)
        {
            if (_slotOwner[s] >= 0)
            {
                _slotMet[s] = CountMet(s);
            }
        }

        for (int v = 0; v < _vertexCapacityUsed; v++)
        {
            if (_vm[v] is not null)
            {
                RefreshOwner(v);
            }
        }

        Version++;
    }
}
