using Microsoft.Extensions.Logging;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime.Leadership;

/// <summary>
/// The <c>leadership</c> controller: every <see cref="LeadershipOptions.RenewInterval"/> it renews this instance's
/// lease, or tries to take it. Gaining leadership first reconciles what the previous leader left open (intents without
/// outcome are looked up through the provider and recorded with their real outcome), and only then lets the runtime
/// act. A renewal that fails, or a lease that lapses, stops it acting at once; an instance that lost its lease waits one
/// lease time before trying again, so a live follower takes over. Every change is audited.
/// </summary>
internal sealed class LeadershipController(RuntimeCore core, ILeaderElection election, LeadershipOptions options, Func<CancellationToken, Task<string>> onAcquired)
    : IRuntimeController
{
    public const string ControllerName = "leadership";
    private LeaderLease? _lease; // this instance's own while it leads
    private DateTimeOffset _retryAfter = DateTimeOffset.MinValue;

    public string Name => ControllerName;

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        await BeatAsync(cancellationToken).ConfigureAwait(false);
        await context.DelayAsync(options.RenewInterval, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One heartbeat (also run once at start, before the other controllers).</summary>
    public async Task BeatAsync(CancellationToken cancellationToken)
    {
        var state = core.Leadership;
        if (state.TakeDemotion() is { } why)
        {
            await LostAsync(why, backOff: true).ConfigureAwait(false); // demoted by the store's fence since the last beat
        }

        var now = core.Time.GetUtcNow();
        if (_lease is null && now < _retryAfter)
        {
            return;
        }

        LeaderLease? lease;
        try
        {
            lease = await election.TryAcquireAsync(options.Scope, options.InstanceName, now, options.LeaseTime, cancellationToken)
                .AsTask().WaitAsync(core.Options.CallTimeout, core.Time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            core.Logger.LogWarning(ex, "Leader election for {Scope} failed", options.Scope);
            if (_lease is not null)
            {
                await LostAsync($"its lease could not be renewed ({ex.Message})", backOff: true).ConfigureAwait(false);
            }

            return;
        }

        // Never again under a term the store refused (an election that still reports it is stale, not this store).
        bool leading = lease is not null && lease.Holder == options.InstanceName && lease.Expires > now && lease.Token > state.Refused;
        if (_lease is { } mine && (!leading || lease!.Token != mine.Token))
        {
            await LostAsync(leading ? $"a newer term ({lease!.Token}) replaced its term {mine.Token}" : $"{lease?.Holder ?? "no instance"} holds the lease", backOff: !leading)
                .ConfigureAwait(false);
        }

        state.Observed(lease);
        if (leading && _lease is null)
        {
            await AcquiredAsync(lease!, cancellationToken).ConfigureAwait(false);
        }
        else if (leading)
        {
            _lease = lease;
            state.Observed(lease);
        }
    }

    /// <summary>Gives the lease up at stop, so a follower leads at once.</summary>
    public async Task ReleaseAsync()
    {
        if (_lease is not { } lease)
        {
            return;
        }

        core.Leadership.Demote("the runtime stopped");
        core.Leadership.TakeDemotion();
        _lease = null;
        try
        {
            using var timeout = new CancellationTokenSource(core.Options.CallTimeout, core.Time);
            await election.ReleaseAsync(lease, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            core.Logger.LogWarning(ex, "The lease of {Scope} could not be released; it lapses at {Expires:O}", lease.Scope, lease.Expires);
        }

        await core.Audit.AppendAsync(AuditKind.LeadershipLost, Name, null, null, null, null,
            $"{options.InstanceName} released the lead of {options.Scope} (term {lease.Token}): the runtime stopped").ConfigureAwait(false);
    }

    private async Task AcquiredAsync(LeaderLease lease, CancellationToken cancellationToken)
    {
        // The previous leader's open intents are resolved before this one acts; what that records carries the new term,
        // and anything the old leader still records after this point is refused by the store.
        core.Leadership.BeginTerm(lease);
        string reconciled = await onAcquired(cancellationToken).ConfigureAwait(false);
        _lease = lease;
        core.Leadership.Lead(lease);
        core.Instruments.LeadershipChanges.Add(1, new KeyValuePair<string, object?>("vmeco.leadership.change", "acquired"));
        core.Logger.LogInformation("{Instance} leads {Scope} (term {Token}); {Reconciled}", options.InstanceName, options.Scope, lease.Token, reconciled);
        await core.Audit.AppendAsync(AuditKind.LeadershipAcquired, Name, null, null, null, null,
            $"{options.InstanceName} leads {options.Scope} (term {lease.Token}, lease until {lease.Expires:O}); {reconciled}").ConfigureAwait(false);
    }

    private async Task LostAsync(string why, bool backOff)
    {
        var lease = _lease;
        _lease = null;
        core.Leadership.Demote(why);
        core.Leadership.TakeDemotion();
        if (backOff)
        {
            _retryAfter = core.Time.GetUtcNow() + options.LeaseTime;
        }

        core.Instruments.LeadershipChanges.Add(1, new KeyValuePair<string, object?>("vmeco.leadership.change", "lost"));
        core.Logger.LogWarning("{Instance} no longer leads {Scope}: {Why}", options.InstanceName, options.Scope, why);
        await core.Audit.AppendAsync(AuditKind.LeadershipLost, Name, null, null, null, null,
            $"{options.InstanceName} no longer leads {options.Scope}{(lease is null ? string.Empty : $" (term {lease.Token})")}: {why}").ConfigureAwait(false);
    }
}
