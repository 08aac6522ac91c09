using VmEcosystem.Cluster;

namespace VmEcosystem.Planning;

/// <summary>
/// Hard placement rules between VMs: anti-affinity (never on one host) and required proximity (within a network
/// distance, from a latency requirement). Symmetric. Attached to the planning context; the ecosystem map fills it
/// from dependency declarations, operators can add their own.
/// </summary>
public sealed class PlacementConstraints
{
    private readonly Dictionary<VmId, List<VmId>> _antiAffinity = [];
    private readonly Dictionary<VmId, List<(VmId Peer, NetworkDistance Max)>> _proximity = [];

    /// <summary>Number of rules (each pair counted once).</summary>
    public int Count { get; private set; }

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

    /// <summary>VMs that may not share a host with <paramref name="vm"/>.</summary>
    public IReadOnlyList<VmId> AntiAffine(VmId vm) => _antiAffinity.TryGetValue(vm, out var l) ? l : [];

    /// <summary>VMs that must stay within a distance of <paramref name="vm"/>.</summary>
    public IReadOnlyList<(VmId Peer, NetworkDistance Max)> Proximity(VmId vm) => _proximity.TryGetValue(vm, out var l) ? l : [];

    /// <summary>
    /// Whether <paramref name="vm"/> may be on <paramref name="host"/> given where every other VM of
    /// <paramref name="state"/> is (or is planned to be). A peer in flight counts on its source and on its
    /// destination alike: the move may complete or fail, in any order with this one.
    /// </summary>
    public bool Allows(PlanningState state, int vm, int host)
    {
        var id = state.VmIds[vm];
        foreach (var peer in AntiAffine(id))
        {
            int p = state.IndexOf(peer);
            if (p >= 0 && state.VmActive[p] && (state.VmHost[p] == host || state.VmMigratingTo[p] == host))
            {
                return false;
            }
        }

        foreach (var (peer, max) in Proximity(id))
        {
            int p = state.IndexOf(peer);
            if (p < 0 || !state.VmActive[p])
            {
                continue;
            }

            if (!Near(state, host, state.VmHost[p], max) || !Near(state, host, state.VmMigratingTo[p], max))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Near(PlanningState state, int host, int peerHost, NetworkDistance max) =>
        peerHost < 0 || NetworkTopology.Distance(state.HostIds[host], state.HostLocation[host], state.HostIds[peerHost], state.HostLocation[peerHost]) <= max;

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
