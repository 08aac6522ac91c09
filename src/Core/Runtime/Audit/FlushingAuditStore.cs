using System.Runtime.CompilerServices;

namespace VmEcosystem.Runtime.Audit;

/// <summary>
/// The runtime's audit store as applications see it: a query first waits (up to a bound) for the records the runtime
/// appended before it to be written, so a reader sees what happened up to its call; appends go straight to the store.
/// </summary>
internal sealed class FlushingAuditStore(RuntimeAudit audit, TimeSpan flushBound) : IAuditStore
{
    public ValueTask<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default) =>
        audit.Store.AppendAsync(record, cancellationToken);

    public async IAsyncEnumerable<AuditRecord> QueryAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            await audit.FlushAsync(cancellationToken).WaitAsync(flushBound, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The store is behind or failing: answer with what it holds rather than not at all.
        }

        await foreach (var r in audit.Store.QueryAsync(query, cancellationToken).ConfigureAwait(false))
        {
            yield return r;
        }
    }
}
