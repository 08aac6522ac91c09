using VmEcosystem.Cluster;

namespace VmEcosystem.Planning;

/// <summary>
/// Placement rules a provider's VM metadata carries as labels (<see cref="VmInfo.Labels"/>; libvirt: the
/// <c>label</c> elements of the <c>vmeco:vm</c> metadata), read by the runtime with every inventory:
/// <list type="bullet">
/// <item><c>vmeco.io/anti-affinity</c> = a group name: no two VMs of the group share a host;</item>
/// <item><c>vmeco.io/do-not-migrate</c> = <c>true</c>: the VM stays where it is;</item>
/// <item><c>vmeco.io/exclude-hosts</c> = host names, comma-separated: never on those;</item>
/// <item><c>vmeco.io/only-hosts</c> = host names, comma-separated: only on those.</item>
/// </list>
/// </summary>
public static class PlacementLabels
{
    /// <summary>Label naming a VM's anti-affinity group.</summary>
    public const string AntiAffinity = "vmeco.io/anti-affinity";

    /// <summary>Label pinning a VM (<c>true</c>).</summary>
    public const string DoNotMigrate = "vmeco.io/do-not-migrate";

    /// <summary>Label listing hosts a VM must avoid.</summary>
    public const string ExcludeHosts = "vmeco.io/exclude-hosts";

    /// <summary>Label listing the only hosts a VM may use.</summary>
    public const string OnlyHosts = "vmeco.io/only-hosts";

    /// <summary>The rules the VMs' labels declare (empty when none do).</summary>
    public static PlacementConstraints Rules(IEnumerable<VmInfo> vms)
    {
        ArgumentNullException.ThrowIfNull(vms);
        var rules = new PlacementConstraints();
        var groups = new Dictionary<string, List<VmId>>(StringComparer.Ordinal);
        foreach (var vm in vms)
        {
            if (vm.Labels.Count == 0)
            {
                continue;
            }

            if (vm.Labels.TryGetValue(AntiAffinity, out var group) && !string.IsNullOrWhiteSpace(group))
            {
                if (!groups.TryGetValue(group, out var members))
                {
                    groups[group] = members = [];
                }

                members.Add(vm.Id);
            }

            if (vm.Labels.TryGetValue(DoNotMigrate, out var pin) && string.Equals(pin.Trim(), "true", StringComparison.OrdinalIgnoreCase))
            {
                rules.DoNotMigrate(vm.Id);
            }

            if (Hosts(vm, ExcludeHosts) is { Count: > 0 } excluded)
            {
                rules.ExcludeHosts(vm.Id, excluded);
            }

            if (Hosts(vm, OnlyHosts) is { Count: > 0 } only)
            {
                rules.RestrictToHosts(vm.Id, only);
            }
        }

        foreach (var members in groups.Values)
        {
            for (int i = 0; i < members.Count; i++)
            {
                for (int j = i + 1; j < members.Count; j++)
                {
                    rules.AddAntiAffinity(members[i], members[j]);
                }
            }
        }

        return rules;
    }

    private static List<HostId> Hosts(VmInfo vm, string key) =>
        vm.Labels.TryGetValue(key, out var value)
            ? [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(h => new HostId(h))]
            : [];
}
