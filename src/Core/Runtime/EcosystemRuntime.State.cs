using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// State an operator or application sets (maintenance, dependency declarations) and its durability: every change is
/// in the audit trail, and a runtime started on the same store restores it (with the cooldowns, backoffs and rate
/// window of the actions recorded there) before it plans.
/// </summary>
public sealed partial class EcosystemRuntime
{
    /// <summary>
    /// The ecosystem graph as an immutable snapshot (null when no graph is used): hold it as long as needed while the
    /// runtime moves on. Taken under the model lock and reused until the graph changes.
    /// </summary>
    public EcosystemSnapshot? Ecosystem => _model.Snapshot();

    /// <summary>
    /// The cluster as last observed (null before the first observation): hosts with their CPU and memory use, VMs
    /// with where they run, before any planned move. Immutable; hold it as long as needed.
    /// </summary>
    public ClusterView? Cluster => _model.View;

    /// <summary>
    /// Puts a host in maintenance: it takes no VMs, and the next pass (requested at once) evacuates its VMs within
    /// the limits and the execution mode. Kept across restarts on the same audit store.
    /// </summary>
    public async Task EnterMaintenanceAsync(HostId host)
    {
        if (!_model.EnterMaintenance(host))
        {
            return;
        }

        RuntimeLog.Maintenance(_logger, host.Value, "entered");
        await _core.Audit.AppendAsync(AuditKind.MaintenanceEntered, null, null, null, null, host, $"host {host} entered maintenance; its VMs will be evacuated").ConfigureAwait(false);
        _collection.Trigger("maintenance", debounce: false);
    }

    /// <summary>Takes a host out of maintenance.</summary>
    public async Task ExitMaintenanceAsync(HostId host)
    {
        if (!_model.ExitMaintenance(host))
        {
            return;
        }

        RuntimeLog.Maintenance(_logger, host.Value, "left");
        await _core.Audit.AppendAsync(AuditKind.MaintenanceExited, null, null, null, null, host, $"host {host} left maintenance").ConfigureAwait(false);
    }

    /// <summary>
    /// Adds or replaces a VM's dependency declaration (requires an ecosystem graph). It is recorded in the audit store
    /// before it applies, so it survives graph reloads and restarts; triggers planning when configured.
    /// </summary>
    /// <exception cref="ArgumentException">The declaration is not one the declaration format can hold (the message lists why).</exception>
    /// <exception cref="InvalidOperationException">No ecosystem graph, or the audit store did not record the change (then it is not applied).</exception>
    public async Task SetDeclarationAsync(VmDeclaration declaration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(declaration);
        RequireGraph();
        // What is recorded must read back as the same declaration at the next start.
        string json = DeclarationWriter.ToJson(declaration);
        var parsed = new DeclarationParser().Parse(json);
        if (!parsed.Success)
        {
            throw new ArgumentException($"Declaration of VM '{declaration.VmName}' is not valid: {string.Join("; ", parsed.Errors)}", nameof(declaration));
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (!await _core.Audit.TryAppendAsync(AuditKind.DeclarationSet, null, null, null, null, null, $"declaration of {declaration.VmName} set", json).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"The audit store did not record the declaration of VM '{declaration.VmName}'; it was not applied.");
        }

        _model.SetDeclaration(parsed.Declarations[0]);
        if (_core.Options.PlanOnDependencyChange)
        {
            _collection.Trigger("dependencies", debounce: true);
        }
    }

    /// <summary>Removes a VM's declaration (recorded like <see cref="SetDeclarationAsync"/>); false when it had none.</summary>
    public async Task<bool> RemoveDeclarationAsync(string vmName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vmName);
        RequireGraph();
        if (!_model.Declarations.Any(d => d.VmName == vmName))
        {
            return false;
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (!await _core.Audit.TryAppendAsync(AuditKind.DeclarationRemoved, null, null, null, null, null, vmName).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"The audit store did not record the removal of VM '{vmName}''s declaration; it was not applied.");
        }

