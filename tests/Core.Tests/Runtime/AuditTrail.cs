using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Tests.Runtime;

/// <summary>Reads an audit trail into a list (tests only).</summary>
internal static class AuditTrail
{
    public static async Task<List<AuditRecord>> ListAsync(this IAuditStore store, AuditQuery? query = null)
    {
        var list = new List<AuditRecord>();
        await foreach (var r in store.QueryAsync(query ?? new AuditQuery(), TestContext.Current.CancellationToken))
        {
            list.Add(r);
        }

        return list;
    }
}
