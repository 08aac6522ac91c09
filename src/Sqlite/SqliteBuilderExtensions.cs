using VmEcosystem.Sqlite;

namespace VmEcosystem.Hosting;

/// <summary>Registers the SQLite stores.</summary>
public static class SqliteBuilderExtensions
{
    /// <summary>Writes the audit trail to a SQLite file (created when missing, kept across restarts).</summary>
    public static VmEcosystemBuilder UseSqliteAudit(this VmEcosystemBuilder builder, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return builder.UseAuditStore(_ => new SqliteAuditStore(path));
    }
}
