using System.Text.Json;
using System.Text.Json.Serialization;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;

namespace VmEcosystem.Runtime;

/// <summary>
/// The actions of a plan held for approval, as JSON in its <c>PlanAwaitingApproval</c> audit record, so that a
/// runtime started on the same store holds the plan again (an approval after a restart still goes through every
/// check of the executor, against the cluster as it is then).
/// </summary>
internal static class PendingPlanRecord
{
    public static string Write(IReadOnlyList<ClusterAction> actions) =>
        JsonSerializer.Serialize(actions.Select(ToDto).ToList(), PendingPlanJson.Default.ListActionDto);

    /// <summary>The actions, or null when the detail is not a list of them.</summary>
    public static IReadOnlyList<ClusterAction>? Read(string detail, IReadOnlyList<IPendingActionRestorer>? restorers = null)
    {
        List<ActionDto>? dtos;
        try
        {
            dtos = JsonSerializer.Deserialize(detail, PendingPlanJson.Default.ListActionDto);
        }
        catch (JsonException)
        {
            return null;
        }

        if (dtos is null || dtos.Count == 0)
        {
            return null;
        }

        var actions = new List<ClusterAction>(dtos.Count);
        foreach (var d in dtos)
        {
            if (FromDto(d, restorers ?? []) is not { } action)
            {
                return null;
            }

            actions.Add(action);
        }

        return actions;
    }

    private static ActionDto ToDto(ClusterAction a) => a switch
    {
        MigrateAction m => new ActionDto(a.Kind, a.Vm.Value, a.Host.Value, m.Decision.Target.Value, a.Reason)
        {
            Stage = m.Decision.Stage, Rule = m.Decision.Rule, TriggerKind = m.Decision.Trigger.Kind, TriggerDetail = m.Decision.Trigger.Detail,
        },
        HotPlugAction p => new ActionDto(a.Kind, a.Vm.Value, a.Host.Value, null, a.Reason) { Vcpus = p.Request.Vcpus, MemoryMiB = p.Request.MemoryMiB },
        ResourceControlAction c => new ActionDto(a.Kind, a.Vm.Value, a.Host.Value, null, a.Reason) { Controls = c.Controls },
        _ => new ActionDto(a.Kind, a.Vm.Value, a.Host.Value, a.Target?.Value, a.Reason) { Payload = a.PendingPayload },
    };

    private static ClusterAction? FromDto(ActionDto d, IReadOnlyList<IPendingActionRestorer> restorers)
    {
        if (string.IsNullOrWhiteSpace(d.Vm) || string.IsNullOrWhiteSpace(d.Host))
        {
            return null;
        }

        var vm = new VmId(d.Vm);
        var host = new HostId(d.Host);
        return d.Kind switch
        {
            MigrateAction.KindName when d.Target is { Length: > 0 } target => new MigrateAction(new MigrationDecision
            {
                Vm = vm, Source = host, Target = new HostId(target), VmIndex = -1, TargetIndex = -1,
                Stage = d.Stage ?? "restored", Rule = d.Rule ?? "restored",
                Trigger = new TriggerEvidence(d.TriggerKind ?? "restored", d.TriggerDetail ?? d.Reason),
            }),
            HotPlugAction.KindName => new HotPlugAction(vm, host, new HotPlugRequest(d.Vcpus, d.MemoryMiB), d.Reason),
            ResourceControlAction.KindName when d.Controls is not null => new ResourceControlAction(vm, host, d.Controls, d.Reason),
            _ => restorers.FirstOrDefault(r => r.Kind == d.Kind)?.Restore(vm, host, d.Reason, d.Payload), // null: an application's own kind
        };
    }
}

internal sealed record ActionDto(string Kind, string Vm, string Host, string? Target, string Reason)
{
    public string? Stage { get; init; }

    public string? Rule { get; init; }

    public string? TriggerKind { get; init; }

    public string? TriggerDetail { get; init; }

    public int? Vcpus { get; init; }

    public double? MemoryMiB { get; init; }

    public ResourceControls? Controls { get; init; }

    public string? Payload { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(List<ActionDto>))]
internal sealed partial class PendingPlanJson : JsonSerializerContext;
