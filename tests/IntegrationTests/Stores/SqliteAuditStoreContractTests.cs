using VmEcosystem.Conformance;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Sqlite;

namespace VmEcosystem.IntegrationTests.Stores;

/// <summary>The audit store contract on SQLite files (a second instance opens the same file).</summary>
public sealed class SqliteAuditStoreContractTests : AuditStoreContract, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vmeco-sqlite-contract-").FullName;

    protected override bool Durable => true;

    protected override IAuditStore Create(IAuditStore? shareWith = null) =>
        new SqliteAuditStore(shareWith is SqliteAuditStore s ? s.Path : Path.Combine(_dir, $"{Guid.NewGuid():N}.db"), new SqliteAuditOptions { PageSize = 10 });

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
