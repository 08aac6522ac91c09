using VmEcosystem.Cluster;

namespace VmEcosystem.Planning;

/// <summary>
/// Placement rules. Hard (every planner's filter, the executor's re-check and requested actions refuse what breaks
/// them): anti-affinity (never on one host), required proximity (within a network distance, from a latency
/// requirement), do-not-migrate (the VM stays where it is), host exclusions and host restrictions (only these
/// hosts). Soft (a scorer prefers hosts that keep them): prefer-together and prefer-apart. Pair rules are symmetric.
/// Attached to the planning context; the ecosystem map fills it from dependency declarations, operators add their
/// own (<c>AddPlacementRules</c>, or the <c>PlacementRules</c> configuration section).
/// </summary>
public sealed class PlacementConstraints
{
    private readonly Dictionary<VmId, List<VmId>> _antiAffinity = [];
    private readonly Dictionary<VmId, List<(VmId Peer, NetworkDistance Max)>> _proximity = [];
    private readonly HashSet<VmId> _pinned = [];
    private readonly Dictionary<VmId, HashSet<HostId>> _excluded = [];
    private readonly Dictionary<VmId, HashSet<HostId>> _onlyOn = [];
    private readonly Dictionary<VmId, List<VmId>> _together = [];
    private readonly Dictionary<VmId, List<VmId>> _apart = [];

    private int _count;
    private PlacementConstraints? _derived;

    /// <summary>Number of hard rules (each pair counted once), those derived from VM labels included.</summary>
    public int Count
    {
        get => _count + (_derived?.Count ?? 0);
        private set => _count = value;
    }

    /// <summary>
    /// Replaces the rules derived from the provider's VM metadata (<see cref="PlacementLabels"/>); the rules added
    /// directly stay. The runtime calls it with every inventory it reads.
    /// </summary>
    public void ReplaceDerived(PlacementConstraints? derived) => _derived = derived is { Count: > 0 } ? derived : null;

    /// <summary>Keeps <paramref name="a"/> and <paramref name="b"/> on different hosts.</summary>
    public void AddAntiAffinity(VmId a, VmId b)
    {
        if (a == b)
        {
            throw new ArgumentException($"VM '{a}' cannot be anti-affine with itself.");
        }

        Add(_antiAffinity, a, b);
        Add(_antiAffinity, b, a);
        Count++;
    }

    /// <summary>Keeps <paramref name="a"/> and <paramref name="b"/> at most <paramref name="max"/> apart.</summary>
    public void AddProximity(VmId a, VmId b, NetworkDistance max)
    {
        if (a == b)
        {
            throw new ArgumentException($"VM '{a}' cannot require proximity to itself.");
        }

        Add(_proximity, a, (b, max));
        Add(_proximity, b, (a, max));
        Count++;
    }

    /// <summary>Number of soft rules (pairs counted once).</summary>
    public int SoftCount { get; private set; }

    /// <summary>Keeps <paramref name="vm"/> where it is: no planner moves it and a requested move is refused.</summary>
    public void DoNotMigrate(VmId vm)
    {
        if (_pinned.Add(vm))
        {
            Count++;
        }
    }

    /// <summary>Never places <paramref name="vm"/> on any of <paramref name="hosts"/>.</summary>
    public void ExcludeHosts(VmId vm, IEnumerable<HostId> hosts) => AddHosts(_excluded, vm, hosts, nameof(ExcludeHosts));

    /// <summary>Places <paramref name="vm"/> only on <paramref name="hosts"/> (repeated calls widen the set).</summary>
    public void RestrictToHosts(VmId vm, IEnumerable<HostId> hosts) => AddHosts(_onlyOn, vm, hosts, nameof(RestrictToHosts));

    /// <summary>Prefers hosts that keep <paramref name="a"/> and <paramref name="b"/> together (soft).</summary>
    public void PreferTogether(VmId a, VmId b) => AddSoft(_together, a, b);

    /// <summary>Prefers hosts that keep <paramref name="a"/> and <paramref name="b"/> apart (soft).</summary>
    public void PreferApart(VmId a, VmId b) => AddSoft(_apart, a, b);

    /// <summary>True when <paramref name="vm"/> must stay where it is.</summary>
    public bool IsPinned(VmId vm) => _pinned.Contains(vm);

    /// <summary>VMs that may not share a host with <paramref name="vm"/>.</summary>
    public IReadOnlyList<VmId> AntiAffine(VmId vm) =>
        _derived?._antiAffinity.TryGetValue(vm, out var d) == true
            ? [.. (_antiAffinity.TryGetValue(vm, out var own) ? own : []).Concat(d)]
            : _antiAffinity.TryGetValue(vm, out var l) ? l : [];

    /// <summary>VMs that must stay within a distance of <paramref name="vm"/>.</summary>
    public IReadOnlyList<(VmId Peer, NetworkDistance Max)> Proximity(VmId vm) => _proximity.TryGetValue(vm, out var l) ? l : [];

    /// <summary>
    /// Whether <paramref name="vm"/> may be on <paramref name="host"/> given where every other VM of
    /// <paramref name="state"/> is (or is planned to be). A peer in flight counts on its source and on its
    /// destination alike: the move may complete or fail, in any order with this one.
    /// </summary>
    public bool Allows(PlanningState state, int vm, int host) => Find(state, vm, host).Rule == Rule.None;

