using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Ecosystem.Matching;

/// <summary>
/// Decides whether a VM can serve a declared dependency, location aside: type, version against its software
/// stack, resource profile, fuzzy similarity, CPU architecture, memory and storage type. Latency and bandwidth
/// depend on where the two VMs run and are checked by the graph against the topology.
/// </summary>
public sealed class DependencyMatcher
{
    private static readonly Dictionary<string, string> ArchitectureAliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["amd64"] = "x86_64", ["x64"] = "x86_64", ["x86-64"] = "x86_64", ["arm64"] = "aarch64", ["armv8"] = "aarch64",
    };

    private readonly ResourceProfiles _profiles;
    private readonly IFuzzySimilarity _similarity;
    private readonly double _fuzzyThreshold;

    /// <summary>Creates a matcher.</summary>
    public DependencyMatcher(ResourceProfiles profiles, IFuzzySimilarity similarity, double fuzzyThreshold)
    {
        _profiles = profiles;
        _similarity = similarity;
        _fuzzyThreshold = fuzzyThreshold;
    }

    /// <summary>True when <paramref name="candidate"/> (with its effective profile) serves <paramref name="spec"/>.</summary>
    public bool Matches(DependencySpec spec, VmInfo candidate, VmProfile profile) => Mismatch(spec, candidate, profile) is null;

    /// <summary>Why <paramref name="candidate"/> does not serve <paramref name="spec"/>, or null when it does.</summary>
    public string? Mismatch(DependencySpec spec, VmInfo candidate, VmProfile profile)
    {
        if (!string.Equals(profile.Type, spec.Type, StringComparison.OrdinalIgnoreCase))
        {
            return $"type is '{profile.Type ?? "(none)"}', not '{spec.Type}'";
        }

        if (spec.Version is { } version && !version.IsMetBy(profile.SoftwareStack))
        {
            return $"runs {(profile.SoftwareStack.Count == 0 ? "no declared software" : string.Join(", ", profile.SoftwareStack))}, not {version}";
        }

        if (spec.ResourceProfile is { } rp && !_profiles.Matches(rp, candidate, profile))
        {
            return $"is not {rp}";
        }

        if (spec.CpuArchitecture is { } arch && !string.Equals(Normalize(arch), Normalize(candidate.CpuArchitecture), StringComparison.OrdinalIgnoreCase))
        {
            return $"runs on {candidate.CpuArchitecture}, not {arch}";
        }

        if (spec.MinMemoryMiB is { } memory && candidate.Allocation.MemoryMiB < memory)
        {
            return $"has {candidate.Allocation.MemoryMiB:0} MiB, needs {memory:0}";
        }

        if (spec.StorageType is { } storage && !string.Equals(profile.StorageType, storage, StringComparison.OrdinalIgnoreCase))
        {
            return $"storage is '{profile.StorageType ?? "(unknown)"}', not '{storage}'";
        }

        if (spec.Fuzzy is { } fuzzy)
        {
            double similarity = _similarity.Similarity(fuzzy, candidate, profile);
            double threshold = fuzzy.Threshold ?? _fuzzyThreshold;
            if (!(similarity >= threshold))
            {
                return $"similarity {similarity:0.00} is below {threshold:0.00}";
            }
        }

        return null;
    }

    private static string Normalize(string arch) => ArchitectureAliases.TryGetValue(arch, out var n) ? n : arch;
}
