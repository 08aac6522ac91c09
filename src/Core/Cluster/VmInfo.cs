namespace VmEcosystem.Cluster;

/// <summary>Service level a VM is promised; orders who is protected first when capacity is short.</summary>
public enum SloClass
{
    /// <summary>May be throttled or moved freely.</summary>
    BestEffort = 0,

    /// <summary>The default.</summary>
    Standard = 1,

    /// <summary>Paid-for performance.</summary>
    Premium = 2,

    /// <summary>Must not degrade; moved first out of trouble, last for consolidation.</summary>
    Critical = 3,
}

/// <summary>Power state of a VM.</summary>
public enum VmPowerState
{
    /// <summary>Running.</summary>
    Running = 0,

    /// <summary>Paused or suspended.</summary>
    Paused = 1,

    /// <summary>Defined but not running.</summary>
    Stopped = 2,
}

/// <summary>One piece of software a VM runs, such as <c>PostgreSQL 14.9</c>.</summary>
/// <param name="Name">Product name, compared case-insensitively.</param>
/// <param name="Version">Version text (dotted numbers), may be empty.</param>
public sealed record SoftwareComponent(string Name, string Version)
{
    /// <summary>Parses <c>"PostgreSQL 14.9"</c>: the last whitespace-separated token that starts with a digit is the version.</summary>
    public static SoftwareComponent Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        string trimmed = text.Trim();
        int space = trimmed.LastIndexOf(' ');
        if (space > 0 && char.IsAsciiDigit(trimmed[space + 1]))
        {
            return new SoftwareComponent(trimmed[..space].Trim(), trimmed[(space + 1)..]);
        }

        return new SoftwareComponent(trimmed, string.Empty);
    }

    /// <inheritdoc />
    public override string ToString() => Version.Length == 0 ? Name : $"{Name} {Version}";
}

/// <summary>What a VM is and offers: matched by other VMs' dependency declarations.</summary>
public sealed record VmProfile
{
    /// <summary>An empty profile.</summary>
    public static VmProfile Empty { get; } = new();

    /// <summary>Role of the VM (<c>database</c>, <c>caching</c>, <c>web</c>, ...).</summary>
    public string? Type { get; init; }

    /// <summary>Software the VM runs, e.g. <c>PostgreSQL 14.9</c>.</summary>
    public IReadOnlyList<SoftwareComponent> SoftwareStack { get; init; } = [];

    /// <summary>Workload class (<c>batch</c>, <c>interactive</c>, <c>latency-sensitive</c>, ...).</summary>
    public string? WorkloadClass { get; init; }

    /// <summary>Storage type the VM's disks sit on (<c>ssd</c>, <c>nvme</c>, <c>hdd</c>, ...).</summary>
    public string? StorageType { get; init; }

    /// <summary>Tags used for fuzzy matching (Jaccard similarity).</summary>
    public IReadOnlyCollection<string> Tags { get; init; } = [];

    /// <summary>Optional numeric signature used for fuzzy matching (cosine similarity).</summary>
    public IReadOnlyList<double>? Signature { get; init; }
}

/// <summary>A virtual machine as the library sees it. Immutable: changes arrive as new instances.</summary>
public sealed record VmInfo
{
    /// <summary>Creates a VM description.</summary>
    /// <param name="id">Stable identifier.</param>
    /// <param name="allocation">Configured size: vCPUs, their total MHz, memory and limits.</param>
    public VmInfo(VmId id, ResourceVector allocation)
    {
        if (!allocation.IsValidAmount() || allocation.CpuCores < 1 || allocation.CpuMhz <= 0 || allocation.MemoryMiB <= 0)
        {
            throw new ArgumentException(
                $"VM '{id}' needs at least one vCPU, positive MHz and memory, and no negative or infinite amounts; got {allocation}.",
                nameof(allocation));
        }

        Id = id;
        Allocation = allocation;
    }

    /// <summary>Stable identifier.</summary>
    public VmId Id { get; }

    /// <summary>Display name; defaults to the identifier.</summary>
    public string Name { get => field ?? Id.Value; init; }

    /// <summary>Configured size. <see cref="ResourceVector.CpuCores"/> is the vCPU count.</summary>
    public ResourceVector Allocation { get; }

    /// <summary>The most the VM can be hot-plugged to (max vCPUs, max memory); defaults to <see cref="Allocation"/>.</summary>
    public ResourceVector MaxAllocation { get => field == default ? Allocation : field; init; }

    /// <summary>Role, software and tags.</summary>
    public VmProfile Profile { get; init; } = VmProfile.Empty;

    /// <summary>Free-form labels.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = HostInfo.EmptyLabels;

    /// <summary>Relative importance within an SLO class (higher first).</summary>
    public int Priority { get; init; }

    /// <summary>Service level.</summary>
    public SloClass Slo { get; init; } = SloClass.Standard;

    /// <summary>Power state.</summary>
    public VmPowerState State { get; init; } = VmPowerState.Running;

    /// <summary>CPU architecture the VM needs.</summary>
    public string CpuArchitecture { get; init; } = "x86_64";
}
