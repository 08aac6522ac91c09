using VmEcosystem.Conformance;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.PostgreSql.Tests;

/// <summary>The audit store contract on PostgreSQL: each store in its own schema; a second instance on the same schema is a replica.</summary>
public sealed class PostgreSqlAuditStoreContractTests(PostgresServer server) : AuditStoreContract
{
    private readonly string _schema = PostgresServer.NewSchema();

    protected override bool Durable => true;

    protected override IAuditStore Create(IAuditStore? shareWith = null)
    {
        server.Require();
        return new PostgreSqlAuditStore(new PostgreSqlStoreOptions { ConnectionString = server.ConnectionString, Schema = _schema, PageSize = 10 });
    }
}
