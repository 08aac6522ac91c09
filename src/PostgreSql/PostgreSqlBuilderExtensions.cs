using Microsoft.Extensions.Configuration;
using VmEcosystem.PostgreSql;

namespace VmEcosystem.Hosting;

/// <summary>Registers the PostgreSQL stores.</summary>
public static class PostgreSqlBuilderExtensions
{
    /// <summary>
    /// Keeps the audit trail and runtime checkpoints in PostgreSQL (schema created and migrated on first use), so
    /// replicas on the same database share them and a restart or a takeover restores from them.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">The Npgsql connection string; null reads <c>VmEcosystem:PostgreSql:ConnectionString</c>.</param>
    /// <param name="configure">Schema and page size (validated when the store is created, naming the setting).</param>
    public static VmEcosystemBuilder UsePostgreSql(this VmEcosystemBuilder builder, string? connectionString = null, Action<PostgreSqlStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new PostgreSqlStoreOptions();
        builder.Section("PostgreSql")?.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        if (connectionString is not null)
        {
            options.ConnectionString = connectionString;
        }

        configure?.Invoke(options);
        options.Validate();
        return builder.UseAuditStore(_ => new PostgreSqlAuditStore(options));
    }
}
