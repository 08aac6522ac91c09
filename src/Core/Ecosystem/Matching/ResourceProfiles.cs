using VmEcosystem.Cluster;

namespace VmEcosystem.Ecosystem.Matching;

/// <summary>A named predicate over a VM's resources (<c>high-memory</c>, ...), referenced by <c>resource_profile</c>.</summary>
/// <param name="Name">The name used in declarations.</param>
/// <param name="Description">What it means, for error messages and documentation.</param>
/// <param name="Predicate">True when the VM (with its effective profile) qualifies.</param>
public sealed record ResourceProfile(string Name, string Description, Func<VmInfo, VmProfile, bool> Predicate);

/// <summary>
/// The resource profiles declarations may name. Starts with the built-in ones; add or replace with
/// <see cref="Define"/> (names compare case-insensitively).
/// </summary>
public sealed class ResourceProfiles
{
    private readonly Dictionary<string, ResourceProfile> _profiles = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Creates the registry with the built-in profiles.</summary>
    public ResourceProfiles()
    {
        Define("high-memory", "at least 8 GiB of memory per vCPU", (vm, _) => MemoryPerVcpuGiB(vm) >= 8);
        Define("high-cpu", "at most 2 GiB of memory per vCPU and at least 4 vCPUs", (vm, _) => MemoryPerVcpuGiB(vm) <= 2 && vm.Allocation.CpuCores >= 4);
        Define("general-purpose", "between 2 and 8 GiB of memory per vCPU", (vm, _) => MemoryPerVcpuGiB(vm) is > 2 and < 8);
        Define("storage-optimized", "storage type nvme or ssd", (_, p) => p.StorageType is { } s
            && (s.Equals("nvme", StringComparison.OrdinalIgnoreCase) || s.Equals("ssd", StringComparison.OrdinalIgnoreCase)));
        Define("gpu", "GPU memory attached", (vm, _) => vm.Allocation.GpuMemoryGiB > 0);
        Define("large", "at least 16 vCPUs or 64 GiB of memory", (vm, _) => vm.Allocation.CpuCores >= 16 || vm.Allocation.MemoryMiB >= 64 * 1024);
    }

    /// <summary>Names of every profile.</summary>
    public IEnumerable<string> Names => _profiles.Keys.Order(StringComparer.OrdinalIgnoreCase);

    /// <summary>Adds or replaces a profile.</summary>
    public ResourceProfiles Define(string name, string description, Func<VmInfo, VmProfile, bool> predicate)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(predicate);
        _profiles[name.Trim()] = new ResourceProfile(name.Trim(), description ?? string.Empty, predicate);
        return this;
    }

    /// <summary>True when a profile of that name exists.</summary>
    public bool Contains(string name) => _profiles.ContainsKey(name);

    /// <summary>Gets a profile.</summary>
    public bool TryGet(string name, out ResourceProfile profile) => _profiles.TryGetValue(name, out profile!);

    /// <summary>True when <paramref name="vm"/> qualifies for the named profile (false for an unknown name).</summary>
    public bool Matches(string name, VmInfo vm, VmProfile profile) =>
        _profiles.TryGetValue(name, out var p) && p.Predicate(vm, profile);

    private static double MemoryPerVcpuGiB(VmInfo vm) =>
        vm.Allocation.CpuCores > 0 ? vm.Allocation.MemoryMiB / 1024 / vm.Allocation.CpuCores : 0;
}
