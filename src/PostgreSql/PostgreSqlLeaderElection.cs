using Npgsql;
using VmEcosystem.Runtime.Leadership;

namespace VmEcosystem.PostgreSql;

/// <summary>
/// Leader election on PostgreSQL: per scope, a session-level advisory lock held on a connection of its own, and a lease
/// row (holder, fencing token, expiry, the holder's backend) renewed by the holder's heartbeat.
/// <list type="bullet">
/// <item>Whoever takes the lock starts a new term: the row's token goes up by one, so every term's token is greater
/// than every earlier one.</item>
/// <item>A leader whose connection dies loses its lock at once, and the next follower to try takes over.</item>
/// <item>A leader that stops renewing but keeps its session (a frozen process, a stalled heartbeat) keeps the lock. Once
/// its lease has lapsed, a follower ends that session (<c>pg_terminate_backend</c>; the database role needs the right
/// to signal it) and takes the lock.</item>
/// <item>Whatever the stale leader still tries to record is refused by <see cref="PostgreSqlAuditStore"/>, which checks
/// the token against the row.</item>
/// </list>
/// Lease times are on the instances' clocks (keep them in sync, as for any lease).
/// </summary>
public sealed partial class PostgreSqlLeaderElection : ILeaderElection, IMoveClaims, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _reads; // pooled, for listing leases
    private readonly PostgreSqlStoreOptions _options;
    private readonly string _lease;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private bool _migrated;

    /// <summary>Creates the election (nothing is sent until the first call, which also migrates the schema).</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range (the message names it).</exception>
    public PostgreSqlLeaderElection(PostgreSqlStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        // Unpooled: a lock lives as long as its session, so closing a connection must end the session (a pooled one
        // would go back to the pool still holding the lock until its next use).
        _dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(options.ConnectionString) { ApplicationName = "vmeco-leadership", Pooling = false }.ConnectionString);
        _lease = $"{options.Schema}.lease";
        _reads = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(options.ConnectionString) { ApplicationName = "vmeco-leadership-reads" }.ConnectionString);
    }

    /// <inheritdoc />
    public async ValueTask<LeaderLease?> TryAcquireAsync(string scope, string instance, DateTimeOffset now, TimeSpan leaseTime, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scope);
        ArgumentException.ThrowIfNullOrWhiteSpace(instance);
        await EnsureMigratedAsync(cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_sessions.TryGetValue(scope, out var session))
            {
                session = _sessions[scope] = new Session();
            }

            try
            {
                return await AcquireAsync(session, scope, instance, now, leaseTime, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
            {
                await session.ResetAsync().ConfigureAwait(false); // a broken session holds no lock any more
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<LeaderLease>> ListAsync(string scopePrefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scopePrefix);
        await using var connection = await OpenReadsAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT scope, holder, token, expires FROM {_lease} WHERE left(scope, length(@prefix)) = @prefix ORDER BY scope", connection);
        command.Parameters.AddWithValue("prefix", scopePrefix);
        var leases = new List<LeaderLease>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            leases.Add(new LeaderLease(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero)));
        }

        return leases;
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(LeaderLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_sessions.Remove(lease.Scope, out var session) || session.Connection is not { } connection)
            {
                return;
            }

            try
            {
                // The row says the term ended (a follower need not wait for the expiry); closing the session frees the lock.
                await using var command = new NpgsqlCommand($"UPDATE {_lease} SET expires = 0, renewed_at = now() WHERE scope = @scope AND holder = @holder AND token = @token", connection);
                command.Parameters.AddWithValue("scope", lease.Scope);
                command.Parameters.AddWithValue("holder", lease.Holder);
                command.Parameters.AddWithValue("token", lease.Token);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await session.ResetAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task EnsureMigratedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _migrated))
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_migrated)
            {
                await SchemaMigrations.ApplyAsync(_dataSource, _options.Schema, cancellationToken).ConfigureAwait(false);
                _migrated = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The backend process id of the connection holding <paramref name="scope"/>'s lock for this instance (null: none).</summary>
    internal int? BackendOf(string scope) => _sessions.TryGetValue(scope, out var s) && s.Locked ? s.Connection?.ProcessID : null;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var session in _sessions.Values)
        {
            await session.ResetAsync().ConfigureAwait(false);
        }

        _sessions.Clear();
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await _reads.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    private async Task<LeaderLease?> AcquireAsync(Session session, string scope, string instance, DateTimeOffset now, TimeSpan leaseTime, CancellationToken cancellationToken)
    {
        if (session.Connection is not { State: System.Data.ConnectionState.Open } connection)
        {
            await session.ResetAsync().ConfigureAwait(false);
            connection = session.Connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }

        var expires = now + leaseTime;
        if (session.Locked)
        {
            // Renewal: only the term this session started (the lock makes any other writer impossible).
            await using var renew = new NpgsqlCommand($"UPDATE {_lease} SET expires = @expires, renewed_at = now() WHERE scope = @scope AND holder = @holder AND token = @token", connection);
            renew.Parameters.AddWithValue("expires", expires.UtcTicks);
            renew.Parameters.AddWithValue("scope", scope);
            renew.Parameters.AddWithValue("holder", instance);
            renew.Parameters.AddWithValue("token", session.Token);
            if (await renew.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
            {
                return new LeaderLease(scope, instance, session.Token, expires);
            }

            await session.ResetAsync().ConfigureAwait(false); // the row was changed under the lock: give everything up
            return null;
        }

        if (!await TryLockAsync(connection, scope, cancellationToken).ConfigureAwait(false))
        {
            var current = await ReadAsync(connection, scope, cancellationToken).ConfigureAwait(false);
            if (current is not { } held)
            {
                return null;
            }

            if (held.Lease.Expires > now)
            {
                // Another session holds the lock. A row naming this instance is an earlier incarnation's (a restart with
                // the same name): this one does not lead under it, so none is reported until the lock is taken.
                return held.Lease.Holder == instance ? null : held.Lease;
            }

            // The holder (possibly an earlier incarnation of this instance) lets its lease lapse but keeps its session
            // (and the lock): end that session, then try again.
            await using (var end = new NpgsqlCommand("SELECT pg_terminate_backend(@pid, 5000)", connection))
            {
                end.Parameters.AddWithValue("pid", held.Pid);
                await end.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }

            if (!await TryLockAsync(connection, scope, cancellationToken).ConfigureAwait(false))
            {
                return held.Lease.Holder == instance ? null : held.Lease;
            }
        }

        // A new term under the lock: the token goes up by one from whatever any earlier term had.
        await using var take = new NpgsqlCommand($"""
            INSERT INTO {_lease} AS l (scope, holder, token, expires, holder_pid) VALUES (@scope, @holder, 1, @expires, pg_backend_pid())
            ON CONFLICT (scope) DO UPDATE SET holder = excluded.holder, token = l.token + 1, expires = excluded.expires,
                holder_pid = excluded.holder_pid, renewed_at = now()
            RETURNING token
            """, connection);
        take.Parameters.AddWithValue("scope", scope);
        take.Parameters.AddWithValue("holder", instance);
        take.Parameters.AddWithValue("expires", expires.UtcTicks);
        session.Token = (long)(await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        session.Locked = true;
        return new LeaderLease(scope, instance, session.Token, expires);
    }

    private async Task<bool> TryLockAsync(NpgsqlConnection connection, string scope, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended(@key, 0))", connection);
        command.Parameters.AddWithValue("key", $"vmeco-lead/{_options.Schema}/{scope}");
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private async Task<(LeaderLease Lease, int Pid)?> ReadAsync(NpgsqlConnection connection, string scope, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT holder, token, expires, holder_pid FROM {_lease} WHERE scope = @scope", connection);
        command.Parameters.AddWithValue("scope", scope);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return (new LeaderLease(scope, reader.GetString(0), reader.GetInt64(1), new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero)), reader.GetInt32(3));
    }

    // One scope's lock connection (the lock lives and dies with it).
    private sealed class Session
    {
        public NpgsqlConnection? Connection { get; set; }

        public bool Locked { get; set; }

        public long Token { get; set; }

        public async Task ResetAsync()
        {
            bool locked = Locked;
            Locked = false;
            if (Connection is { } c)
            {
                Connection = null;
                try
                {
                    if (locked && c.State == System.Data.ConnectionState.Open)
                    {
                        // Freed now, not when the server notices the closed session a moment later.
                        await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", c);
                        await unlock.ExecuteNonQueryAsync().ConfigureAwait(false);
                    }

                    await c.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is NpgsqlException or IOException)
                {
                    // Already broken: closing it is all that was wanted.
                }
            }
        }
    }
}
