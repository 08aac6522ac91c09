using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;

namespace VmEcosystem.Runtime;

/// <summary>
/// An action that changes the cluster. Every kind goes through the runtime's one executor: the same limits (per
/// host, per cluster, per window, per-VM cooldown and failure backoff), the same modes and the same audit.
/// </summary>
/// <param name="Vm">The VM acted on.</param>
/// <param name="Host">The host the VM is expected on when the action starts (the action is skipped as stale otherwise).</param>
/// <param name="Reason">Why, in one line (audited).</param>
public abstract record ClusterAction(VmId Vm, HostId Host, string Reason)
{
    /// <summary>Kind name for modes, metrics and audit (<c>migrate</c>, <c>hot-plug</c>, <c>resource-controls</c>).</summary>
    public abstract string Kind { get; }

    /// <summary>A second host the action touches (a migration's target), counted by the per-host limit.</summary>
    public virtual HostId? Target => null;

    /// <summary>
    /// True for an action that puts back what the VM had before a change that failed halfway: the VM's failure
    /// backoff does not hold it (a VM must not stay half-changed while the backoff runs); every other limit does.
    /// </summary>
    public bool Restores { get; init; }

    /// <summary>
    /// What, beyond its kind, VM, host and reason, rebuilds the action from a plan's record after a restart (for the
    /// library's own kinds that carry more, such as <c>configure</c>); null when there is nothing more.
    /// </summary>
    internal virtual string? PendingPayload => null;
}

/// <summary>A live migration planned by a <see cref="MigrationDecision"/>.</summary>
/// <param name="Decision">The decision, with its explanation.</param>
public sealed record MigrateAction(MigrationDecision Decision)
    : ClusterAction(Decision.Vm, Decision.Source, $"{Decision.Stage}/{Decision.Rule}: {Decision.Trigger.Detail}")
{
    /// <summary>The action kind name.</summary>
    public const string KindName = "migrate";

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override HostId? Target => Decision.Target;
}

/// <summary>Changes a running VM's vCPUs and/or memory.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Host">Where it runs.</param>
/// <param name="Request">The new sizes.</param>
/// <param name="Reason">Why.</param>
public sealed record HotPlugAction(VmId Vm, HostId Host, HotPlugRequest Request, string Reason) : ClusterAction(Vm, Host, Reason)
{
    /// <summary>The action kind name.</summary>
    public const string KindName = "hot-plug";

    /// <inheritdoc />
    public override string Kind => KindName;
}

/// <summary>Applies resource controls (shares, quota, memory tune, I/O and bandwidth limits) to a VM.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Host">Where it runs.</param>
/// <param name="Controls">The controls to apply (null properties stay as they are).</param>
/// <param name="Reason">Why.</param>
public sealed record ResourceControlAction(VmId Vm, HostId Host, ResourceControls Controls, string Reason) : ClusterAction(Vm, Host, Reason)
{
    /// <summary>The action kind name.</summary>
    public const string KindName = "resource-controls";

    /// <inheritdoc />
    public override string Kind => KindName;
}

/// <summary>Actions a controller proposed together, waiting for approval.</summary>
/// <param name="PlanId">Its id (pass it to <see cref="EcosystemRuntime.ApproveAsync"/>).</param>
/// <param name="Controller">The controller that proposed it.</param>
/// <param name="Actions">The actions with their reasons.</param>
/// <param name="CreatedAt">When it was proposed.</param>
/// <param name="ExpiresAt">When it is discarded unless approved.</param>
public sealed record PendingPlan(string PlanId, string Controller, IReadOnlyList<ClusterAction> Actions, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>A plan the planning controller made, with why it was made.</summary>
/// <param name="PlanId">Its id.</param>
/// <param name="Plan">The plan.</param>
/// <param name="Trigger">What started the pass (<c>periodic</c>, <c>inventory</c>, <c>dependencies</c>, <c>forecast</c>, <c>maintenance</c>, <c>on-demand</c>).</param>
/// <param name="Time">When.</param>
public sealed record RuntimePlan(string PlanId, MigrationPlan Plan, string Trigger, DateTimeOffset Time);

/// <summary>Actions proposed by one controller in one step (internal carrier between controllers and execution).</summary>
internal sealed record Proposal(string PlanId, string Controller, string Trigger, DateTimeOffset Time, IReadOnlyList<ClusterAction> Actions)
{
    /// <summary>False for what an application asked for explicitly: a newer proposal never drops it.</summary>
    public bool Supersedable { get; init; } = true;
}
