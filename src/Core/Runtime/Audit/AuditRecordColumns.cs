using System.Data.Common;
using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime.Audit;

/// <summary>
/// The audit table's columns as the SQL stores (SQLite, PostgreSQL) select them, and the one reader of a row:
/// both stores keep the same layout, so a record reads back the same from either.
/// </summary>
internal static class AuditRecordColumns
{
    /// <summary>The select list, in the order <see cref="Read"/> expects.</summary>
    public const string Select = "seq, ts, offset_minutes, kind, plan_id, vm, source, target, message, detail, controller";

    /// <summary>The record in the reader's current row (selected with <see cref="Select"/>).</summary>
    public static AuditRecord Read(DbDataReader reader)
    {
        var offset = TimeSpan.FromMinutes(reader.GetInt32(2));
        return new AuditRecord(
            reader.GetInt64(0),
            new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero).ToOffset(offset),
            Enum.Parse<AuditKind>(reader.GetString(3)),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.IsDBNull(5) ? null : new VmId(reader.GetString(5)),
            reader.IsDBNull(6) ? null : new HostId(reader.GetString(6)),
            reader.IsDBNull(7) ? null : new HostId(reader.GetString(7)),
            reader.GetString(8),
            reader.IsDBNull(9) ? null : reader.GetString(9))
        {
            Controller = reader.IsDBNull(10) ? null : reader.GetString(10),
        };
    }
}
