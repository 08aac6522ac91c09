using Microsoft.Extensions.Logging;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime.Leadership;

/// <summary>
/// The <c>leadership</c> controller: every <see cref="LeadershipOptions.RenewInterval"/> it renews this instance's
/// leases, or tries to take them. Not sharded, there is one scope. Sharded by host set, every instance renews a
/// membership lease, and each leads its share of the host sets (the sets divided by the live instances, rounded up):
/// it hands back what is over its share and takes free sets up to it, so sets spread out as instances join and move to
/// the others when one leaves. Gaining a scope first reconciles what its previous leader left open, and only then does
/// this instance act there. A renewal that fails stops it acting there at once, and it waits one lease time before
/// trying that scope again. Every change is audited.
/// </summary>
internal sealed class LeadershipController(RuntimeCore core, ILeaderElection election, LeadershipOptions options, Func<string, CancellationToken, Task<string>> onAcquired,
    CrossSetMoves? crossSet = null) : IRuntimeController
{
    public const string ControllerName = "leadership";
    private static readonly TimeSpan InventoryEvery = TimeSpan.FromMinutes(1);
    private readonly Dictionary<string, LeaderLease> _leases = new(StringComparer.Ordinal); // this instance's own
    private readonly Dictionary<string, DateTimeOffset> _retryAfter = new(StringComparer.Ordinal);
    private LeaderLease? _member;
    private DateTimeOffset _nextInventory = DateTimeOffset.MinValue;

    public string Name => ControllerName;

    private string MembersPrefix => $"{options.Scope}#members/";

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        await BeatAsync(cancellationToken).ConfigureAwait(false);
        await context.DelayAsync(options.RenewInterval, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One heartbeat (also run once at start, before the other controllers).</summary>
    public async Task BeatAsync(CancellationToken cancellationToken)
    {
        var now = core.Time.GetUtcNow();
        foreach (var (scope, why) in core.Leadership.TakeDemotions())
        {
            if (_leases.Remove(scope, out var lease))
            {
                _retryAfter[scope] = now + options.LeaseTime; // demoted by the store's fence since the last beat
                await AuditLostAsync(scope, lease, why).ConfigureAwait(false);
            }
        }

        if (!options.ShardByHostSet)
        {
            await TryScopeAsync(options.Scope, now, cancellationToken).ConfigureAwait(false);
            return;
        }

        await BeatShardedAsync(now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gives every lease up at stop, so the other instances lead at once.</summary>
    public async Task ReleaseAsync()
    {
        foreach (var scope in _leases.Keys.ToList())
        {
            await ReleaseScopeAsync(scope, "the runtime stopped").ConfigureAwait(false);
        }

        if (_member is { } member)
        {
            _member = null;
            await GiveUpAsync(member).ConfigureAwait(false);
        }
    }

    private async Task BeatShardedAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (now >= _nextInventory)
        {
            try
            {
                core.Leadership.SetShards(await core.Calls.CallAsync("GetInventory", ct => core.Hypervisor.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false));
                _nextInventory = now + InventoryEvery;
            }
            catch (Exception ex) when (ex is HypervisorException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                core.Logger.LogWarning(ex, "The host sets could not be read; the shards stay as they were");
            }
        }

        IReadOnlyList<LeaderLease> all;
        try
        {
            _member = await AcquireAsync($"{MembersPrefix}{options.InstanceName}", now, cancellationToken).ConfigureAwait(false);
            all = await election.ListAsync(options.Scope, cancellationToken).AsTask().WaitAsync(core.Options.CallTimeout, core.Time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            core.Logger.LogWarning("Leader election for {Scope} failed: {Error}", options.Scope, ex.Message);
            core.Logger.LogDebug(ex, "Leader election for {Scope} failed", options.Scope);
            all = [];
        }

        var members = all.Where(l => l.Scope.StartsWith(MembersPrefix, StringComparison.Ordinal) && l.Expires > now).Select(l => l.Holder).ToHashSet(StringComparer.Ordinal);
        foreach (var lease in all.Where(l => !l.Scope.StartsWith(MembersPrefix, StringComparison.Ordinal) && !_leases.ContainsKey(l.Scope)))
        {
            core.Leadership.Observed(lease.Scope, lease); // who leads the other sets, for the status
        }

        members.Add(options.InstanceName);
        var shards = core.Leadership.Shards;
        int share = (shards.Count + members.Count - 1) / members.Count;

        foreach (var scope in _leases.Keys.Order(StringComparer.Ordinal).ToList())
        {
            await TryScopeAsync(scope, now, cancellationToken).ConfigureAwait(false);
        }

        // Over its share (an instance joined) or a set that is gone: handed back, highest names first.
        var mine = _leases.Keys.Order(StringComparer.Ordinal).ToList();
        foreach (var scope in mine.Where(s => !shards.Contains(s)).Concat(mine.Where(shards.Contains).Skip(share).Reverse()).ToList())
        {
            await ReleaseScopeAsync(scope, $"rebalanced: {members.Count} instances share {shards.Count} host sets, {share} each at most").ConfigureAwait(false);
        }

        // Under its share: free sets (never led, lease lapsed, or led by an instance no longer alive), lowest names first.
        foreach (var scope in shards)
        {
            if (_leases.Count >= share)
            {
                break;
            }

            var current = all.FirstOrDefault(l => l.Scope == scope);
            if (!_leases.ContainsKey(scope) && (current is null || current.Expires <= now || !members.Contains(current.Holder)))
            {
                await TryScopeAsync(scope, now, cancellationToken).ConfigureAwait(false);
            }
        }

        // The second phase of other instances' moves into the sets this one leads.
        if (crossSet is not null)
        {
            try
            {
                await crossSet.DecideAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                core.Logger.LogWarning(ex, "Claims into the host sets {Instance} leads could not be decided; retried at the next heartbeat", options.InstanceName);
            }
        }
    }

    private async Task TryScopeAsync(string scope, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var state = core.Leadership;
        if (!_leases.ContainsKey(scope) && now < _retryAfter.GetValueOrDefault(scope))
        {
            return;
        }

        LeaderLease? lease;
        try
        {
            lease = await AcquireAsync(scope, now, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            core.Logger.LogWarning("Leader election for {Scope} failed: {Error}", scope, ex.Message);
            core.Logger.LogDebug(ex, "Leader election for {Scope} failed", scope);
            if (_leases.ContainsKey(scope))
            {
                await LoseAsync(scope, $"its lease could not be renewed ({ex.Message})", now, backOff: true).ConfigureAwait(false);
            }

            return;
        }

        // Never again under a term the store refused (an election that still reports it is stale, not this store).
        bool leading = lease is not null && lease.Holder == options.InstanceName && lease.Expires > now && lease.Token > state.RefusedOf(scope);
        if (_leases.TryGetValue(scope, out var mine) && (!leading || lease!.Token != mine.Token))
        {
            await LoseAsync(scope, leading ? $"a newer term ({lease!.Token}) replaced its term {mine.Token}" : $"{lease?.Holder ?? "no instance"} holds the lease", now, backOff: !leading)
                .ConfigureAwait(false);
        }

        state.Observed(scope, lease);
        if (leading && !_leases.ContainsKey(scope))
        {
            await AcquiredAsync(lease!, cancellationToken).ConfigureAwait(false);
        }
        else if (leading)
        {
            _leases[scope] = lease!;
            state.Renewed(lease!);
        }
    }

    private Task<LeaderLease?> AcquireAsync(string scope, DateTimeOffset now, CancellationToken cancellationToken) =>
        election.TryAcquireAsync(scope, options.InstanceName, now, options.LeaseTime, cancellationToken)
            .AsTask().WaitAsync(core.Options.CallTimeout, core.Time, cancellationToken);

    private async Task AcquiredAsync(LeaderLease lease, CancellationToken cancellationToken)
    {
        // The previous leader's open intents are resolved before this one acts; what that records carries the new term,
        // and anything the old leader still records after this point is refused by the store.
        core.Leadership.BeginTerm(lease);
        string reconciled = await onAcquired(lease.Scope, cancellationToken).ConfigureAwait(false);
        _leases[lease.Scope] = lease;
        core.Leadership.Lead(lease);
        core.Leadership.OnLead?.Invoke();
        core.Instruments.LeadershipChanges.Add(1, new KeyValuePair<string, object?>("vmeco.leadership.change", "acquired"));
        core.Logger.LogInformation("{Instance} leads {Scope} (term {Token}); {Reconciled}", options.InstanceName, lease.Scope, lease.Token, reconciled);
        await core.Audit.AppendAsync(AuditKind.LeadershipAcquired, Name, null, null, null, null,
            $"{options.InstanceName} leads {lease.Scope} (term {lease.Token}, lease until {lease.Expires:O}); {reconciled}").ConfigureAwait(false);
    }

    private async Task LoseAsync(string scope, string why, DateTimeOffset now, bool backOff)
    {
        _leases.Remove(scope, out var lease);
        core.Leadership.Demote(scope, why);
        core.Leadership.TakeDemotions();
        if (backOff)
        {
            _retryAfter[scope] = now + options.LeaseTime;
        }

        await AuditLostAsync(scope, lease, why).ConfigureAwait(false);
    }

    private async Task ReleaseScopeAsync(string scope, string why)
    {
        if (!_leases.Remove(scope, out var lease))
        {
            return;
        }

        core.Leadership.Demote(scope, why);
        core.Leadership.TakeDemotions();
        await GiveUpAsync(lease).ConfigureAwait(false);
        await AuditLostAsync(scope, lease, $"released: {why}").ConfigureAwait(false);
    }

    private async Task GiveUpAsync(LeaderLease lease)
    {
        try
        {
            using var timeout = new CancellationTokenSource(core.Options.CallTimeout, core.Time);
            await election.ReleaseAsync(lease, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            core.Logger.LogWarning(ex, "The lease of {Scope} could not be released; it lapses at {Expires:O}", lease.Scope, lease.Expires);
        }
    }

    private async Task AuditLostAsync(string scope, LeaderLease? lease, string why)
    {
        core.Instruments.LeadershipChanges.Add(1, new KeyValuePair<string, object?>("vmeco.leadership.change", "lost"));
        core.Logger.LogWarning("{Instance} no longer leads {Scope}: {Why}", options.InstanceName, scope, why);
        await core.Audit.AppendAsync(AuditKind.LeadershipLost, Name, null, null, null, null,
            $"{options.InstanceName} no longer leads {scope}{(lease is null ? string.Empty : $" (term {lease.Token})")}: {why}").ConfigureAwait(false);
    }
}
