using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime;

/// <summary>
/// Rebuilds actions of one kind from a plan held for approval, after a restart: the kind's owner (the rollout
/// controller for <c>configure</c>) has the services the action needs, which the plan's record cannot hold.
/// </summary>
internal interface IPendingActionRestorer
{
    /// <summary>The action kind it rebuilds.</summary>
    string Kind { get; }

    /// <summary>The action, or null when <paramref name="payload"/> does not describe one.</summary>
    ClusterAction? Restore(VmId vm, HostId host, string reason, string? payload);
}
