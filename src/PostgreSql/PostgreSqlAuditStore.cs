using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Runtime.Leadership;

namespace VmEcosystem.PostgreSql;

/// <summary>
/// The audit trail and runtime checkpoints in PostgreSQL, shared by every replica on the same database: records get
/// their sequence from the database (unique and increasing across writers), queries read in pages through the
/// indexes, and the schema is created and migrated on first use (<see cref="SchemaVersion"/>). Connections come from
/// a pooled <see cref="NpgsqlDataSource"/>, so concurrent writers do not wait on each other here.
/// </summary>
public sealed partial class PostgreSqlAuditStore : IAuditStore, IRuntimeCheckpointStore, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlStoreOptions _options;
    private readonly string _audit;
    private readonly string _checkpoint;
    private readonly string _lease;
    private readonly SemaphoreSlim _migrate = new(1, 1);
    private volatile bool _ready;

    /// <summary>Opens the store (nothing is sent to the database until the first call, which migrates the schema).</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range (the message names it).</exception>
    public PostgreSqlAuditStore(PostgreSqlStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _dataSource = NpgsqlDataSource.Create(options.ConnectionString!);
        _audit = $"{options.Schema}.audit";
        _checkpoint = $"{options.Schema}.checkpoint";
        _lease = $"{options.Schema}.lease";
    }

    /// <summary>The schema version the store needs (the package migrates older databases to it).</summary>
    public static int SchemaVersion => SchemaMigrations.Latest;

    /// <summary>Creates or migrates the schema now (otherwise the first call does).</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        if (_ready)
        {
            return;
        }

        await _migrate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_ready)
            {
                await SchemaMigrations.ApplyAsync(_dataSource, _options.Schema, cancellationToken).ConfigureAwait(false);
                _ready = true;
            }
        }
        finally
        {
            _migrate.Release();
        }
    }

    /// <inheritdoc />
    /// <exception cref="StaleFencingTokenException">
    /// The record carries a fencing token older than its scope's lease (a newer leader holds it): it is not written.
    /// </exception>
    public async ValueTask<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        await MigrateAsync(cancellationToken).ConfigureAwait(false);

        // A fenced record is written only if its token is still the scope's: the lease row is read FOR SHARE in the
        // same statement, so a takeover (which updates it) either waits for this insert or is seen by it.
        await using var command = _dataSource.CreateCommand(record.FencingToken is null ? $"""
            INSERT INTO {_audit} (ts, offset_minutes, kind, controller, plan_id, vm, source, target, message, detail)
            VALUES (@ts, @offset, @kind, @controller, @plan, @vm, @source, @target, @message, @detail) RETURNING seq
            """ : $"""
            WITH current AS (SELECT token FROM {_lease} WHERE scope = @fscope FOR SHARE)
            INSERT INTO {_audit} (ts, offset_minutes, kind, controller, plan_id, vm, source, target, message, detail, fencing_scope, fencing_token)
            SELECT @ts, @offset, @kind, @controller, @plan, @vm, @source, @target, @message, @detail, @fscope, @ftoken
            WHERE COALESCE((SELECT token FROM current), 0) <= @ftoken RETURNING seq
            """);
        if (record.FencingToken is { } fence)
        {
            command.Parameters.Add(Text("fscope", record.FencingScope ?? string.Empty));
            command.Parameters.AddWithValue("ftoken", fence);
        }

        command.Parameters.AddWithValue("ts", record.Timestamp.UtcTicks);
        command.Parameters.AddWithValue("offset", (int)record.Timestamp.Offset.TotalMinutes);
        command.Parameters.AddWithValue("kind", record.Kind.ToString());
        command.Parameters.Add(Text("controller", record.Controller));
        command.Parameters.Add(Text("plan", record.PlanId));
        command.Parameters.Add(Text("vm", record.Vm?.Value));
        command.Parameters.Add(Text("source", record.Source?.Value));
        command.Parameters.Add(Text("target", record.Target?.Value));
        command.Parameters.AddWithValue("message", record.Message);
        command.Parameters.Add(Text("detail", record.Detail));
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long sequence)
        {
            throw new StaleFencingTokenException(
                $"'{record.FencingScope}' is led under a newer term than {record.FencingToken}; the record ({record.Kind}: {record.Message}) was not written.");
        }

        return record with { Sequence = sequence };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditRecord> QueryAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await MigrateAsync(cancellationToken).ConfigureAwait(false);
        long after = query.AfterSequence ?? 0;
        int remaining = query.Limit is { } limit ? Math.Max(0, limit) : int.MaxValue;
        while (remaining > 0)
        {
            int size = Math.Min(remaining, _options.PageSize);
            var page = await ReadPageAsync(query, after, size, cancellationToken).ConfigureAwait(false);
            foreach (var r in page)
            {
                yield return r;
            }

            if (page.Count < size)
            {
                yield break;
            }

            remaining -= page.Count;
            after = page[^1].Sequence;
        }
    }

    private async Task<List<AuditRecord>> ReadPageAsync(AuditQuery query, long after, int size, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand();
        var where = new List<string> { "seq > @after" };
        command.Parameters.AddWithValue("after", after);
        void Filter(string clause, string name, object value)
        {
            where.Add(clause);
            command.Parameters.AddWithValue(name, value);
        }

        if (query.Vm is { } vm)
        {
            Filter("vm = @vm", "vm", vm.Value);
        }

        if (query.Host is { } host)
        {
            Filter("(source = @host OR target = @host)", "host", host.Value);
        }

        if (query.PlanId is { } plan)
        {
            Filter("plan_id = @plan", "plan", plan);
        }

        if (query.Controller is { } controller)
        {
            Filter("controller = @controller", "controller", controller);
        }

        if (query.From is { } from)
        {
            Filter("ts >= @from", "from", from.UtcTicks);
        }

        if (query.To is { } to)
        {
            Filter("ts < @to", "to", to.UtcTicks);
        }

        if (query.Kinds is { Count: > 0 } kinds)
        {
            Filter("kind = ANY(@kinds)", "kinds", kinds.Select(k => k.ToString()).ToArray());
        }

        command.CommandText = $"SELECT {AuditRecordColumns.Select}, fencing_scope, fencing_token FROM {_audit} WHERE "
            + string.Join(" AND ", where) + " ORDER BY seq LIMIT @size";
        command.Parameters.AddWithValue("size", size);
        var page = new List<AuditRecord>(Math.Min(size, 1024));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            page.Add(AuditRecordColumns.Read(reader) with
            {
                FencingScope = reader.IsDBNull(11) ? null : reader.GetString(11),
                FencingToken = reader.IsDBNull(12) ? null : reader.GetInt64(12),
            });
        }

        return page;
    }

    /// <inheritdoc />
    public async ValueTask SaveCheckpointAsync(RuntimeCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        await MigrateAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_checkpoint} (name, ts, offset_minutes, data) VALUES (@name, @ts, @offset, @data)
            ON CONFLICT (name) DO UPDATE SET ts = excluded.ts, offset_minutes = excluded.offset_minutes, data = excluded.data
            """);
        command.Parameters.AddWithValue("name", checkpoint.Name);
        command.Parameters.AddWithValue("ts", checkpoint.Timestamp.UtcTicks);
        command.Parameters.AddWithValue("offset", (int)checkpoint.Timestamp.Offset.TotalMinutes);
        command.Parameters.AddWithValue("data", NpgsqlDbType.Bytea, checkpoint.Data.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<RuntimeCheckpoint?> LoadCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        await MigrateAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand($"SELECT ts, offset_minutes, data FROM {_checkpoint} WHERE name = @name");
        command.Parameters.AddWithValue("name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var timestamp = new DateTimeOffset(reader.GetInt64(0), TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(reader.GetInt32(1)));
        return new RuntimeCheckpoint(name, timestamp, reader.GetFieldValue<byte[]>(2));
    }

    private static NpgsqlParameter Text(string name, string? value) => new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _migrate.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _dataSource.Dispose();
        _migrate.Dispose();
    }
}
