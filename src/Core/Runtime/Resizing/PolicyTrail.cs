using System.Text.Json;
using VmEcosystem.Policies;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// Resizing policy versions in the audit trail: each version that comes into use is recorded with its document, so a
/// version set at run time (through the API) outlives a restart and reaches the other replicas on the same store.
/// At start, and when an instance takes the lead, the last version recorded wins over the configured one if the
/// configured version was in use before it (someone replaced it at run time). If the configured version never was
/// in use, the configuration changed since, and it wins.
/// </summary>
internal static class PolicyTrail
{
    private static readonly AuditQuery InUse = new() { Kinds = [AuditKind.PolicyVersionInUse], Controller = ResizingController.ControllerName };

    /// <summary>The detail of a version's in-use record: version, source and the document itself.</summary>
    public static string Detail(PolicyVersion version) => JsonSerializer.Serialize(new Entry(version.Version, version.Source, version.Set.Document));

    /// <summary>Makes the trail's last recorded version current when it replaced the configured one; returns what it did (null: nothing).</summary>
    public static async Task<string?> RestoreAsync(ResizePolicyStore policies, IAuditStore store, CancellationToken cancellationToken)
    {
        string current = policies.Current.Version;
        bool currentSeen = false, currentSeenBeforeLast = false;
        Entry? last = null;
        await foreach (var r in store.QueryAsync(InUse, cancellationToken).ConfigureAwait(false))
        {
            if (Read(r.Detail) is not { } entry)
            {
                continue;
            }

            if (entry.Version == current)
            {
                currentSeen = true;
            }
            else
            {
                currentSeenBeforeLast = currentSeen;
            }

            last = entry;
        }

        if (last is null || last.Version == current || !currentSeenBeforeLast)
        {
            return null;
        }

        var result = policies.Load(System.Text.Encoding.UTF8.GetBytes(last.Document), $"the audit trail (set by {last.Source})");
        return result.Set is null
            ? $"the trail's resizing policies version {last.Version} no longer parses: {string.Join("; ", result.Errors.Select(e => $"{e.Path}: {e.Message}"))}"
            : $"resizing policies version {last.Version} (set by {last.Source}) restored from the trail over the configured {current}";
    }

    private static Entry? Read(string? detail)
    {
        if (detail is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<Entry>(detail) is { Version: not null, Document: not null } entry ? entry : null;
        }
        catch (JsonException)
        {
            return null; // a record from before documents were kept
        }
    }

    private sealed record Entry(string Version, string Source, string Document);
}
