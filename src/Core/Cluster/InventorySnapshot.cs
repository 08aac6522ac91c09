namespace VmEcosystem.Cluster;

/// <summary>Where a VM runs. A VM is placed on exactly one host at any time, also while it migrates.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Host">The host that owns it.</param>
public readonly record struct Placement(VmId Vm, HostId Host);

/// <summary>A consistent view of a cluster's hosts, VMs and placements at one instant.</summary>
public sealed record InventorySnapshot
{
    /// <summary>Creates a snapshot and checks that it is internally consistent.</summary>
    /// <exception cref="ArgumentException">Duplicate ids, or placements naming unknown hosts or VMs.</exception>
    public InventorySnapshot(
        IReadOnlyList<HostInfo> hosts,
        IReadOnlyList<VmInfo> vms,
        IReadOnlyList<Placement> placements,
        DateTimeOffset timestamp,
        long version = 0,
        IReadOnlyList<HostSet>? hostSets = null)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(vms);
        ArgumentNullException.ThrowIfNull(placements);
        var hostById = new Dictionary<HostId, HostInfo>(hosts.Count);
        foreach (var host in hosts)
        {
            if (!hostById.TryAdd(host.Id, host))
            {
                throw new ArgumentException($"Host '{host.Id}' appears twice in the inventory.", nameof(hosts));
            }
        }

        var vmById = new Dictionary<VmId, VmInfo>(vms.Count);
        foreach (var vm in vms)
        {
            if (!vmById.TryAdd(vm.Id, vm))
            {
                throw new ArgumentException($"VM '{vm.Id}' appears twice in the inventory.", nameof(vms));
            }
        }

        var hostOf = new Dictionary<VmId, HostId>(placements.Count);
        foreach (var p in placements)
        {
            if (!vmById.ContainsKey(p.Vm))
            {
                throw new ArgumentException($"Placement names unknown VM '{p.Vm}'.", nameof(placements));
            }

            if (!hostById.ContainsKey(p.Host))
            {
                throw new ArgumentException($"VM '{p.Vm}' is placed on unknown host '{p.Host}'.", nameof(placements));
            }

            if (!hostOf.TryAdd(p.Vm, p.Host))
            {
                throw new ArgumentException($"VM '{p.Vm}' is placed on two hosts.", nameof(placements));
            }
        }

        Hosts = hosts;
        Vms = vms;
        Placements = placements;
        Timestamp = timestamp;
        Version = version;
        HostSets = hostSets ?? [];
        _hostById = hostById;
        _vmById = vmById;
        _hostOf = hostOf;
    }

    private readonly Dictionary<HostId, HostInfo> _hostById;
    private readonly Dictionary<VmId, VmInfo> _vmById;
    private readonly Dictionary<VmId, HostId> _hostOf;

    /// <summary>All hosts.</summary>
    public IReadOnlyList<HostInfo> Hosts { get; }

    /// <summary>All VMs.</summary>
    public IReadOnlyList<VmInfo> Vms { get; }

    /// <summary>Where each placed VM runs.</summary>
    public IReadOnlyList<Placement> Placements { get; }

    /// <summary>Host sets.</summary>
    public IReadOnlyList<HostSet> HostSets { get; }

    /// <summary>When the snapshot was taken (provider's clock).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Monotonic version: grows with every inventory change the provider reports.</summary>
    public long Version { get; }

    /// <summary>Looks up a host.</summary>
    public bool TryGetHost(HostId id, out HostInfo host) => _hostById.TryGetValue(id, out host!);

    /// <summary>Looks up a VM.</summary>
    public bool TryGetVm(VmId id, out VmInfo vm) => _vmById.TryGetValue(id, out vm!);

    /// <summary>The host a VM runs on.</summary>
    public bool TryGetHostOf(VmId vm, out HostId host) => _hostOf.TryGetValue(vm, out host);

    /// <summary>The VMs on a host, in placement order.</summary>
    public IEnumerable<VmId> VmsOn(HostId host)
    {
        foreach (var p in Placements)
        {
            if (p.Host == host)
            {
                yield return p.Vm;
            }
        }
    }
}
