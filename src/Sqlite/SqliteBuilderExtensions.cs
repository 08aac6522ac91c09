using VmEcosystem.Sqlite;

namespace VmEcosystem.Hosting;

/// <summary>Registers the SQLite stores.</summary>
public static class SqliteBuilderExtensions
{
    /// <summary>Writes the audit trail to a SQLite file (created when missing, kept across restarts).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="path">The database file.</param>
    /// <param name="configure">Busy timeout, retention and query page size (validated when the store opens, naming the setting).</param>
    public static VmEcosystemBuilder UseSqliteAudit(this VmEcosystemBuilder builder, string path, Action<SqliteAuditOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var options = new SqliteAuditOptions();
        configure?.Invoke(options);
        return builder.UseAuditStore(_ => new SqliteAuditStore(path, options));
    }
}
