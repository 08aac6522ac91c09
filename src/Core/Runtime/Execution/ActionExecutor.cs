using System.Collections.Concurrent;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>A migration the executor started and still tracks.</summary>
/// <param name="PlanId">The plan it came from.</param>
/// <param name="Decision">The decision.</param>
/// <param name="Operation">The provider's operation.</param>
/// <param name="StartedAt">When it started.</param>
public sealed record RunningMigration(string PlanId, MigrationDecision Decision, IMigrationOperation Operation, DateTimeOffset StartedAt);

/// <summary>Counts of one action kind.</summary>
/// <param name="Started">Actions started.</param>
/// <param name="Succeeded">Actions that completed.</param>
/// <param name="Failed">Actions that failed or were cancelled, including calls that failed to start them.</param>
/// <param name="Skipped">Actions the executor did not start (limits, cooldown, backoff, maintenance, stale).</param>
public sealed record ActionCounts(long Started, long Succeeded, long Failed, long Skipped);

/// <summary>What the executor tells the planning model about migrations (in-flight reservations, own moves).</summary>
internal interface IMigrationObserver
{
    /// <summary>Why the action may not start now against the latest observation plus moves in flight, or null.</summary>
    string? Revalidate(ClusterAction action);

    /// <summary>A move is about to start: its in-flight reservation is taken; returns what was reserved (null: nothing known of the VM).</summary>
    Reservations.InFlightReservation? OnMigrationStarting(MigrationDecision decision, DateTimeOffset now, ApplicationMetrics? before = null);

    /// <summary>A move ended, or will not start after all (its reservation is released, or kept for its hold when it moved).</summary>
    void OnMigrationEnded(VmId vm, bool moved, DateTimeOffset now);

    /// <summary>What the move taught (learning on): its outcome as JSON for the audit record's detail; null when not learning.</summary>
    string? OnMigrationOutcome(MigrationDecision decision, bool succeeded, double actualSeconds, ApplicationMetrics? after);

    /// <summary>What the landed move's copy was measured to cost its destination (once), or null.</summary>
    SpikeRecord? TakeSpikeMeasurement(VmId vm);
}

/// <summary>
/// The one executor of every action kind: shared limits (<see cref="ExecutionLimits"/>) checked and counted before
/// the provider is called and released whatever happens; transient call failures retried (starting a migration is
/// idempotent in every provider); every start, skip and outcome audited under the proposing controller's name.
/// One proposal executes at a time. Migrations are tracked until they end (<c>ActionExecutor.Migrations.cs</c>).
/// </summary>
internal sealed partial class ActionExecutor(RuntimeCore core, IMigrationObserver observer)
{
    /// <summary>Moves into host sets other instances lead, by claim (sharded leadership only).</summary>
    public Leadership.CrossSetMoves? CrossSet { get; init; }

    private readonly SemaphoreSlim _serial = new(1, 1);
    private readonly Lock _gate = new();
    private readonly ExecutionLimits _limits = new(core.Options);
    private readonly ConcurrentDictionary<string, long[]> _counts = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, ActionCounts> Counts =>
        _counts.ToDictionary(kv => kv.Key, kv => new ActionCounts(Interlocked.Read(ref kv.Value[0]), Interlocked.Read(ref kv.Value[1]),
            Interlocked.Read(ref kv.Value[2]), Interlocked.Read(ref kv.Value[3])), StringComparer.Ordinal);

    public (int PerHost, int InCluster) Peak
    {
        get
        {
            lock (_gate)
            {
                return _limits.Peak;
            }
        }
    }

    /// <summary>Executes the actions of a proposal in order; returns how many started.</summary>
    public async Task<int> ExecuteAsync(Proposal proposal, IReadOnlyList<ClusterAction> actions, IReadOnlySet<HostId> maintenance, CancellationToken cancellationToken)
    {
        await _serial.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var activity = RuntimeTelemetry.ActivitySource.StartActivity("vmeco.execute");
            activity?.SetTag("vmeco.plan", proposal.PlanId);
            activity?.SetTag("vmeco.controller", proposal.Controller);
            int started = 0;
            foreach (var action in actions)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (await TryStartAsync(proposal, action, maintenance, cancellationToken).ConfigureAwait(false))
                {
                    started++;
                }
            }

