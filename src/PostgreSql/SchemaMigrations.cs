using Npgsql;

namespace VmEcosystem.PostgreSql;

/// <summary>
/// The package's schema as numbered migrations, applied in order, each once, in one transaction under a
/// transaction-level advisory lock: replicas starting together apply each migration exactly once, and a database
/// already at the latest version is left as it is.
/// </summary>
internal static class SchemaMigrations
{
    // Never edit a shipped migration: add the next one.
    private static readonly (int Version, string Description, string Sql)[] All =
    [
        (1, "audit trail and runtime checkpoints", """
            CREATE TABLE {schema}.audit (
                seq BIGSERIAL PRIMARY KEY,
                ts BIGINT NOT NULL,
                offset_minutes INTEGER NOT NULL,
                kind TEXT NOT NULL,
                controller TEXT,
                plan_id TEXT,
                vm TEXT,
                source TEXT,
                target TEXT,
                message TEXT NOT NULL,
                detail TEXT);
            CREATE INDEX audit_ts ON {schema}.audit (ts);
            CREATE INDEX audit_vm ON {schema}.audit (vm, seq);
            CREATE INDEX audit_source ON {schema}.audit (source, seq);
            CREATE INDEX audit_target ON {schema}.audit (target, seq);
            CREATE INDEX audit_plan ON {schema}.audit (plan_id);
            CREATE INDEX audit_kind ON {schema}.audit (kind, seq);
            CREATE TABLE {schema}.checkpoint (
                name TEXT PRIMARY KEY,
                ts BIGINT NOT NULL,
                offset_minutes INTEGER NOT NULL,
                data BYTEA NOT NULL);
            """),
        (2, "leader leases and fencing tokens on audit records", """
            CREATE TABLE {schema}.lease (
                scope TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                token BIGINT NOT NULL,
                expires BIGINT NOT NULL,
                holder_pid INTEGER NOT NULL,
                renewed_at TIMESTAMPTZ NOT NULL DEFAULT now());
            ALTER TABLE {schema}.audit ADD COLUMN fencing_scope TEXT, ADD COLUMN fencing_token BIGINT;
            """),
        (3, "claims on moves between host sets led by different instances", """
            CREATE TABLE {schema}.claim (
                id TEXT PRIMARY KEY,
                vm TEXT NOT NULL,
                source_scope TEXT NOT NULL,
                source_token BIGINT NOT NULL,
                target_scope TEXT NOT NULL,
                target TEXT NOT NULL,
                claimer TEXT NOT NULL,
                expires BIGINT NOT NULL,
                cpu_mhz DOUBLE PRECISION NOT NULL,
                memory_mib DOUBLE PRECISION NOT NULL,
                state TEXT NOT NULL,
                decider TEXT,
                reason TEXT,
                decider_token BIGINT,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                decided_at TIMESTAMPTZ);
            CREATE INDEX claim_pending ON {schema}.claim (target_scope) WHERE state = 'Pending';
            """),
    ];

    /// <summary>The latest schema version this package knows.</summary>
    public static int Latest => All[^1].Version;

    /// <summary>Brings the schema to <see cref="Latest"/>; returns the versions applied now.</summary>
    /// <exception cref="InvalidOperationException">The database is at a newer version than this package knows.</exception>
    public static async Task<IReadOnlyList<int>> ApplyAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock(hashtext('vmeco-schema-' || @schema));
            CREATE SCHEMA IF NOT EXISTS {schema};
            CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("schema", schema);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var applied = new HashSet<int>();
        await using (var command = new NpgsqlCommand($"SELECT version FROM {schema}.schema_migrations", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        if (applied.Count > 0 && applied.Max() > Latest)
        {
            throw new InvalidOperationException(
                $"The PostgreSQL schema '{schema}' is at version {applied.Max()}, newer than this package's {Latest}: upgrade the package on every replica.");
        }

        var now = new List<int>();
        foreach (var (version, description, sql) in All)
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await using (var command = new NpgsqlCommand(sql.Replace("{schema}", schema, StringComparison.Ordinal), connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var command = new NpgsqlCommand($"INSERT INTO {schema}.schema_migrations (version, description) VALUES (@v, @d)", connection, transaction))
            {
                command.Parameters.AddWithValue("v", version);
                command.Parameters.AddWithValue("d", description);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            now.Add(version);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return now;
    }
}
