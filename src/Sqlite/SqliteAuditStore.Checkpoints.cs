using Microsoft.Data.Sqlite;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Sqlite;

/// <summary>Runtime checkpoints: one row per name in the <c>checkpoint</c> table, replaced on every save.</summary>
public sealed partial class SqliteAuditStore
{
    /// <inheritdoc />
    public async ValueTask SaveCheckpointAsync(RuntimeCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                INSERT INTO checkpoint (name, ts, offset_minutes, data) VALUES ($name, $ts, $offset, $data)
                ON CONFLICT(name) DO UPDATE SET ts = excluded.ts, offset_minutes = excluded.offset_minutes, data = excluded.data;
                """;
            command.Parameters.AddWithValue("$name", checkpoint.Name);
            command.Parameters.AddWithValue("$ts", checkpoint.Timestamp.UtcTicks);
            command.Parameters.AddWithValue("$offset", (int)checkpoint.Timestamp.Offset.TotalMinutes);
            command.Parameters.Add("$data", SqliteType.Blob).Value = checkpoint.Data.ToArray();
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<RuntimeCheckpoint?> LoadCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT ts, offset_minutes, data FROM checkpoint WHERE name = $name;";
            command.Parameters.AddWithValue("$name", name);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var offset = TimeSpan.FromMinutes(reader.GetInt32(1));
            var timestamp = new DateTimeOffset(reader.GetInt64(0), TimeSpan.Zero).ToOffset(offset);
            return new RuntimeCheckpoint(name, timestamp, (byte[])reader.GetValue(2));
        }
        finally
        {
            _gate.Release();
        }
    }
}