        bool removed = _model.RemoveDeclaration(vmName);
        if (removed && _core.Options.PlanOnDependencyChange)
        {
            _collection.Trigger("dependencies", debounce: true);
        }

        return removed;
    }

    private void RequireGraph()
    {
        if (_model.Graph is null)
        {
            throw new InvalidOperationException("This runtime has no ecosystem graph; register declarations with UseEcosystem(...).");
        }
    }

    // Replays, in one pass over the trail, the state a previous process left: declarations and maintenance in full,
    // the limits of the actions within the last cooldown/backoff/rate window, the planner's history of the last day,
    // learned outcomes, and plans still awaiting approval.
    private long _limitsThrough; // the trail's records up to here have restored the executor's limits

    // On taking the lead: the limits the previous leader's actions impose since this instance last read them, then its
    // open intents resolved through the provider (and running moves followed), before this instance acts.
    private async Task<string> TakeOverAsync(string scope, CancellationToken cancellationToken)
    {
        var now = _core.Time.GetUtcNow();
        var o = _core.Options;
        var since = TimeMath.Add(now, -new[] { o.VmCooldown, o.FailureBackoff, o.RateWindow }.Max());
        int actions = 0;
        int settings = 0;
        var parser = new DeclarationParser();
        var query = new AuditQuery
        {
            Kinds =
            [
                AuditKind.MigrationStarted, AuditKind.ActionStarted, AuditKind.MigrationFailed, AuditKind.ActionFailed,
                AuditKind.DeclarationSet, AuditKind.DeclarationRemoved, AuditKind.MaintenanceEntered, AuditKind.MaintenanceExited,
            ],
            AfterSequence = _limitsThrough,
        };
        await _core.Audit.FlushAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var r in _core.Audit.Store.QueryAsync(query, cancellationToken).ConfigureAwait(false))
        {
            // What the previous leader was told (declarations, maintenance, through its API) came to this instance only
            // through the shared trail.
            _limitsThrough = Math.Max(_limitsThrough, r.Sequence);
            settings += ReplaySetting(r, parser) ? 1 : 0;
            actions += r.Timestamp >= since && _executor.RestoreLimit(r, now) ? 1 : 0;
        }

        // Sharded: the intents of this scope's hosts only (the other scopes' leaders reconcile theirs).
        var leadership = _core.Leadership;
        int reconciled = await _executor.ReconcileAsync(cancellationToken, leadership.Sharded ? r => leadership.ScopeOf(r.Source) == scope : null).ConfigureAwait(false);
        return $"limits from {actions} action records of earlier terms; {settings} declaration and maintenance changes replayed; {reconciled} intents without outcome reconciled";
    }

    // A declaration or maintenance change from the trail, applied to this runtime's model; false for any other record.
    private bool ReplaySetting(AuditRecord r, DeclarationParser parser)
    {
        switch (r.Kind)
        {
            case AuditKind.DeclarationSet when _model.Graph is not null && r.Detail is { } json:
                var parsed = parser.Parse(json);
                if (parsed.Success)
                {
                    _model.SetDeclaration(parsed.Declarations[0]);
                    return true;
                }

                RuntimeLog.RestoreSkipped(_logger, r.Sequence, string.Join("; ", parsed.Errors));
                return false;
            case AuditKind.DeclarationRemoved when _model.Graph is not null:
                return _model.RemoveDeclaration(r.Message);
            case AuditKind.MaintenanceEntered when r.Target is { } host:
                _model.EnterMaintenance(host);
                return true;
            case AuditKind.MaintenanceExited when r.Target is { } host:
                _model.ExitMaintenance(host);
                return true;
            default:
                return false;
        }
    }

    private async Task<string> RestoreAsync(CancellationToken cancellationToken)
    {
        int declarations = 0, actions = 0, moves = 0, outcomes = 0;
        var spikes = new List<SpikeRecord>();
        var parser = new DeclarationParser();
        var now = _core.Time.GetUtcNow();
        var o = _core.Options;
        var limitsSince = TimeMath.Add(now, -new[] { o.VmCooldown, o.FailureBackoff, o.RateWindow }.Max());
        var historySince = now - TimeSpan.FromDays(1);
        var plans = new List<AuditRecord>();
        var query = new AuditQuery
        {
            Kinds =
            [
                AuditKind.DeclarationSet, AuditKind.DeclarationRemoved, AuditKind.MaintenanceEntered, AuditKind.MaintenanceExited,
                AuditKind.MigrationStarted, AuditKind.ActionStarted, AuditKind.MigrationSucceeded, AuditKind.MigrationFailed, AuditKind.ActionFailed,
                AuditKind.PlanAwaitingApproval, AuditKind.PlanApproved, AuditKind.PlanRejected, AuditKind.PlanDiscarded,
                AuditKind.SpikeMeasured,
            ],
        };
        await foreach (var r in _core.Audit.Store.QueryAsync(query, cancellationToken).ConfigureAwait(false))
        {
            _limitsThrough = Math.Max(_limitsThrough, r.Sequence);
            switch (r.Kind)
            {
                case AuditKind.DeclarationSet or AuditKind.DeclarationRemoved:
                    declarations += ReplaySetting(r, parser) ? 1 : 0;
                    break;
                case AuditKind.MaintenanceEntered or AuditKind.MaintenanceExited:
                    ReplaySetting(r, parser);
                    break;
                case AuditKind.PlanAwaitingApproval or AuditKind.PlanApproved or AuditKind.PlanRejected or AuditKind.PlanDiscarded:
                    plans.Add(r);
                    break;
                case AuditKind.SpikeMeasured:
                    if (SpikeRecord.FromJson(r.Detail) is { } spike)
                    {
                        spikes.Add(spike);
                    }

                    break;
                default: // the action records
                    if (r.Kind != AuditKind.MigrationSucceeded && r.Timestamp >= limitsSince && _executor.RestoreLimit(r, now))
                    {
                        actions++;
                    }

                    if (r is { Kind: AuditKind.MigrationStarted, Vm: { } vm, Source: { } from, Target: { } to } && r.Timestamp >= historySince)
                    {
                        // The planner's own memory of recent moves: its cooldowns, hysteresis, hosts still settling.
                        lock (_model.Gate)
                        {
                            _model.Session.History.Record(vm, from, to, r.Timestamp);
                        }

                        moves++;
                    }

                    if (_model.Outcomes is { } recorder && r is { Kind: AuditKind.MigrationSucceeded or AuditKind.MigrationFailed, Detail: { } detail, Vm: { } moved, Source: { } source, Target: { } target }
                        && recorder.Replay(moved, source, target, detail))
                    {
                        outcomes++;
                        if (r.Kind == AuditKind.MigrationFailed)
                        {
                            recorder.FailedAt(target, r.Timestamp);
                        }
                    }

                    break;
            }
        }

        lock (_model.Gate)
        {
            // in the order they were learnt, not the order they reached the trail
            foreach (var spike in spikes.OrderBy(s => s.LearntAt).ThenBy(s => s.Order))
            {
                _model.Reservations?.Replay(spike);
            }
        }

        int pending = await _execution.RestorePendingAsync(plans).ConfigureAwait(false);
        string forecasters = await _checkpoints.RestoreAsync(now, cancellationToken).ConfigureAwait(false);
        return $"restored {declarations} declaration changes, {_model.Maintenance().Count} hosts in maintenance, {pending} plans awaiting approval, limits from {actions} recent action records, {moves} moves of the last day in the planner's history, {outcomes} learned move outcomes, {spikes.Count} measured copy spikes; {forecasters}";
    }
}
