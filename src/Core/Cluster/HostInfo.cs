namespace VmEcosystem.Cluster;

/// <summary>Whether a host takes new work.</summary>
public enum HostState
{
    /// <summary>Running and accepting VMs.</summary>
    Online = 0,

    /// <summary>In maintenance: accepts no VMs and should be evacuated.</summary>
    Maintenance = 1,

    /// <summary>Switched off or unreachable.</summary>
    Offline = 2,
}

/// <summary>A physical host as the library sees it. Immutable: changes arrive as new instances.</summary>
public sealed record HostInfo
{
    /// <summary>Creates a host description.</summary>
    public HostInfo(HostId id, ResourceVector capacity)
    {
        if (!capacity.IsValidAmount() || capacity.CpuCores < 1 || capacity.CpuMhz <= 0 || capacity.MemoryMiB <= 0)
        {
            throw new ArgumentException(
                $"Host '{id}' needs at least one core, positive MHz and memory, and no negative or infinite amounts; got {capacity}.",
                nameof(capacity));
        }

        Id = id;
        Capacity = capacity;
    }

    /// <summary>Stable identifier.</summary>
    public HostId Id { get; }

    /// <summary>Display name; defaults to the identifier.</summary>
    public string Name { get => field ?? Id.Value; init; }

    /// <summary>Total capacity. <see cref="ResourceVector.CpuCores"/> is the number of physical cores (PEs).</summary>
    public ResourceVector Capacity { get; }

    /// <summary>Capacity of one core in MHz; a single vCPU can never use more than this.</summary>
    public double CoreMhz => Capacity.CpuMhz / Capacity.CpuCores;

    /// <summary>Zone and rack.</summary>
    public TopologyLocation Location { get; init; } = TopologyLocation.Default;

    /// <summary>CPU architecture (e.g. <c>x86_64</c>, <c>aarch64</c>).</summary>
    public string CpuArchitecture { get; init; } = "x86_64";

    /// <summary>Free-form labels (hardware generation, storage type, ...).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = EmptyLabels;

    /// <summary>Power model, when known; energy-aware scoring skips hosts without one.</summary>
    public IPowerModel? PowerModel { get; init; }

    /// <summary>The host set this host belongs to, if any.</summary>
    public HostSetId? HostSet { get; init; }

    /// <summary>Whether the host accepts VMs.</summary>
    public HostState State { get; init; } = HostState.Online;

    internal static readonly IReadOnlyDictionary<string, string> EmptyLabels = new Dictionary<string, string>();
}

/// <summary>A named group of hosts that share headroom, policies and aggregated forecasts.</summary>
/// <param name="Id">Identifier.</param>
/// <param name="Hosts">Member hosts.</param>
public sealed record HostSet(HostSetId Id, IReadOnlyList<HostId> Hosts);