    /// <summary>Why <paramref name="vm"/> may not be on <paramref name="host"/> (as for <see cref="Allows"/>), or null when it may.</summary>
    public string? Explain(PlanningState state, int vm, int host)
    {
        var (rule, peer, max) = Find(state, vm, host);
        var id = state.VmIds[vm];
        var hostId = state.HostIds[host];
        return rule switch
        {
            Rule.Pinned => $"{id} must not be migrated (do-not-migrate rule)",
            Rule.Excluded => $"{id} must not run on {hostId} (host exclusion rule)",
            Rule.OnlyOn => $"{id} may run only on {string.Join(", ", OnlyOn(id).Order().Take(3))}{(OnlyOn(id).Count > 3 ? ", ..." : string.Empty)} (host restriction rule)",
            Rule.AntiAffinity => $"{peer}, anti-affine with {id}, is on {hostId} or moving there (anti-affinity rule)",
            Rule.Proximity => $"{hostId} is farther than {max} from {peer}, where it is or is moving (proximity rule)",
            _ => null,
        };
    }

    private HashSet<HostId> OnlyOn(VmId vm) =>
        _derived?._onlyOn.TryGetValue(vm, out var derived) == true ? derived : _onlyOn.TryGetValue(vm, out var own) ? own : [];

    private enum Rule
    {
        None,
        Pinned,
        Excluded,
        OnlyOn,
        AntiAffinity,
        Proximity,
    }

    // The first hard rule placing the VM on the host breaks; allocation-free (it runs for every candidate host).
    private (Rule Rule, VmId Peer, NetworkDistance Max) Find(PlanningState state, int vm, int host)
    {
        var id = state.VmIds[vm];
        if (_derived?.Find(state, vm, host) is { Rule: not Rule.None } derived)
        {
            return derived;
        }

        if (_pinned.Count > 0 && _pinned.Contains(id) && state.VmHost[vm] != host)
        {
            return (Rule.Pinned, default, default);
        }

        if (_excluded.TryGetValue(id, out var excluded) && excluded.Contains(state.HostIds[host]))
        {
            return (Rule.Excluded, default, default);
        }

        if (_onlyOn.TryGetValue(id, out var only) && !only.Contains(state.HostIds[host]))
        {
            return (Rule.OnlyOn, default, default);
        }

        if (_antiAffinity.TryGetValue(id, out var antiAffine))
        {
            foreach (var peer in antiAffine)
            {
                int p = state.IndexOf(peer);
                if (p >= 0 && state.VmActive[p] && (state.VmHost[p] == host || state.VmMigratingTo[p] == host))
                {
                    return (Rule.AntiAffinity, peer, default);
                }
            }
        }

        foreach (var (peer, max) in _proximity.TryGetValue(id, out var near) ? near : [])
        {
            int p = state.IndexOf(peer);
            if (p < 0 || !state.VmActive[p])
            {
                continue;
            }

            if (!Near(state, host, state.VmHost[p], max) || !Near(state, host, state.VmMigratingTo[p], max))
            {
                return (Rule.Proximity, peer, max);
            }
        }

        return (Rule.None, default, default);
    }

    /// <summary>How many soft rules placing <paramref name="vm"/> on <paramref name="host"/> breaks (peers in flight count where they go).</summary>
    public int SoftViolations(PlanningState state, int vm, int host)
    {
        var id = state.VmIds[vm];
        int broken = 0;
        if (_together.TryGetValue(id, out var together))
        {
            foreach (var peer in together)
            {
                int p = state.IndexOf(peer);
                broken += p >= 0 && state.VmActive[p] && Where(state, p) != host ? 1 : 0;
            }
        }

        if (_apart.TryGetValue(id, out var apart))
        {
            foreach (var peer in apart)
            {
                int p = state.IndexOf(peer);
                broken += p >= 0 && state.VmActive[p] && Where(state, p) == host ? 1 : 0;
            }
        }

        return broken;
    }

    private static int Where(PlanningState state, int vm) => state.VmMigratingTo[vm] >= 0 ? state.VmMigratingTo[vm] : state.VmHost[vm];

    private static bool Near(PlanningState state, int host, int peerHost, NetworkDistance max) =>
        peerHost < 0 || NetworkTopology.Distance(state.HostIds[host], state.HostLocation[host], state.HostIds[peerHost], state.HostLocation[peerHost]) <= max;

    private void AddHosts(Dictionary<VmId, HashSet<HostId>> map, VmId vm, IEnumerable<HostId> hosts, string rule)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        var list = hosts.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException($"{rule} for VM '{vm}' needs at least one host.", nameof(hosts));
        }

        if (!map.TryGetValue(vm, out var set))
        {
            map[vm] = set = [];
            Count++;
        }

        set.UnionWith(list);
    }

    private void AddSoft(Dictionary<VmId, List<VmId>> map, VmId a, VmId b)
    {
        if (a == b)
        {
            throw new ArgumentException($"A soft rule needs two different VMs; got '{a}' twice.");
        }

        Add(map, a, b);
        Add(map, b, a);
        SoftCount++;
    }

    private static void Add<T>(Dictionary<VmId, List<T>> map, VmId key, T value)
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }

        list.Add(value);
    }
}

/// <summary>Rejects targets that would break a required proximity or a hard anti-affinity (see <see cref="PlacementConstraints"/>).</summary>
public sealed class PlacementConstraintFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "dependencies-and-anti-affinity";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host) =>
        pass.Context.Get<PlacementConstraints>() is not { Count: > 0 } constraints || constraints.Allows(pass.State, vm, host);
}

/// <summary>Prefers hosts that keep the soft rules of <see cref="PlacementConstraints"/> (prefer-together, prefer-apart): one unit per rule broken.</summary>
public sealed class PlacementPreferenceScorer : IPlacementScorer
{
    /// <inheritdoc />
    public string Name => "placement-preferences";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale => 1;

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host) =>
        pass.Context.Get<PlacementConstraints>() is { SoftCount: > 0 } rules ? rules.SoftViolations(pass.State, vm, host) : 0;
}
