using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// The <c>execution</c> controller: takes every controller's proposals and applies the mode of each action's kind
/// (<see cref="RuntimeOptions.ModeOf"/>): dry run (planned and audited only), approval (held until approved,
/// rejected or expired) or automatic (executed at once by the <see cref="ActionExecutor"/> within the shared limits).
/// </summary>
internal sealed class ExecutionController(RuntimeCore core, RuntimeModel model, ActionExecutor executor) : IRuntimeController
{
    public const string ControllerName = "execution";
    private readonly Dictionary<string, (Proposal Proposal, PendingPlan Pending)> _pending = [];

    public string Name => ControllerName;

    public IReadOnlyList<PendingPlan> Pending
    {
        get
        {
            lock (_pending)
            {
                return [.. _pending.Values.Select(p => p.Pending).OrderBy(p => p.CreatedAt)];
            }
        }
    }

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        var (read, proposal) = await core.Proposals.TakeAsync(cancellationToken).ConfigureAwait(false);
        if (!read)
        {
            await core.Quiet.Waiting(Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
            return;
        }

        ExpireApprovals();
        // What this instance leads the source of (moves into sets other instances lead go by claim, in the executor).
        var ours = proposal!.Actions.Where(a => core.Leadership.MayActOn(a.Host)).ToList();
        if (ours.Count < proposal.Actions.Count)
        {
            // Proposed while this instance led, taken after it lost the lead (of some host sets): their new leader plans afresh.
            await core.Audit.AppendAsync(AuditKind.PlanDiscarded, proposal.Controller, proposal.PlanId, null, null, null,
                $"{proposal.Actions.Count - ours.Count} actions discarded: this instance no longer leads their scope").ConfigureAwait(false);
        }

        var byMode = ours.GroupBy(a => core.Options.ModeOf(a.Kind)).ToDictionary(g => g.Key, g => (IReadOnlyList<ClusterAction>)[.. g]);
        if (byMode.TryGetValue(ExecutionMode.Approve, out var held))
        {
            var pending = new PendingPlan(proposal.PlanId, proposal.Controller, held, proposal.Time, TimeMath.Add(proposal.Time, core.Options.ApprovalTimeout));
            lock (_pending)
            {
                _pending[proposal.PlanId] = (proposal, pending);
            }

            await core.Audit.AppendAsync(AuditKind.PlanAwaitingApproval, proposal.Controller, proposal.PlanId, null, null, null,
                $"{held.Count} actions wait for approval until {pending.ExpiresAt:O}", PendingPlanRecord.Write(held)).ConfigureAwait(false);
        }

        if (byMode.TryGetValue(ExecutionMode.Automatic, out var now))
        {
            await executor.ExecuteAsync(proposal, now, model.Maintenance(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Holds again the plans a previous process left waiting for approval: <paramref name="planRecords"/> are the
    /// trail's awaiting, approved, rejected and discarded records in order; a plan awaiting with none of the others
    /// after it, and not expired, is held again. One that expired while no process ran is recorded as discarded.
    /// Returns how many are held.
    /// </summary>
    public async Task<int> RestorePendingAsync(IReadOnlyList<AuditRecord> planRecords)
    {
        var now = core.Time.GetUtcNow();
        var waiting = new Dictionary<string, AuditRecord>(StringComparer.Ordinal);
        foreach (var r in planRecords)
        {
            if (r.PlanId is not { } id)
            {
                continue;
            }

            if (r.Kind == AuditKind.PlanAwaitingApproval)
            {
                waiting[id] = r;
            }
            else
            {
                waiting.Remove(id);
            }
        }

        int restored = 0;
        foreach (var r in waiting.Values.OrderBy(r => r.Sequence))
        {
            var expires = TimeMath.Add(r.Timestamp, core.Options.ApprovalTimeout);
            var actions = r.Detail is { } detail ? PendingPlanRecord.Read(detail, core.ActionRestorers) : null;
            if (expires <= now || actions is null)
            {
                await core.Audit.AppendAsync(AuditKind.PlanDiscarded, r.Controller, r.PlanId, null, null, null,
                    expires <= now ? $"expired without approval at {expires:O} (while the runtime was stopped)" : "its actions could not be restored after a restart").ConfigureAwait(false);
                continue;
            }

            var proposal = new Proposal(r.PlanId!, r.Controller ?? "restored", "restored", r.Timestamp, actions);
            lock (_pending)
            {
                _pending[r.PlanId!] = (proposal, new PendingPlan(r.PlanId!, proposal.Controller, actions, r.Timestamp, expires));
            }

            restored++;
        }

        return restored;
    }

    /// <summary>Executes a pending plan (actions that became invalid are skipped and audited); returns how many started.</summary>
    public async Task<int> ApproveAsync(string planId, CancellationToken cancellationToken)
    {
        if (!core.Leadership.MayAct)
        {
            throw new InvalidOperationException(
                $"This instance ({core.Leadership.Instance}) does not lead {core.Leadership.Scope}; approve on the leader ({core.Leadership.LeaderOf(null) ?? "none elected yet"}).");
        }

        (Proposal Proposal, PendingPlan Pending) entry;
        lock (_pending)
        {
            if (!_pending.Remove(planId, out entry))
            {
                throw new InvalidOperationException($"No plan '{planId}' waits for approval (it may have expired, been rejected or approved already).");
            }
        }

        await core.Audit.AppendAsync(AuditKind.PlanApproved, entry.Proposal.Controller, planId, null, null, null, $"approved: {entry.Pending.Actions.Count} actions")
            .ConfigureAwait(false);
        return await executor.ExecuteAsync(entry.Proposal, entry.Pending.Actions, model.Maintenance(), cancellationToken).ConfigureAwait(false);
    }

    public async Task RejectAsync(string planId, string? reason)
    {
        (Proposal Proposal, PendingPlan Pending) entry;
        lock (_pending)
        {
            if (!_pending.Remove(planId, out entry))
            {
                throw new InvalidOperationException($"No plan '{planId}' waits for approval.");
            }
        }

        await core.Audit.AppendAsync(AuditKind.PlanRejected, entry.Proposal.Controller, planId, null, null, null,
            $"rejected{(reason is null ? string.Empty : $": {reason}")}").ConfigureAwait(false);
    }

    private void ExpireApprovals()
    {
        var now = core.Time.GetUtcNow();
        List<PendingPlan> expired;
        lock (_pending)
        {
            expired = [.. _pending.Values.Select(p => p.Pending).Where(p => p.ExpiresAt <= now)];
            foreach (var p in expired)
            {
                _pending.Remove(p.PlanId);
            }
        }

        foreach (var p in expired)
        {
            _ = core.Audit.AppendAsync(AuditKind.PlanDiscarded, p.Controller, p.PlanId, null, null, null, $"expired without approval at {p.ExpiresAt:O}");
        }
    }
}
