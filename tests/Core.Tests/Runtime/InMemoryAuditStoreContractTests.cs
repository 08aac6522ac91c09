using VmEcosystem.Conformance;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Tests.Runtime;

/// <summary>The audit store contract on the in-memory store (not durable: a second instance is a different trail).</summary>
public sealed class InMemoryAuditStoreContractTests : AuditStoreContract
{
    protected override bool Durable => false;

    protected override IAuditStore Create(IAuditStore? shareWith = null) => new InMemoryAuditStore();
}
