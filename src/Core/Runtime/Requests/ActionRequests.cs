using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// Requested actions (<see cref="IEcosystemControl"/>): checked against the latest observation plus the moves in
/// flight (the executor's own re-check), proposed under the controller name <c>requests</c> (never superseded by a
/// newer proposal), and read back from the audit trail, which is the one record of where each stands.
/// </summary>
internal sealed class ActionRequests(RuntimeCore core, RuntimeModel model, ActionExecutor executor, ExecutionController execution)
{
    public const string ControllerName = "requests";

    public async Task<ActionRequest> MigrateAsync(VmId vm, HostId? target, string? reason, CancellationToken cancellationToken)
    {
        RequireId(vm.Value, nameof(vm));
        if (target is { } t)
        {
            RequireId(t.Value, nameof(target));
        }

        var source = Source(vm);
        MigrateAction? chosen = null;
        string? refusal = null;
        if (target is { } given)
        {
            if (!HasHost(given))
            {
                throw new ArgumentException($"Host '{given}' is not in the cluster.", nameof(target));
            }

            if (given == source)
            {
                throw new ArgumentException($"VM '{vm}' already runs on '{given}'.", nameof(target));
            }

            var action = Move(vm, source, given, reason, "requested target");
            refusal = model.Revalidate(action);
            chosen = refusal is null ? action : null;
        }
        else
        {
            // The first host by CPU headroom that passes every check; the reasons of the first refusals explain a refusal.
            var reasons = new List<string>();
            foreach (var host in Candidates(vm))
            {
                var action = Move(vm, source, host, reason, "most headroom");
                if (model.Revalidate(action) is not { } why)
                {
                    chosen = action;
                    break;
                }

                if (reasons.Count < 3)
                {
                    reasons.Add($"{host}: {why}");
                }
            }

            refusal = chosen is null ? $"no host passes the checks{(reasons.Count > 0 ? ": " + string.Join("; ", reasons) : string.Empty)}" : null;
        }

        return await SubmitAsync(MigrateAction.KindName, vm, source, chosen?.Target ?? target, chosen, refusal, reason, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ActionRequest> HotPlugAsync(VmId vm, HotPlugRequest request, string? reason, CancellationToken cancellationToken)
    {
        RequireId(vm.Value, nameof(vm));
        ArgumentNullException.ThrowIfNull(request);
        if (request.Vcpus is null && request.MemoryMiB is null)
        {
            throw new ArgumentException("The request changes nothing: give Vcpus, MemoryMiB or both.", nameof(request));
        }

        if (request.Vcpus is < 1 || request.MemoryMiB is { } m && (!double.IsFinite(m) || m <= 0))
        {
            throw new ArgumentException($"Vcpus must be at least 1 and MemoryMiB positive; got {request.Vcpus}, {request.MemoryMiB}.", nameof(request));
        }

        var source = Source(vm);
        var action = new HotPlugAction(vm, source, request, $"requested: {reason ?? "by the application"}");
        string? refusal = model.Revalidate(action);
        return await SubmitAsync(HotPlugAction.KindName, vm, source, null, refusal is null ? action : null, refusal, reason, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ActionRequest?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        await core.Audit.FlushAsync(cancellationToken).ConfigureAwait(false);
        var records = new List<AuditRecord>();
        await foreach (var r in core.Audit.Store.QueryAsync(new AuditQuery { PlanId = id }, cancellationToken).ConfigureAwait(false))
        {
            records.Add(r);
        }

        return Read(id, records);
    }

    public async Task<bool> CancelAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (execution.Pending.Any(p => p.PlanId == id && p.Controller == ControllerName))
        {
            try
            {
                await execution.RejectAsync(id, "cancelled by the requester").ConfigureAwait(false);
                return true;
            }
            catch (InvalidOperationException)
            {
                // Approved or expired meanwhile: look at what runs.
            }
        }

        if (executor.Running.FirstOrDefault(r => r.PlanId == id) is { } running)
        {
            await running.Operation.CancelAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        return false;
    }

    // Audited like a controller's proposal (plan created, then planned or skipped), then handed to the executor.
    private async Task<ActionRequest> SubmitAsync(string kind, VmId vm, HostId source, HostId? target, ClusterAction? action, string? refusal, string? reason, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!core.Leadership.MayActOn(source))
        {
            throw new InvalidOperationException(
                $"This instance ({core.Leadership.Instance}) does not lead {core.Leadership.ScopeOf(source)}; send the request to the leader ({core.Leadership.LeaderOf(source) ?? "none elected yet"}).");
        }

        if (action is not null && core.Proposals.CountOf(ControllerName) >= core.Options.MaxQueuedRequests)
        {
            throw new InvalidOperationException(
                $"{core.Options.MaxQueuedRequests} requests already wait for the executor (MaxQueuedRequests); retry when they have started.");
        }

        string id = core.NextPlanId();
        var now = core.Time.GetUtcNow();
        string what = target is { } to ? $"{kind} {vm} from {source} to {to}" : $"{kind} {vm} on {source}";
        await core.Audit.AppendAsync(AuditKind.PlanCreated, ControllerName, id, vm, source, target,
            $"requested: {what}{(reason is null ? string.Empty : $" ({reason})")}", kind).ConfigureAwait(false);
        if (action is null)
        {
            await core.Audit.AppendAsync(AuditKind.DecisionSkipped, ControllerName, id, vm, source, target, $"refused: {refusal}").ConfigureAwait(false);
        }
        else
        {
            string? detail = action is MigrateAction m ? ActionExecutor.Explain(m.Decision) : null;
            await core.Audit.AppendAsync(AuditKind.DecisionPlanned, ControllerName, id, vm, source, target, $"{kind}: {action.Reason}", detail).ConfigureAwait(false);
            core.Proposals.Add(new Proposal(id, ControllerName, "requested", now, [action]) { Supersedable = false });
        }

        return await GetAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Request {id} was not recorded by the audit store.");
    }

    /// <summary>The request's state from its records, oldest first.</summary>
    private ActionRequest? Read(string id, List<AuditRecord> records)
    {
        if (records.FirstOrDefault(r => r.Kind == AuditKind.PlanCreated && r.Controller == ControllerName) is not { Vm: { } vm } created)
        {
            return null;
        }

        string kind = created.Detail ?? MigrateAction.KindName;
        var state = RequestState.Refused;
        string message = created.Message;
        foreach (var r in records)
        {
            RequestState? next = r.Kind switch
            {
                AuditKind.DecisionPlanned => core.Options.ModeOf(kind) == ExecutionMode.DryRun ? RequestState.Planned : RequestState.Queued,
                AuditKind.DecisionSkipped => state == RequestState.Refused ? RequestState.Refused : RequestState.Skipped,
                AuditKind.PlanAwaitingApproval => RequestState.AwaitingApproval,
                AuditKind.PlanApproved => RequestState.Queued,
                AuditKind.PlanRejected => RequestState.Rejected,
                AuditKind.PlanDiscarded => RequestState.Discarded,
                AuditKind.ActionIntended or AuditKind.MigrationStarted or AuditKind.ActionStarted => RequestState.Running,
                AuditKind.MigrationSucceeded or AuditKind.ActionSucceeded => RequestState.Succeeded,
                AuditKind.MigrationFailed or AuditKind.ActionFailed => RequestState.Failed,
                AuditKind.MigrationCancelled => RequestState.Cancelled,
                _ => null,
            };
            if (next is { } s)
            {
                state = s;
                message = r.Message;
            }
        }

        return new ActionRequest(id, kind, vm, created.Source, created.Target, state, message, created.Timestamp);
    }

    private HostId Source(VmId vm)
    {
        lock (model.Gate)
        {
            if (!model.Recheck.Ready)
            {
                throw new InvalidOperationException("The cluster has not been observed yet; a request can be checked once the first observation is in (one MetricsInterval after start).");
            }

            return model.Recheck.HostOf(vm) ?? throw new ArgumentException($"VM '{vm}' is not running on any host of the cluster.", nameof(vm));
        }
    }

    private bool HasHost(HostId host)
    {
        lock (model.Gate)
        {
            return model.Recheck.HasHost(host);
        }
    }

    private IReadOnlyList<HostId> Candidates(VmId vm)
    {
        lock (model.Gate)
        {
            return model.Recheck.TargetsByHeadroom(vm);
        }
    }

    private static MigrateAction Move(VmId vm, HostId source, HostId target, string? reason, string rule) => new(new MigrationDecision
    {
        Vm = vm, Source = source, Target = target, VmIndex = -1, TargetIndex = -1, Stage = "requested", Rule = rule,
        Trigger = new TriggerEvidence("requested", reason ?? "requested by the application"),
    });

    private static void RequireId(string? value, string parameter)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException("An id must be a non-empty name.", parameter);
        }
    }
}
