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
