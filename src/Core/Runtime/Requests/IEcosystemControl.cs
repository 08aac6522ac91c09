using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Runtime;

/// <summary>
/// Actions an application asks for ("move this VM", "move it there", "give it two more vCPUs"). Each is checked like
/// the runtime's own decisions (capacity with the moves in flight, anti-affinity and proximity rules, required
/// dependencies, maintenance), then goes through the same executor: its kind's mode (dry run, approval, automatic),
/// the shared limits and the audit. Registered by <c>AddVmEcosystem</c>; the runtime implements it.
/// </summary>
public interface IEcosystemControl
{
    /// <summary>
    /// Requests a live migration. With no <paramref name="target"/>, the host with the most CPU headroom that passes
    /// every check is chosen. A request no host (or not the given target) can take is returned
    /// <see cref="RequestState.Refused"/> with the reason, and audited.
    /// </summary>
    /// <exception cref="ArgumentException">The VM or the target is not in the cluster, or the target is the VM's own host.</exception>
    /// <exception cref="InvalidOperationException">The cluster has not been observed yet, or too many requests wait to be executed.</exception>
    Task<ActionRequest> RequestMigrationAsync(VmId vm, HostId? target = null, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>Requests a change of a running VM's vCPUs and/or memory (checked against its host's memory).</summary>
    /// <exception cref="ArgumentException">The VM is not in the cluster, or the request changes nothing.</exception>
    /// <exception cref="InvalidOperationException">The cluster has not been observed yet, or too many requests wait to be executed.</exception>
    Task<ActionRequest> RequestHotPlugAsync(VmId vm, HotPlugRequest request, string? reason = null, CancellationToken cancellationToken = default);

    /// <summary>A request as it stands now (from the audit trail, so also one made before a restart); null when unknown.</summary>
    Task<ActionRequest?> GetRequestAsync(string requestId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a request that waits for approval (rejected) or a migration that runs (cancelled: the VM stays on its
    /// source); false when it is in neither state.
    /// </summary>
    Task<bool> CancelRequestAsync(string requestId, CancellationToken cancellationToken = default);
}

/// <summary>Where a requested action stands.</summary>
public enum RequestState
{
    /// <summary>Not accepted: the checks failed (the message says which).</summary>
    Refused = 0,

    /// <summary>Accepted in dry-run mode: planned and audited, never executed.</summary>
    Planned,

    /// <summary>Accepted; waits for approval.</summary>
    AwaitingApproval,

    /// <summary>Accepted; waits for the executor.</summary>
    Queued,

    /// <summary>The executor started it.</summary>
    Running,

    /// <summary>Completed.</summary>
    Succeeded,

    /// <summary>Failed (the VM is where it was).</summary>
    Failed,

    /// <summary>Cancelled while running.</summary>
    Cancelled,

    /// <summary>The executor did not start it (a limit, cooldown, backoff, or a check that failed by then).</summary>
    Skipped,

    /// <summary>Rejected while waiting for approval (or cancelled then).</summary>
    Rejected,

    /// <summary>Expired while waiting for approval.</summary>
    Discarded,
}

/// <summary>A requested action.</summary>
/// <param name="Id">Its id: the plan id of its audit records.</param>
/// <param name="Kind">The action kind (<c>migrate</c>, <c>hot-plug</c>).</param>
/// <param name="Vm">The VM.</param>
/// <param name="Source">Where the VM was when requested.</param>
/// <param name="Target">The migration's target (chosen or given); null for other kinds or when refused without one.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Message">The latest audit message about it (the reason when refused, skipped or failed).</param>
/// <param name="RequestedAt">When it was requested.</param>
public sealed record ActionRequest(string Id, string Kind, VmId Vm, HostId? Source, HostId? Target, RequestState State, string Message, DateTimeOffset RequestedAt);