            activity?.SetTag("vmeco.started", started);
            return started;
        }
        finally
        {
            _serial.Release();
        }
    }

    /// <summary>Notes a VM's host from the change feed (null: it left).</summary>
    public void NoteHost(VmId vm, HostId? host)
    {
        lock (_gate)
        {
            _limits.NoteHost(vm, host);
        }
    }

    private async Task<bool> TryStartAsync(Proposal proposal, ClusterAction action, IReadOnlySet<HostId> maintenance, CancellationToken cancellationToken)
    {
        var now = core.Time.GetUtcNow();
        string? reason;
        lock (_gate)
        {
            // Limits first (cheap, and a stale plan is named as such), then the placement as it stands now. The
            // executor runs one proposal at a time, so nothing else starts between this check and the start.
            reason = _limits.SkipReason(action, maintenance, now) ?? observer.Revalidate(action);
            if (reason is null)
            {
                // Counted now so a concurrent check sees it; released below if the call fails.
                _limits.Reserve(action, now);
            }
        }

        if (reason is not null)
        {
            Count(action.Kind, Skipped);
            core.Instruments.Action(action.Kind, "skipped", proposal.Controller, action.Host, RuntimeInstruments.ReasonOf(reason));
            RuntimeLog.DecisionSkipped(core.Logger, action.Vm.Value, (action.Target ?? action.Host).Value, reason);
            await core.Audit.AppendAsync(AuditKind.DecisionSkipped, proposal.Controller, proposal.PlanId, action.Vm, action.Host, action.Target,
                $"{action.Kind} not executed: {reason}").ConfigureAwait(false);
            return false;
        }

        return action is MigrateAction migrate
            ? await StartMigrationAsync(proposal, migrate, now, cancellationToken).ConfigureAwait(false)
            : await ApplyAsync(proposal, action, now, cancellationToken).ConfigureAwait(false);
    }

    // Short actions (hot-plug, resource controls): one provider call, limits held while it runs.
    private async Task<bool> ApplyAsync(Proposal proposal, ClusterAction action, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!await RecordIntentAsync(proposal, action, now).ConfigureAwait(false))
        {
            return false;
        }

        Count(action.Kind, Started);
        using var span = RuntimeTelemetry.ActivitySource.StartActivity("vmeco.action", System.Diagnostics.ActivityKind.Internal);
        span?.SetTag("vmeco.action.kind", action.Kind);
        span?.SetTag("vmeco.vm", action.Vm.Value);
        span?.SetTag("vmeco.host", action.Host.Value);
        span?.SetTag("vmeco.plan", proposal.PlanId);
        Exception? error = null;
        string result = string.Empty;
        try
        {
            result = action switch
            {
                HotPlugAction h => Describe(await core.Calls.CallAsync("HotPlug", ct => core.Hypervisor.HotPlugAsync(h.Vm, h.Request, ct), cancellationToken).ConfigureAwait(false)),
                ResourceControlAction r => Describe(await core.Calls.CallAsync("SetResourceControls",
                    ct => core.Hypervisor.SetResourceControlsAsync(r.Vm, r.Controls, ct), cancellationToken).ConfigureAwait(false)),
                Rollout.ConfigureAction c => await c.ExecuteAsync(core.Audit, proposal.Controller, proposal.PlanId, now, cancellationToken).ConfigureAwait(false),
                ScaleOutAction o => await o.ExecuteAsync(cancellationToken).ConfigureAwait(false),
                ScaleInAction i => await i.ExecuteAsync(cancellationToken).ConfigureAwait(false),
                AdjustAction a => await a.ExecuteAsync(cancellationToken).ConfigureAwait(false),
                _ => throw new NotSupportedException($"The executor does not know the action kind '{action.Kind}' ({action.GetType().Name})."),
            };
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error = ex;
        }

        lock (_gate)
        {
            _limits.Release(action, failed: error is not null, core.Time.GetUtcNow());
        }

        Count(action.Kind, error is null ? Succeeded : Failed);
        span?.SetStatus(error is null ? System.Diagnostics.ActivityStatusCode.Ok : System.Diagnostics.ActivityStatusCode.Error, error?.Message);
        core.Instruments.Action(action.Kind, error is null ? "succeeded" : "failed", proposal.Controller, action.Host, RuntimeInstruments.ReasonOf(error));
        await core.Audit.AppendAsync(error is null ? AuditKind.ActionSucceeded : AuditKind.ActionFailed, proposal.Controller, proposal.PlanId, action.Vm, action.Host, null,
            error is null ? $"{action.Kind} succeeded: {result}" : $"{action.Kind} failed: {error.Message}").ConfigureAwait(false);
        if (error is not null && (cancellationToken.IsCancellationRequested || error is not (HypervisorException or TimeoutException or OperationCanceledException)))
        {
            throw error;
        }

        return error is null;
    }

    // Intent before action: the record is in the store before the provider is called; when the store does not take
    // it, the action is not started (its limits are released and it is counted as skipped).
    private async Task<bool> RecordIntentAsync(Proposal proposal, ClusterAction action, DateTimeOffset now)
    {
        if (await core.Audit.TryAppendAsync(AuditKind.ActionIntended, proposal.Controller, proposal.PlanId, action.Vm, action.Host, action.Target,
                $"{action.Kind} intended: {action.Reason}", action is MigrateAction m ? Explain(m.Decision) : null).ConfigureAwait(false))
        {
            return true;
        }

        lock (_gate)
        {
            _limits.Release(action, failed: false, now, called: false);
        }

        if (action is MigrateAction)
        {
            observer.OnMigrationEnded(action.Vm, moved: false, now); // frees what its admission reserved
        }

        Count(action.Kind, Skipped);
        core.Instruments.Action(action.Kind, "skipped", proposal.Controller, action.Host, "audit");
        RuntimeLog.DecisionSkipped(core.Logger, action.Vm.Value, (action.Target ?? action.Host).Value, "its intent could not be recorded in the audit store");
        return false;
    }

    private static string Describe(VmInfo vm) => $"{vm.Id} has {vm.Allocation.CpuCores} vCPUs and {vm.Allocation.MemoryMiB:F0} MiB";

    private static string Describe(ResourceControls c) =>
        $"shares {c.CpuShares?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}, quota {c.CpuQuota?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}"
        + (c.MemoryReservationMiB is { } m ? $", memory reservation {Limit(m, "F0", " MiB")}" : string.Empty)
        + (c.DiskIopsLimit is { } iops ? $", disk limit {Limit(iops, "F0", " IOPS")}" : string.Empty)
        + (c.NetworkBandwidthLimitMbps is { } mbps ? $", network limit {Limit(mbps, "0.#", " Mbit/s")}" : string.Empty)
        + (c.DiskWeight is { } weight ? $", disk weight {weight}" : string.Empty);

    private static string Limit(double value, string format, string unit) =>
        double.IsPositiveInfinity(value) ? "none" : value.ToString(format, System.Globalization.CultureInfo.InvariantCulture) + unit;

    private const int Started = 0, Succeeded = 1, Failed = 2, Skipped = 3;

    private void Count(string kind, int which) => Interlocked.Increment(ref _counts.GetOrAdd(kind, _ => new long[4])[which]);
}
