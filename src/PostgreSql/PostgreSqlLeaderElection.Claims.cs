using Npgsql;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Leadership;

namespace VmEcosystem.PostgreSql;

/// <summary>
/// Claims on moves between host sets (table <c>claim</c>): made under the source leader's term and decided under the
/// target leader's, each checked against the scope's lease row in the same statement.
/// </summary>
public sealed partial class PostgreSqlLeaderElection
{
    private const string ClaimColumns = "id, vm, source_scope, source_token, target_scope, target, claimer, expires, cpu_mhz, memory_mib, state, decider, reason";

    /// <inheritdoc />
    public async ValueTask<MoveClaim> ClaimAsync(MoveClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await using var connection = await OpenReadsAsync(cancellationToken).ConfigureAwait(false);
        await using (var insert = new NpgsqlCommand($"""
            WITH current AS (SELECT token FROM {_lease} WHERE scope = @source_scope FOR SHARE)
            INSERT INTO {Claims} (id, vm, source_scope, source_token, target_scope, target, claimer, expires, cpu_mhz, memory_mib, state)
            SELECT @id, @vm, @source_scope, @source_token, @target_scope, @target, @claimer, @expires, @cpu, @memory, 'Pending'
            WHERE COALESCE((SELECT token FROM current), 0) <= @source_token
            ON CONFLICT (id) DO NOTHING
            RETURNING id
            """, connection))
        {
            insert.Parameters.AddWithValue("id", claim.Id);
            insert.Parameters.AddWithValue("vm", claim.Vm.Value);
            insert.Parameters.AddWithValue("source_scope", claim.SourceScope);
            insert.Parameters.AddWithValue("source_token", claim.SourceToken);
            insert.Parameters.AddWithValue("target_scope", claim.TargetScope);
            insert.Parameters.AddWithValue("target", claim.Target.Value);
            insert.Parameters.AddWithValue("claimer", claim.Claimer);
            insert.Parameters.AddWithValue("expires", claim.Expires.UtcTicks);
            insert.Parameters.AddWithValue("cpu", claim.Amount.CpuMhz);
            insert.Parameters.AddWithValue("memory", claim.Amount.MemoryMiB);
            await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        var stored = await ReadClaimsAsync(connection, "id = @id", c => c.Parameters.AddWithValue("id", claim.Id), cancellationToken).ConfigureAwait(false);
        return stored.Count == 1 ? stored[0] : throw new StaleFencingTokenException(
            $"'{claim.SourceScope}' is led under a newer term than {claim.SourceToken}; the claim on moving {claim.Vm} was not made.");
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<MoveClaim>> PendingAsync(IReadOnlyCollection<string> targetScopes, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(targetScopes);
        await using var connection = await OpenReadsAsync(cancellationToken).ConfigureAwait(false);
        return await ReadClaimsAsync(connection, "state = 'Pending' AND target_scope = ANY(@scopes) AND expires > @now ORDER BY created_at, id", c =>
        {
            c.Parameters.AddWithValue("scopes", targetScopes.ToArray());
            c.Parameters.AddWithValue("now", now.UtcTicks);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> DecideAsync(string id, bool accept, string decider, long targetToken, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        await using var connection = await OpenReadsAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"""
            UPDATE {Claims} AS c SET state = @state, decider = @decider, reason = @reason, decider_token = @token, decided_at = now()
            WHERE c.id = @id AND c.state = 'Pending'
              AND (SELECT token FROM {_lease} WHERE scope = c.target_scope FOR SHARE) = @token
            """, connection);
        command.Parameters.AddWithValue("state", accept ? nameof(MoveClaimState.Accepted) : nameof(MoveClaimState.Refused));
        command.Parameters.AddWithValue("decider", decider);
        command.Parameters.AddWithValue("reason", reason);
        command.Parameters.AddWithValue("token", targetToken);
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private string Claims => $"{_options.Schema}.claim";

    private async Task<NpgsqlConnection> OpenReadsAsync(CancellationToken cancellationToken)
    {
        await EnsureMigratedAsync(cancellationToken).ConfigureAwait(false);
        return await _reads.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<MoveClaim>> ReadClaimsAsync(NpgsqlConnection connection, string where, Action<NpgsqlCommand> bind, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {ClaimColumns} FROM {Claims} WHERE {where}", connection);
        bind(command);
        var claims = new List<MoveClaim>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            claims.Add(new MoveClaim(reader.GetString(0), new VmId(reader.GetString(1)), reader.GetString(2), reader.GetInt64(3), reader.GetString(4),
                new HostId(reader.GetString(5)), reader.GetString(6), new DateTimeOffset(reader.GetInt64(7), TimeSpan.Zero))
            {
                Amount = new ResourceVector(0, reader.GetDouble(8), reader.GetDouble(9)),
                State = Enum.Parse<MoveClaimState>(reader.GetString(10)),
                Decider = reader.IsDBNull(11) ? null : reader.GetString(11),
                Reason = reader.IsDBNull(12) ? null : reader.GetString(12),
            });
        }

        return claims;
    }
}
