using System.Collections.Concurrent;
using System.Text.Json;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime.Rollout;

/// <summary>
/// Every configuration each VM has had, kept in the audit trail (one <see cref="AuditKind.ConfigurationVersioned"/>
/// record per version, its settings in the detail), so versions outlive a restart and are shared by replicas on one
/// store. A version is recorded when it was applied, never before.
/// </summary>
internal sealed class ConfigurationVersionStore
{
    private static readonly AuditQuery Versioned = new() { Kinds = [AuditKind.ConfigurationVersioned] };
    private readonly ConcurrentDictionary<VmId, List<ConfigurationVersion>> _versions = new();

    /// <summary>Every version of a VM, oldest first.</summary>
    public IReadOnlyList<ConfigurationVersion> List(VmId vm)
    {
        if (!_versions.TryGetValue(vm, out var list))
        {
            return [];
        }

        lock (list)
        {
            return [.. list];
        }
    }

    /// <summary>The VM's current version, or null when none was recorded.</summary>
    public ConfigurationVersion? Current(VmId vm) => List(vm) is { Count: > 0 } l ? l[^1] : null;

    /// <summary>A version by number, or null.</summary>
    public ConfigurationVersion? Get(VmId vm, int number) => List(vm).FirstOrDefault(v => v.Number == number);

    /// <summary>What changed from version <paramref name="from"/> to <paramref name="to"/>.</summary>
    public IReadOnlyList<SettingChange> Diff(VmId vm, int from, int to)
    {
        var a = Get(vm, from) ?? throw new KeyNotFoundException($"VM '{vm}' has no configuration version {from}.");
        var b = Get(vm, to) ?? throw new KeyNotFoundException($"VM '{vm}' has no configuration version {to}.");
        return Diff(a.Settings, b.Settings);
    }

    public static IReadOnlyList<SettingChange> Diff(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        [.. a.Keys.Union(b.Keys).Order(StringComparer.Ordinal)
            .Select(k => new SettingChange(k, a.TryGetValue(k, out var x) ? x : null, b.TryGetValue(k, out var y) ? y : null))
            .Where(c => c.From != c.To)];

    /// <summary>Records a version that was just applied, and audits it; returns it.</summary>
    public async Task<ConfigurationVersion> AddAsync(VmId vm, IReadOnlyDictionary<string, string> settings, IReadOnlyList<int> parents, string origin,
        double? score, DateTimeOffset now, Func<AuditKind, VmId, string, string, Task> audit)
    {
        var list = _versions.GetOrAdd(vm, _ => []);
        ConfigurationVersion version;
        lock (list)
        {
            version = new ConfigurationVersion(vm, list.Count == 0 ? 1 : list[^1].Number + 1, new Dictionary<string, string>(settings), parents, origin, score, now);
            list.Add(version);
        }

        string changes = parents.Count > 0 && Get(vm, parents[0]) is { } parent
            ? string.Join(", ", Diff(parent.Settings, version.Settings).Select(c => $"{c.Setting} {c.From ?? "-"} -> {c.To ?? "-"}"))
            : string.Join(", ", settings.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}"));
        await audit(AuditKind.ConfigurationVersioned, vm, $"{vm} configuration v{version.Number} ({origin}): {changes}",
            JsonSerializer.Serialize(new Entry(version.Number, new Dictionary<string, string>(version.Settings), version.Parents, origin, score))).ConfigureAwait(false);
        return version;
    }

    /// <summary>Reads every recorded version back from the trail (at start); returns how many VMs have versions.</summary>
    public async Task<int> RestoreAsync(IAuditStore store, CancellationToken cancellationToken)
    {
        var read = new Dictionary<VmId, List<ConfigurationVersion>>();
        await foreach (var r in store.QueryAsync(Versioned, cancellationToken).ConfigureAwait(false))
        {
            if (r.Vm is not { } vm || r.Detail is null)
            {
                continue;
            }

            Entry? e;
            try
            {
                e = JsonSerializer.Deserialize<Entry>(r.Detail);
            }
            catch (JsonException)
            {
                continue;
            }

            if (e?.Settings is null)
            {
                continue;
            }

            if (!read.TryGetValue(vm, out var list))
            {
                read[vm] = list = [];
            }

            if (list.All(v => v.Number != e.Number))
            {
                list.Add(new ConfigurationVersion(vm, e.Number, e.Settings, e.Parents ?? [], e.Origin ?? "", e.Score, r.Timestamp));
            }
        }

        foreach (var (vm, list) in read)
        {
            _versions[vm] = [.. list.OrderBy(v => v.Number)];
        }

        return read.Count;
    }

    private sealed record Entry(int Number, Dictionary<string, string> Settings, IReadOnlyList<int>? Parents, string? Origin, double? Score);
}
