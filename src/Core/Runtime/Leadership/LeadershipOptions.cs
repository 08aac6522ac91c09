namespace VmEcosystem.Runtime.Leadership;

/// <summary>
/// Leader election settings (section <c>VmEcosystem:Runtime:Leadership</c>); used when an
/// <see cref="ILeaderElection"/> is registered (<c>UsePostgreSql(..., o =&gt; o.LeaderElection = true)</c>).
/// </summary>
public sealed class LeadershipOptions
{
    /// <summary>What one leader leads (default <c>cluster</c>): instances with the same scope elect one leader among them.</summary>
    public string Scope { get; set; } = "cluster";

    /// <summary>
    /// Shards by host set (default false): each host set of the inventory is a scope of its own (<c>{Scope}/{set}</c>),
    /// and the instances spread them evenly among themselves (rebalanced as instances join and leave), so each leads
    /// and executes for its share of the estate.
    /// </summary>
    public bool ShardByHostSet { get; set; }

    /// <summary>This instance's name in leases and the audit trail (null: machine name and process id).</summary>
    public string? Instance { get; set; }

    /// <summary>How long a lease lasts unless renewed (default 15 s): the longest a dead leader's scope goes unled.</summary>
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the leader renews and followers try (default 5 s; at most a third of <see cref="LeaseTime"/>).</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The instance name in use.</summary>
    internal string InstanceName => Instance ?? $"{Environment.MachineName}-{Environment.ProcessId}";

    internal IEnumerable<string> Validate(string prefix)
    {
        if (string.IsNullOrWhiteSpace(Scope) || Scope.Length > 200)
        {
            yield return $"{prefix}:{nameof(Scope)} must be a non-empty name of at most 200 characters; got '{Scope}'.";
        }

        if (Instance is not null && (string.IsNullOrWhiteSpace(Instance) || Instance.Length > 200))
        {
            yield return $"{prefix}:{nameof(Instance)} must be a non-empty name of at most 200 characters, or null; got '{Instance}'.";
        }

        if (LeaseTime < TimeSpan.FromSeconds(1) || LeaseTime > TimeSpan.FromHours(1))
        {
            yield return $"{prefix}:{nameof(LeaseTime)} must be between 1 s and 1 h; got {LeaseTime}.";
        }

        if (RenewInterval <= TimeSpan.Zero || RenewInterval * 3 > LeaseTime)
        {
            yield return $"{prefix}:{nameof(RenewInterval)} must be above zero and at most a third of LeaseTime ({LeaseTime}); got {RenewInterval}.";
        }
    }
}

/// <summary>Where this instance stands in the election (<see cref="RuntimeStatus.Leadership"/>).</summary>
/// <param name="Scope">The scope.</param>
/// <param name="Instance">This instance.</param>
/// <param name="IsLeader">True while this instance leads (sharded: at least one host set); its actions there are executed.</param>
/// <param name="Leader">The instance that leads, as last seen (null: none known, or sharded).</param>
/// <param name="Token">This instance's fencing token while it leads; the last seen leader's otherwise (0: none, or sharded).</param>
/// <param name="LeaseExpires">When the lease last seen lapses unless renewed (null when sharded).</param>
/// <param name="Changes">How often this instance gained or lost the lead of a scope.</param>
public sealed record LeadershipStatus(string Scope, string Instance, bool IsLeader, string? Leader, long Token, DateTimeOffset? LeaseExpires, long Changes)
{
    /// <summary>The scopes this instance leads (sharded: its host sets, <c>{Scope}/{set}</c>).</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>Sharded: every host set's scope and the instance seen leading it, <c>(none)</c> when none is (null when not sharded).</summary>
    public IReadOnlyDictionary<string, string>? Leaders { get; init; }
}
