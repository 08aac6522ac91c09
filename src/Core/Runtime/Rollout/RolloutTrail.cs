using System.Text.Json;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime.Rollout;

/// <summary>
/// Rollouts in the audit trail: each decision record carries the rollout's state (request, step, members, state) as
/// its detail, so a restarted runtime, or the next leader, resumes every rollout from its last decision.
/// </summary>
internal static class RolloutTrail
{
    private static readonly AuditQuery Decided = new() { Kinds = [AuditKind.RolloutDecided], Controller = RolloutController.ControllerName };

    internal sealed record Entry(string Id, IReadOnlyList<string> Group, IReadOnlyList<string> Members, Dictionary<string, string> Settings, string Origin,
        double? Score, int Step, RolloutState State, string? Decision);

    public static string Detail(Entry entry) => JsonSerializer.Serialize(entry);

    /// <summary>The last recorded state of every rollout, in the order they were first recorded.</summary>
    public static async Task<IReadOnlyList<Entry>> ReadAsync(IAuditStore store, CancellationToken cancellationToken)
    {
        var last = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var order = new List<string>();
        await foreach (var r in store.QueryAsync(Decided, cancellationToken).ConfigureAwait(false))
        {
            Entry? e;
            try
            {
                e = r.Detail is null ? null : JsonSerializer.Deserialize<Entry>(r.Detail);
            }
            catch (JsonException)
            {
                continue;
            }

            if (e is not { Id: not null, Group: not null, Members: not null, Settings: not null, Origin: not null })
            {
                continue;
            }

            if (!last.ContainsKey(e.Id))
            {
                order.Add(e.Id);
            }

            last[e.Id] = e;
        }

        return [.. order.Select(id => last[id])];
    }
}
