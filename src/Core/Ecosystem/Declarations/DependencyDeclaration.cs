using VmEcosystem.Cluster;

namespace VmEcosystem.Ecosystem.Declarations;

/// <summary>Whether a dependency must be met (hard) or is only wanted (soft).</summary>
public enum DependencyKind
{
    /// <summary>Must be met: the planner never breaks a met required dependency.</summary>
    Required = 0,

    /// <summary>Wanted: raises the satisfaction score when met.</summary>
    Preferred = 1,
}

/// <summary>
/// One VM's declaration: what it needs from its neighbours and, optionally, what it offers (merged over the
/// profile the hypervisor reports). Parsed from the snake_case JSON documented by the shipped schema.
/// </summary>
public sealed record VmDeclaration
{
    /// <summary>The VM's name (matched against <see cref="VmInfo.Name"/>).</summary>
    public required string VmName { get; init; }

    /// <summary>Dependencies that must be met.</summary>
    public IReadOnlyList<DependencySpec> Required { get; init; } = [];

    /// <summary>Dependencies that are wanted.</summary>
    public IReadOnlyList<DependencySpec> Preferred { get; init; } = [];

    /// <summary>What the VM offers, overriding the reported profile field by field (null: the reported profile).</summary>
    public ProvidedProfile? Provides { get; init; }

    /// <summary>Every dependency with its kind, required first.</summary>
    public IEnumerable<(DependencyKind Kind, DependencySpec Spec)> All() =>
        Required.Select(r => (DependencyKind.Required, r)).Concat(Preferred.Select(p => (DependencyKind.Preferred, p)));
}

/// <summary>One declared dependency: a neighbour of a type, with optional version, proximity and resource constraints.</summary>
public sealed record DependencySpec
{
    /// <summary>The neighbour's type (<c>database</c>, <c>caching</c>, ...), compared case-insensitively.</summary>
    public required string Type { get; init; }

    /// <summary>Product and version the neighbour must run (<c>PostgreSQL 14</c> matches <c>PostgreSQL 14.9</c>).</summary>
    public VersionRequirement? Version { get; init; }

    /// <summary>Upper bound on the network latency to the neighbour.</summary>
    public LatencyBound? Latency { get; init; }

    /// <summary>Name of a resource profile the neighbour must satisfy (<c>high-memory</c>, ...).</summary>
    public string? ResourceProfile { get; init; }

    /// <summary>A similarity query the neighbour must match above the configured threshold.</summary>
    public FuzzyQuery? Fuzzy { get; init; }

    /// <summary>CPU architecture the neighbour must run on (<c>x86_64</c>, <c>aarch64</c>).</summary>
    public string? CpuArchitecture { get; init; }

    /// <summary>Minimum memory of the neighbour, MiB.</summary>
    public double? MinMemoryMiB { get; init; }

    /// <summary>Minimum network bandwidth between the two VMs, Mbit/s (a proximity requirement, like latency).</summary>
    public double? MinBandwidthMbps { get; init; }

    /// <summary>Storage type of the neighbour (<c>ssd</c>, <c>nvme</c>, ...).</summary>
    public string? StorageType { get; init; }

    /// <inheritdoc />
    public override string ToString()
    {
        var parts = new List<string> { Type };
        if (Version is not null)
        {
            parts.Add(Version.ToString());
        }

        if (Latency is { } l)
        {
            parts.Add(l.ToString());
        }

        if (ResourceProfile is not null)
        {
            parts.Add(ResourceProfile);
        }

        if (Fuzzy is not null)
        {
            parts.Add($"~{Fuzzy}");
        }

        return string.Join(' ', parts);
    }
}

/// <summary>What a VM offers, as declared (each non-null field replaces the reported one).</summary>
public sealed record ProvidedProfile
{
    /// <summary>The VM's type.</summary>
    public string? Type { get; init; }

    /// <summary>Software the VM runs.</summary>
    public IReadOnlyList<SoftwareComponent>? Software { get; init; }

    /// <summary>Tags for fuzzy matching.</summary>
    public IReadOnlyCollection<string>? Tags { get; init; }

    /// <summary>Signature vector for fuzzy matching.</summary>
    public IReadOnlyList<double>? Signature { get; init; }

    /// <summary>Storage type.</summary>
    public string? StorageType { get; init; }

    /// <summary>Workload class.</summary>
    public string? WorkloadClass { get; init; }

    /// <summary>The reported profile with the declared fields applied.</summary>
    public VmProfile ApplyTo(VmProfile reported) => reported with
    {
        Type = Type ?? reported.Type,
        SoftwareStack = Software ?? reported.SoftwareStack,
        Tags = Tags ?? reported.Tags,
        Signature = Signature ?? reported.Signature,
        StorageType = StorageType ?? reported.StorageType,
        WorkloadClass = WorkloadClass ?? reported.WorkloadClass,
    };
}
