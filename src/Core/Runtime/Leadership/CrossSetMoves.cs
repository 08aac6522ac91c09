using System.Globalization;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime.Leadership;

/// <summary>
/// Moves between host sets led by different instances, by a two-phase claim in the shared store. The source set's
/// leader claims the move under its term and starts it only once the claim is accepted. The target set's leader decides
/// each claim into the sets it leads (at its heartbeat) under its own term. It accepts only if the target host can hold
/// the VM beside what it already holds, and then keeps room for the VM in its ledger until the claim lapses, so its own
/// planner does not fill the host meanwhile. Neither leader acts on the other's set alone.
/// </summary>
/// <remarks>Without a claim store (an election that does not implement <see cref="IMoveClaims"/>), such moves are never started.</remarks>
internal sealed class CrossSetMoves(RuntimeCore core, RuntimeModel model, IMoveClaims? claims)
{
    private readonly Dictionary<VmId, (HostId Target, DateTimeOffset Expires)> _accepted = []; // claims this instance accepted, until they lapse

    /// <summary>How long a claim stands: long enough for the source's next planning pass to find it decided.</summary>
    private TimeSpan Lifetime => core.Options.PlanningInterval * 2 > TimeSpan.FromMinutes(1) ? core.Options.PlanningInterval * 2 : TimeSpan.FromMinutes(1);

    /// <summary>True when <paramref name="action"/> moves a VM out of a set this instance leads into a set another instance leads.</summary>
    public bool Crosses(ClusterAction action) =>
        core.Leadership.Sharded && action is MigrateAction && action.Target is { } target
        && core.Leadership.MayActOn(action.Host) && !core.Leadership.MayActOn(target);

    /// <summary>
    /// The source side: claims the move (once) and returns true once the target's leader accepted it; otherwise
    /// records why the move waits or was refused, and returns false.
    /// </summary>
    public async Task<bool> ClearedAsync(Proposal proposal, MigrateAction action, CancellationToken cancellationToken)
    {
        var d = action.Decision;
        var leadership = core.Leadership;
        var now = core.Time.GetUtcNow();
        if (claims is null)
        {
            await core.Audit.AppendAsync(AuditKind.DecisionSkipped, proposal.Controller, proposal.PlanId, d.Vm, d.Source, d.Target,
                $"not started: {d.Target} is in {leadership.ScopeOf(d.Target)}, which another instance leads, and the election keeps no claims to agree on it").ConfigureAwait(false);
            return false;
        }

        var (sourceScope, token) = leadership.FenceFor(d.Source)!.Value;
        string targetScope = leadership.ScopeOf(d.Target);
        var claim = new MoveClaim($"{d.Vm}|{d.Target}|{sourceScope}#{token}", d.Vm, sourceScope, token, targetScope, d.Target, leadership.Instance, now + Lifetime)
        {
            Amount = AmountOf(d.Vm),
        };
        try
        {
            claim = await claims.ClaimAsync(claim, cancellationToken).AsTask().WaitAsync(core.Options.CallTimeout, core.Time, cancellationToken).ConfigureAwait(false);
        }
        catch (StaleFencingTokenException ex)
        {
            leadership.Fenced(sourceScope, token, $"the store refused its claim ({ex.Message})");
            return false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            core.Logger.LogWarning(ex, "The claim on moving {Vm} into {Scope} could not be made; the move waits", d.Vm.Value, targetScope);
            return false;
        }

        if (claim.State == MoveClaimState.Accepted && claim.Expires > now)
        {
            return true;
        }

        string why = claim.State switch
        {
            MoveClaimState.Refused => $"refused by {claim.Decider}, leader of {targetScope}: {claim.Reason}",
            _ when claim.Expires <= now => $"its claim on {targetScope} lapsed undecided",
            _ => $"claimed on {targetScope}; waits for its leader ({leadership.LeaderOf(d.Target) ?? "none known"}) to accept",
        };
        await core.Audit.AppendAsync(AuditKind.DecisionSkipped, proposal.Controller, proposal.PlanId, d.Vm, d.Source, d.Target,
            $"not started: a move into a host set another instance leads: {why}").ConfigureAwait(false);
        return false;
    }

    /// <summary>The target side: decides the pending claims into the sets this instance leads.</summary>
    public async Task DecideAsync(CancellationToken cancellationToken)
    {
        var led = core.Leadership.Led;
        if (claims is null || led.Count == 0)
        {
            return;
        }

        var now = core.Time.GetUtcNow();
        var pending = await claims.PendingAsync(led, now, cancellationToken).AsTask().WaitAsync(core.Options.CallTimeout, core.Time, cancellationToken).ConfigureAwait(false);
        foreach (var claim in pending)
        {
            if (core.Leadership.FenceFor(claim.Target) is not { } fence || fence.Scope != claim.TargetScope || !core.Leadership.MayActOn(claim.Target))
            {
                continue; // not (or no longer) this instance's set
            }

            string? refusal = Refusal(claim);
            bool accept = refusal is null;
            string reason = refusal ?? string.Create(CultureInfo.InvariantCulture, $"{claim.Target} holds {claim.Amount.CpuMhz:F0} MHz and {claim.Amount.MemoryMiB:F0} MiB more; room kept until {claim.Expires:O}");
            if (!await claims.DecideAsync(claim.Id, accept, core.Leadership.Instance, fence.Token, reason, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            if (accept)
            {
                lock (_accepted)
                {
                    _accepted[claim.Vm] = (claim.Target, claim.Expires);
                }

                lock (model.Gate)
                {
                    model.Session.Ledger.Reserve(claim.Vm.Value, claim.Target, ReservationKind.MigrationInFlight, claim.Amount, claim.Expires);
                }
            }

            await core.Audit.AppendAsync(AuditKind.MoveClaimDecided, LeadershipController.ControllerName, null, claim.Vm, null, claim.Target,
                $"{core.Leadership.Instance} {(accept ? "accepted" : "refused")} {claim.Claimer}'s claim on moving {claim.Vm} into {claim.Target} ({claim.TargetScope}): {reason}").ConfigureAwait(false);
        }
    }

    // Why the target host cannot take the VM now (null: it can): the executor's own re-check on this instance's latest
    // observation (capacity with the moves in flight, placement rules, dependencies), and one accepted claim per host
    // at a time (a claim's room is held in the ledger, which that re-check does not read; its own moves it does).
    private string? Refusal(MoveClaim claim)
    {
        if (model.RecheckMove(claim.Vm, claim.Target) is { } refused)
        {
            return refused;
        }

        var now = core.Time.GetUtcNow();
        lock (_accepted)
        {
            foreach (var gone in _accepted.Where(a => a.Value.Expires <= now).Select(a => a.Key).ToList())
            {
                _accepted.Remove(gone);
            }

            var other = _accepted.FirstOrDefault(a => a.Value.Target == claim.Target && a.Key != claim.Vm);
            return other.Value.Target == claim.Target
                ? $"{claim.Target} already holds room for {other.Key}, claimed until {other.Value.Expires:O}; one claim into a host at a time"
                : null;
        }
    }

    private ResourceVector AmountOf(VmId vm)
    {
        lock (model.Gate)
        {
            var state = model.LastState;
            int v = state?.IndexOf(vm) ?? -1;
            return v < 0 ? default : new ResourceVector(state!.VmPes[v], state.VmRequestedMips[v], state.VmMemoryMiB[v], 0, 0);
        }
    }
}
