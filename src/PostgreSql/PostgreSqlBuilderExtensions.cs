using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using VmEcosystem.Runtime.Leadership;
using VmEcosystem.PostgreSql;

namespace VmEcosystem.Hosting;

/// <summary>Registers the PostgreSQL stores.</summary>
public static class PostgreSqlBuilderExtensions
{
    /// <summary>
    /// Keeps the audit trail and runtime checkpoints in PostgreSQL (schema created and migrated on first use), so
    /// replicas on the same database share them and a restart or a takeover restores from them. With
    /// <see cref="PostgreSqlStoreOptions.LeaderElection"/>, the replicas also elect one leader per scope
    /// (<see cref="PostgreSqlLeaderElection"/>), and records carrying an old fencing token are refused.
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
        builder.UseAuditStore(_ => new PostgreSqlAuditStore(options));
        if (options.LeaderElection)
        {
            builder.Services.RemoveAll<ILeaderElection>();
            builder.Services.AddSingleton<ILeaderElection>(_ => new PostgreSqlLeaderElection(options));
        }

        return builder;
    }
}
