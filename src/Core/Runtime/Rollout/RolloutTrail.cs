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
    public static Task<IReadOnlyList<Entry>> ReadAsync(IAuditStore store, CancellationToken cancellationToken) =>
        AuditDetails.LastByIdAsync(store, Decided, Read, e => e.Id, cancellationToken);

    private static Entry? Read(string detail)
    {
        try
        {
            return JsonSerializer.Deserialize<Entry>(detail) is { Id: not null, Group: not null, Members: not null, Settings: not null, Origin: not null } e ? e : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
