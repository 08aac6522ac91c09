using System.Globalization;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// Intents: every action is recorded as intended before the provider is called. A start whose answer was lost is
/// resolved by asking the provider; intents a stopped or killed process left without outcome are reconciled against
/// the provider's inventory when the runtime starts, before anything is planned.
/// </summary>
internal sealed partial class ActionExecutor
{
    private static readonly AuditKind[] IntentKinds =
    [
        AuditKind.ActionIntended, AuditKind.MigrationSucceeded, AuditKind.MigrationFailed, AuditKind.MigrationCancelled,
        AuditKind.ActionSucceeded, AuditKind.ActionFailed, AuditKind.PlanCreated,

        // An intent whose write answered too late is followed by the executor's skip record: it was not acted on.
        AuditKind.DecisionSkipped,
    ];

    /// <summary>
    /// Records the real outcome of every intent without one (a VM found on its target moved; anywhere else it did
    /// not, and it is held back for the failure backoff in case a move still runs); returns how many were open.
    /// </summary>
    /// <param name="cancellationToken">Cancels the reconciliation.</param>
    /// <param name="owns">Which intents to reconcile (null: all).</param>
    public async Task<int> ReconcileAsync(CancellationToken cancellationToken, Func<AuditRecord, bool>? owns = null)
    {
        var open = new Dictionary<(string Plan, VmId Vm), AuditRecord>();
        long lastPlan = 0;
        await foreach (var r in core.Audit.Store.QueryAsync(new AuditQuery { Kinds = IntentKinds }, cancellationToken).ConfigureAwait(false))
        {
            if (r.PlanId is null)
            {
                continue;
            }

            if (r.PlanId.StartsWith("plan-", StringComparison.Ordinal) && long.TryParse(r.PlanId.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            {
                lastPlan = Math.Max(lastPlan, n);
            }

            if (r.Vm is not { } vm || r.Kind == AuditKind.PlanCreated)
            {
                continue;
            }

            if (r.Kind == AuditKind.ActionIntended)
            {
                if (owns?.Invoke(r) != false)
                {
                    open[(r.PlanId, vm)] = r;
                }
            }
            else
            {
                open.Remove((r.PlanId, vm));
            }
        }

        core.ContinuePlanIdsAfter(lastPlan);
        if (open.Count == 0)
        {
            return 0;
        }

        InventorySnapshot? inventory = null;
        try
        {
            inventory = await core.Calls.CallAsync("GetInventory", ct => core.Hypervisor.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HypervisorException or TimeoutException)
        {
            RuntimeLog.ReconcileFailed(core.Logger, ex, open.Count);
        }

        var now = core.Time.GetUtcNow();
        int followed = 0;
        foreach (var intent in open.Values.OrderBy(r => r.Sequence))
        {
            var vm = intent.Vm!.Value;
            HostId? where = HostOf(inventory, vm);
            bool migration = intent.Target is not null;
            bool moved = migration && where == intent.Target;
            if (migration && !moved && await FollowAsync(intent, now, cancellationToken).ConfigureAwait(false))
            {
                followed++;
                continue;
            }

            lock (_gate)
            {
                if (where is { } w)
                {
                    _limits.NoteHost(vm, w);
                }

                if (!moved)
                {
                    _limits.Hold(vm, now);
                }
            }

            string found = inventory is null ? "the provider could not be asked, so its outcome is unknown"
                : where is null ? "the VM is no longer in the inventory"
                : $"the VM is on {where}";
            var (kind, message) = (migration, moved) switch
            {
                (true, true) => (AuditKind.MigrationSucceeded, $"reconciled at start: migrate intended before the runtime stopped; {found}, its target"),
                (true, false) => (AuditKind.MigrationFailed, $"reconciled at start: migrate intended before the runtime stopped did not complete; {found}; held back for the failure backoff"),
                _ => (AuditKind.ActionFailed, $"reconciled at start: {intent.Message} ended without a recorded outcome (unknown); {found}"),
            };
            Count(migration ? MigrateAction.KindName : "reconciled", moved ? Succeeded : Failed);
            await core.Audit.AppendAsync(kind, intent.Controller, intent.PlanId, vm, intent.Source, intent.Target, message).ConfigureAwait(false);
        }

        RuntimeLog.Reconciled(core.Logger, open.Count, $"{followed} still running and followed; " + string.Join("; ", open.Values.Take(5).Select(r => $"{r.Vm} ({r.PlanId})")));

        // The real outcomes are in the store before anything new is planned.
        await core.Audit.FlushAsync(cancellationToken).ConfigureAwait(false);
        return open.Count;
    }

    /// <summary>
    /// Restores the limit a previous process's action record imposes (a start: cooldown and rate window; a failure:
    /// backoff); false when the record is not one.
    /// </summary>
    public bool RestoreLimit(AuditRecord r, DateTimeOffset now)
    {
        if (r.Vm is not { } vm || r.Timestamp > now)
        {
            return false;
        }

        lock (_gate)
        {
            switch (r.Kind)
            {
                case AuditKind.MigrationStarted or AuditKind.ActionStarted:
                    _limits.RestoreStart(vm, r.Timestamp, now);
                    return true;
                case AuditKind.MigrationFailed or AuditKind.ActionFailed:
                    _limits.RestoreFailure(vm, r.Timestamp);
                    return true;
                default:
                    return false;
            }
        }
    }

    // A migration the previous process started may still run: the provider is asked (it starts nothing), and a move
    // it runs to the intent's target is followed to its real end like one this process started.
    private async Task<bool> FollowAsync(AuditRecord intent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var vm = intent.Vm!.Value;
        IMigrationOperation? operation;
        try
        {
            operation = await core.Calls.CallAsync("FindRunningMigration", ct => core.Hypervisor.FindRunningMigrationAsync(vm, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HypervisorException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return false; // cannot tell: the inventory decides, as for a provider without the lookup
        }

        if (operation is null || operation.Target != intent.Target || intent.Source is not { } source)
        {
            return false;
        }

        var decision = new Planning.MigrationDecision
        {
            Vm = vm, Source = source, Target = operation.Target, VmIndex = -1, TargetIndex = -1, Stage = "reconciled", Rule = "started before the restart",
            Trigger = new Planning.TriggerEvidence("reconciled", $"migration {operation.Id} was started by the previous process"),
        };
        var action = new MigrateAction(decision);
        var running = new RunningMigration(intent.PlanId!, decision, operation, now);
        lock (_gate)
        {
            _limits.Reserve(action, now);
            _limits.Answered(vm, now);
            _running[vm] = running;
        }

        observer.OnMigrationStarting(decision, now);
        Count(MigrateAction.KindName, Started);
        await core.Audit.AppendAsync(AuditKind.MigrationStarted, intent.Controller, intent.PlanId, vm, source, operation.Target,
            $"reconciled at start: migration {operation.Id}, started before the runtime stopped, still runs; followed to its end").ConfigureAwait(false);
        _ = TrackAsync(intent.Controller ?? "execution", running, action);
        return true;
    }

    // The start call timed out after every retry. One more (idempotent) start asks the provider: a migration it
    // accepted is returned and tracked; otherwise where the VM is decides the outcome. Returns the operation, or
    // null once the outcome is recorded.
    private async Task<IMigrationOperation?> ResolveLostStartAsync(Proposal proposal, MigrateAction action, TimeoutException timeout, CancellationToken cancellationToken)
    {
        var d = action.Decision;
        try
        {
            return await core.Calls.CallAsync("StartMigration",
                ct => core.Hypervisor.StartMigrationAsync(new MigrationRequest(d.Vm, d.Target) { ExpectedSource = d.Source }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HypervisorException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // Refused (it is elsewhere now, or already on its target) or still no answer: look where it is.
        }

        HostId? where = null;
        try
        {
            var inventory = await core.Calls.CallAsync("GetInventory", ct => core.Hypervisor.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false);
            where = HostOf(inventory, d.Vm);
        }
        catch (Exception ex) when (ex is HypervisorException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // Unknown: the VM is held back and its host forgotten until the feed or an observation says.
        }

        bool moved = where == d.Target;
        var now = core.Time.GetUtcNow();
        lock (_gate)
        {
            _limits.Release(action, failed: !moved, now);
            if (where is { } w)
            {
                _limits.NoteHost(d.Vm, w);
            }
            else
            {
                _limits.ForgetHost(d.Vm);
            }
        }

        observer.OnMigrationEnded(d.Vm, moved, core.Time.GetUtcNow());
        if (moved)
        {
            Count(MigrateAction.KindName, Started);
            Count(MigrateAction.KindName, Succeeded);
            core.Instruments.Action(MigrateAction.KindName, "succeeded", proposal.Controller, d.Source, "start-timeout");
            await core.Audit.AppendAsync(AuditKind.MigrationSucceeded, proposal.Controller, proposal.PlanId, d.Vm, d.Source, d.Target,
                $"the start call timed out ({timeout.Message}) but the VM is on its target {d.Target}: the migration ran").ConfigureAwait(false);
            return null;
        }

        string found = where is null ? "where the VM is could not be read; its outcome is unknown and it is held back" : $"the VM is on {where}";
        await RecordFailureAsync(proposal.Controller, proposal.PlanId, d, cancelled: false, timeout.Message,
            $"could not start: {timeout.Message}; the provider reports no migration running and {found}").ConfigureAwait(false);
        return null;
    }

    private static HostId? HostOf(InventorySnapshot? inventory, VmId vm)
    {
        foreach (var p in inventory?.Placements ?? [])
        {
            if (p.Vm == vm)
            {
                return p.Host;
            }
        }

        return null;
    }
}
