using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Sqlite;

/// <summary>
/// A durable audit store in a SQLite file (Microsoft.Data.Sqlite, WAL journal): survives restarts and is
/// queryable by VM, host, plan, kind and time range through indexes. One connection, serialised writes; a locked
/// database fails a write after <see cref="SqliteAuditOptions.BusyTimeout"/> (the runtime retries it in the
/// background); queries read in pages, holding the connection one page at a time; old records are deleted after
/// <see cref="SqliteAuditOptions.Retention"/>. Runtime checkpoints live in a table beside the trail, one row per name.
/// </summary>
public sealed partial class SqliteAuditStore : IAuditStore, IRuntimeCheckpointStore, IDisposable
{
    private const int RetentionEvery = 1024;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SqliteConnection _connection;
    private readonly SqliteAuditOptions _options;
    private readonly int _busySeconds;
    private int _sinceRetention;

    /// <summary>Opens (creating when needed) the store at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    /// <exception cref="SqliteException">The file cannot be opened or is not a SQLite database.</exception>
    public SqliteAuditStore(string path, SqliteAuditOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _options = options ?? new SqliteAuditOptions();
        _options.Validate();
        _busySeconds = (int)Math.Ceiling(_options.BusyTimeout.TotalSeconds);
        string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        Path = path;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = _busySeconds }.ToString());
        _connection.Open();
        using var command = _connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            CREATE TABLE IF NOT EXISTS audit (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                ts INTEGER NOT NULL,
                offset_minutes INTEGER NOT NULL,
                kind TEXT NOT NULL,
                plan_id TEXT,
                vm TEXT,
                source TEXT,
                target TEXT,
                message TEXT NOT NULL,
                detail TEXT);
            CREATE INDEX IF NOT EXISTS audit_ts ON audit(ts);
            CREATE INDEX IF NOT EXISTS audit_vm ON audit(vm, ts);
            CREATE INDEX IF NOT EXISTS audit_source ON audit(source, ts);
            CREATE INDEX IF NOT EXISTS audit_target ON audit(target, ts);
            CREATE INDEX IF NOT EXISTS audit_plan ON audit(plan_id);
            CREATE TABLE IF NOT EXISTS checkpoint (
                name TEXT PRIMARY KEY,
                ts INTEGER NOT NULL,
                offset_minutes INTEGER NOT NULL,
                data BLOB NOT NULL);
            """;
        command.ExecuteNonQuery();

        // Files written before controllers were recorded lack the column; adding it keeps their records readable.
        command.CommandText = "SELECT COUNT(*) FROM pragma_table_info('audit') WHERE name = 'controller';";
        if ((long)command.ExecuteScalar()! == 0)
        {
            command.CommandText = "ALTER TABLE audit ADD COLUMN controller TEXT;";
            command.ExecuteNonQuery();
        }

        ApplyRetention();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public async ValueTask<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO audit (ts, offset_minutes, kind, plan_id, vm, source, target, message, detail, controller)
                VALUES ($ts, $offset, $kind, $plan, $vm, $source, $target, $message, $detail, $controller);
                SELECT last_insert_rowid();
                """;
            command.Parameters.AddWithValue("$ts", record.Timestamp.UtcTicks);
            command.Parameters.AddWithValue("$offset", (int)record.Timestamp.Offset.TotalMinutes);
            command.Parameters.AddWithValue("$kind", record.Kind.ToString());
            command.Parameters.AddWithValue("$plan", (object?)record.PlanId ?? DBNull.Value);
            command.Parameters.AddWithValue("$vm", (object?)record.Vm?.Value ?? DBNull.Value);
            command.Parameters.AddWithValue("$source", (object?)record.Source?.Value ?? DBNull.Value);
            command.Parameters.AddWithValue("$target", (object?)record.Target?.Value ?? DBNull.Value);
            command.Parameters.AddWithValue("$message", record.Message);
            command.Parameters.AddWithValue("$detail", (object?)record.Detail ?? DBNull.Value);
            command.Parameters.AddWithValue("$controller", (object?)record.Controller ?? DBNull.Value);
            long sequence = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            if (_options.Retention is not null && ++_sinceRetention >= RetentionEvery)
            {
                _sinceRetention = 0;
                ApplyRetention();
            }

            return record with { Sequence = sequence };
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditRecord> QueryAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        long after = query.AfterSequence ?? 0;
        int remaining = query.Limit is { } limit ? Math.Max(0, limit) : int.MaxValue;
        while (remaining > 0)
        {
            // One page at a time under the gate: a long query never holds writers back for more than a page.
            var page = new List<AuditRecord>(Math.Min(remaining, _options.PageSize));
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await ReadPageAsync(query, after, Math.Min(remaining, _options.PageSize), page, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }

            foreach (var r in page)
            {
                yield return r;
            }

            if (page.Count < Math.Min(remaining, _options.PageSize))
            {
                yield break;
            }

            remaining -= page.Count;
            after = page[^1].Sequence;
        }
    }

    private async Task ReadPageAsync(AuditQuery query, long after, int size, List<AuditRecord> page, CancellationToken cancellationToken)
    {
        using var command = _connection.CreateCommand();
        var where = new List<string> { "seq > $after" };
        command.Parameters.AddWithValue("$after", after);
        if (query.Vm is { } vm)
        {
            where.Add("vm = $vm");
            command.Parameters.AddWithValue("$vm", vm.Value);
        }

        if (query.Host is { } host)
        {
            where.Add("(source = $host OR target = $host)");
            command.Parameters.AddWithValue("$host", host.Value);
        }

        if (query.PlanId is { } plan)
        {
            where.Add("plan_id = $plan");
            command.Parameters.AddWithValue("$plan", plan);
        }

        if (query.Controller is { } controller)
        {
            where.Add("controller = $controller");
            command.Parameters.AddWithValue("$controller", controller);
        }

        if (query.From is { } from)
        {
            where.Add("ts >= $from");
            command.Parameters.AddWithValue("$from", from.UtcTicks);
        }

        if (query.To is { } to)
        {
            where.Add("ts < $to");
            command.Parameters.AddWithValue("$to", to.UtcTicks);
        }

        if (query.Kinds is { Count: > 0 } kinds)
        {
            var names = kinds.Select((k, i) => $"$k{i}").ToList();
            where.Add($"kind IN ({string.Join(", ", names)})");
            int i = 0;
            foreach (var k in kinds)
            {
                command.Parameters.AddWithValue($"$k{i++}", k.ToString());
            }
        }

        command.CommandText = $"SELECT {AuditRecordColumns.Select} FROM audit WHERE "
            + string.Join(" AND ", where) + $" ORDER BY seq LIMIT {size}";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            page.Add(AuditRecordColumns.Read(reader));
        }
    }

    // Deletes records older than the retention, measured back from the newest record's time (the runtime's clock,
    // which may be virtual), so retention needs no clock of its own.
    private void ApplyRetention()
    {
        if (_options.Retention is not { } retention)
        {
            return;
        }

        using var command = _connection.CreateCommand();
        command.CommandText = "DELETE FROM audit WHERE ts < (SELECT MAX(ts) FROM audit) - $keep;";
        command.Parameters.AddWithValue("$keep", retention.Ticks);
        command.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _connection.Dispose();
        _gate.Dispose();
    }
}
