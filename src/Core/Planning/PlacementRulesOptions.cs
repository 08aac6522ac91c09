using VmEcosystem.Cluster;

namespace VmEcosystem.Planning;

/// <summary>
/// Placement rules from configuration (section <c>VmEcosystem:PlacementRules</c>), by VM and host name, added to the
/// runtime's <see cref="PlacementConstraints"/> at start. Validated at start with messages naming the setting.
/// </summary>
/// <example><code>
/// "PlacementRules": {
///   "AntiAffinity": [ ["db-1", "db-2", "db-3"] ],
///   "PreferTogether": [ ["web-1", "cache-1"] ],
///   "DoNotMigrate": [ "license-server" ],
///   "ExcludeHosts": { "db-1": [ "host-07" ] },
///   "OnlyOnHosts": { "gpu-job": [ "host-10", "host-11" ] }
/// }
/// </code></example>
public sealed class PlacementRulesOptions
{
    /// <summary>Groups of VMs no two of which may share a host (hard).</summary>
    public IList<List<string>> AntiAffinity { get; set; } = [];

    /// <summary>Groups of VMs the planner prefers to keep on one host (soft).</summary>
    public IList<List<string>> PreferTogether { get; set; } = [];

    /// <summary>Groups of VMs the planner prefers to keep on different hosts (soft).</summary>
    public IList<List<string>> PreferApart { get; set; } = [];

    /// <summary>VMs that are never migrated (hard; evacuation leaves them where they are).</summary>
    public IList<string> DoNotMigrate { get; set; } = [];

    /// <summary>Hosts a VM must never run on (hard).</summary>
    public IDictionary<string, List<string>> ExcludeHosts { get; set; } = new Dictionary<string, List<string>>(StringComparer.Ordinal);

    /// <summary>The only hosts a VM may run on (hard).</summary>
    public IDictionary<string, List<string>> OnlyOnHosts { get; set; } = new Dictionary<string, List<string>>(StringComparer.Ordinal);

    /// <summary>True when no rule is configured.</summary>
    public bool IsEmpty => AntiAffinity.Count + PreferTogether.Count + PreferApart.Count + DoNotMigrate.Count + ExcludeHosts.Count + OnlyOnHosts.Count == 0;

    /// <summary>Every problem, each naming its setting (empty when valid).</summary>
    public IReadOnlyList<string> Validate(string prefix = "VmEcosystem:PlacementRules:")
    {
        var errors = new List<string>();
        void Groups(IList<List<string>> groups, string name)
        {
            for (int i = 0; i < groups.Count; i++)
            {
                var g = groups[i] ?? [];
                if (g.Any(string.IsNullOrWhiteSpace))
                {
                    errors.Add($"{prefix}{name}:{i} has an empty VM name.");
                }
                else if (g.Distinct(StringComparer.Ordinal).Count() < 2)
                {
                    errors.Add($"{prefix}{name}:{i} must name at least two different VMs; got [{string.Join(", ", g)}].");
                }
            }
        }

        void Hosts(IDictionary<string, List<string>> map, string name)
        {
            foreach (var (vm, hosts) in map)
            {
                if (string.IsNullOrWhiteSpace(vm))
                {
                    errors.Add($"{prefix}{name} has an empty VM name.");
                }

                if (hosts is null || hosts.Count == 0 || hosts.Any(string.IsNullOrWhiteSpace))
                {
                    errors.Add($"{prefix}{name}:{vm} must list one or more host names.");
                }
            }
        }

        Groups(AntiAffinity, nameof(AntiAffinity));
        Groups(PreferTogether, nameof(PreferTogether));
        Groups(PreferApart, nameof(PreferApart));
        Hosts(ExcludeHosts, nameof(ExcludeHosts));
        Hosts(OnlyOnHosts, nameof(OnlyOnHosts));
        for (int i = 0; i < DoNotMigrate.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(DoNotMigrate[i]))
            {
                errors.Add($"{prefix}{nameof(DoNotMigrate)}:{i} is an empty VM name.");
            }
        }

        foreach (var (vm, only) in OnlyOnHosts)
        {
            if (only is { Count: > 0 } && ExcludeHosts.TryGetValue(vm, out var excluded) && excluded is not null && only.All(excluded.Contains))
            {
                errors.Add($"{prefix}{nameof(OnlyOnHosts)}:{vm} and {prefix}{nameof(ExcludeHosts)}:{vm} contradict: every allowed host is excluded.");
            }
        }

        foreach (var g in AntiAffinity.Where(g => g is not null))
        {
            foreach (var together in PreferTogether.Where(t => t is not null))
            {
                var both = g.Intersect(together, StringComparer.Ordinal).Take(2).ToList();
                if (both.Count == 2)
                {
                    errors.Add($"{prefix}{nameof(AntiAffinity)} and {prefix}{nameof(PreferTogether)} contradict for {both[0]} and {both[1]}.");
                }
            }
        }

        return errors;
    }

    /// <summary>Adds the rules to <paramref name="constraints"/> (validate first).</summary>
    public void ApplyTo(PlacementConstraints constraints)
    {
        ArgumentNullException.ThrowIfNull(constraints);
        static IEnumerable<(VmId A, VmId B)> Pairs(List<string> g)
        {
            var ids = g.Distinct(StringComparer.Ordinal).Select(n => new VmId(n)).ToList();
            for (int i = 0; i < ids.Count; i++)
            {
                for (int j = i + 1; j < ids.Count; j++)
                {
                    yield return (ids[i], ids[j]);
                }
            }
        }

        foreach (var (a, b) in AntiAffinity.SelectMany(Pairs))
        {
            constraints.AddAntiAffinity(a, b);
        }

        foreach (var (a, b) in PreferTogether.SelectMany(Pairs))
        {
            constraints.PreferTogether(a, b);
        }

        foreach (var (a, b) in PreferApart.SelectMany(Pairs))
        {
            constraints.PreferApart(a, b);
        }

        foreach (var vm in DoNotMigrate)
        {
            constraints.DoNotMigrate(new VmId(vm));
        }

        foreach (var (vm, hosts) in ExcludeHosts)
        {
            constraints.ExcludeHosts(new VmId(vm), hosts.Select(h => new HostId(h)));
        }

        foreach (var (vm, hosts) in OnlyOnHosts)
        {
            constraints.RestrictToHosts(new VmId(vm), hosts.Select(h => new HostId(h)));
        }
    }
}
