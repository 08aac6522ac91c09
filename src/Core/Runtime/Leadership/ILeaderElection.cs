namespace VmEcosystem.Runtime.Leadership;

/// <summary>
/// A leadership term over one scope: who holds it, its fencing token (strictly greater for every new term) and when
/// it lapses unless renewed. Immutable.
/// </summary>
/// <param name="Scope">What is led (<c>cluster</c>, or a host set).</param>
/// <param name="Holder">The instance that leads.</param>
/// <param name="Token">The fencing token: every action the holder takes carries it, and a store refuses an older one.</param>
/// <param name="Expires">When the lease lapses unless renewed (the holder's clock).</param>
public sealed record LeaderLease(string Scope, string Holder, long Token, DateTimeOffset Expires);

/// <summary>
/// Leader election with fencing, shared by the instances of one deployment (<c>VmEcosystem.PostgreSql</c> implements
/// it with a session advisory lock, a lease row and a token). One instance at a time leads a scope; only the leader's
/// actions are executed, and a store that keeps the trail refuses an action whose token is older than the scope's.
/// </summary>
public interface ILeaderElection
{
    /// <summary>
    /// Acquires or renews the lease of <paramref name="scope"/> for <paramref name="instance"/> until
    /// <paramref name="now"/> + <paramref name="leaseTime"/>. Returns the lease in force afterwards: the caller's own
    /// when it leads (a new term gets a greater token), another instance's when that one leads, null when none is known.
    /// </summary>
    ValueTask<LeaderLease?> TryAcquireAsync(string scope, string instance, DateTimeOffset now, TimeSpan leaseTime, CancellationToken cancellationToken = default);

    /// <summary>The leases whose scope starts with <paramref name="scopePrefix"/>, expired or not (for sharding: who leads what, who is alive).</summary>
    ValueTask<IReadOnlyList<LeaderLease>> ListAsync(string scopePrefix, CancellationToken cancellationToken = default);

    /// <summary>Gives up <paramref name="lease"/> if it is still the caller's (at stop), so another instance can lead at once.</summary>
    ValueTask ReleaseAsync(LeaderLease lease, CancellationToken cancellationToken = default);
}

/// <summary>
/// Thrown by an audit store asked to record an action whose fencing token is older than its scope's current one: the
/// instance that sent it is no longer the leader, and its action must not be taken.
/// </summary>
public sealed class StaleFencingTokenException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StaleFencingTokenException()
        : base("The action's fencing token is older than its scope's.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public StaleFencingTokenException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public StaleFencingTokenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Where a claim on a move between two scopes stands.</summary>
public enum MoveClaimState
{
    /// <summary>Made by the source's leader; the target's leader has not decided.</summary>
    Pending = 0,

    /// <summary>The target's leader accepted it (and holds room for the VM): the source's leader may start the move.</summary>
    Accepted,

    /// <summary>The target's leader refused it (the reason says why): the move is not started.</summary>
    Refused,
}

/// <summary>
/// A claim on a move from a host set one instance leads into a set another leads: the first phase is the source
/// leader's (made under its term), the second the target leader's decision (under its term). The move starts only
/// once both are recorded. Immutable.
/// </summary>
/// <param name="Id">The claim's id (one per VM, target and source term).</param>
/// <param name="Vm">The VM to move.</param>
/// <param name="SourceScope">The scope of the VM's host.</param>
/// <param name="SourceToken">The fencing token of the source leader's term.</param>
/// <param name="TargetScope">The scope of the target host.</param>
/// <param name="Target">The target host.</param>
/// <param name="Claimer">The instance that claims.</param>
/// <param name="Expires">When the claim lapses (decided or not).</param>
public sealed record MoveClaim(string Id, Cluster.VmId Vm, string SourceScope, long SourceToken, string TargetScope, Cluster.HostId Target, string Claimer, DateTimeOffset Expires)
{
    /// <summary>Where it stands.</summary>
    public MoveClaimState State { get; init; }

    /// <summary>The instance that decided it (null while pending).</summary>
    public string? Decider { get; init; }

    /// <summary>Why it was accepted or refused.</summary>
    public string? Reason { get; init; }

    /// <summary>The VM's requested CPU (MHz) and memory (MiB), for the target's leader to hold room.</summary>
    public Cluster.ResourceVector Amount { get; init; }
}

/// <summary>
/// Claims on moves between scopes led by different instances, kept by the store every instance shares
/// (<c>PostgreSqlLeaderElection</c> implements it beside the election). Each phase is fenced by its leader's token.
/// </summary>
public interface IMoveClaims
{
    /// <summary>Makes the claim (once per id: a repeated call returns the stored one, decided or not).</summary>
    /// <exception cref="StaleFencingTokenException">The source leader's term is no longer the source scope's.</exception>
    ValueTask<MoveClaim> ClaimAsync(MoveClaim claim, CancellationToken cancellationToken = default);

    /// <summary>Undecided, unexpired claims into <paramref name="targetScopes"/>.</summary>
    ValueTask<IReadOnlyList<MoveClaim>> PendingAsync(IReadOnlyCollection<string> targetScopes, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Accepts or refuses a pending claim, under the target leader's term <paramref name="targetToken"/>; false when
    /// that term is no longer the target scope's or the claim was decided already.
    /// </summary>
    ValueTask<bool> DecideAsync(string id, bool accept, string decider, long targetToken, string reason, CancellationToken cancellationToken = default);
}
