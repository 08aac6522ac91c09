using System.Text.Json;
using VmEcosystem.Borrowing;
using VmEcosystem.Cluster;
using VmEcosystem.Policies;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// The resizing controller's open loans: the lease ledger over stable VM indices, what each loan left its lender
/// and borrower with (to reconcile against the provider's real allocations), and their records in the audit trail.
/// Every loan opened and returned is an audit record whose detail carries the loan, so a restarted runtime, or the
/// next leader, reads the open loans back (<see cref="RestoreAsync"/>) and reconciles them on its first pass.
/// </summary>
internal sealed class LoanBook(BorrowingOptions options) : IHostSetLoans
{
    private static readonly PolicyResource[] Resources = [PolicyResource.Cpu, PolicyResource.Memory, PolicyResource.DiskIops, PolicyResource.NetworkMbps];
    private readonly Dictionary<VmId, int> _index = [];
    private readonly List<VmId> _vms = [];
    private readonly Dictionary<long, Record> _records = [];
    private readonly Lock _gate = new();
    private LeaseLedger _ledger = new(0, ResizingController.ResourceCount);
    private IReadOnlyList<LoanInfo> _open = [];

    /// <summary>
    /// A loan as the trail keeps it: the lease, its set, the sizes it left (lender and borrower, in the resource's unit)
    /// and what the lender had lent in all right after it (so <c>LenderAfter + LenderLent</c> is what the lender held
    /// before it lent anything: lenders are not resized while they lend).
    /// </summary>
    internal sealed record Record(long Id, string HostSet, string Lender, string Borrower, int Resource, double Amount, double Start, double Due,
        double LenderAfter, double BorrowerAfter, double LenderLent);

    private sealed record Returned(long Id, string Why);

    public BorrowingOptions Options { get; } = options;

    public LeaseLedger Ledger => _ledger;

    public IReadOnlyList<LoanInfo> Open => Volatile.Read(ref _open);

    /// <summary>The ledger's index of <paramref name="vm"/> (given on first sight, stable for the process).</summary>
    public int IndexOf(VmId vm)
    {
        if (!_index.TryGetValue(vm, out int i))
        {
            _index[vm] = i = _vms.Count;
            _vms.Add(vm);
            _ledger.Grow(_vms.Count);
        }

        return i;
    }

    public VmId VmAt(int index) => _vms[index];

    public Record? Find(long id) => _records.GetValueOrDefault(id);

    /// <summary>Records a loan opened (the audit detail is the record).</summary>
    public Task OpenedAsync(ControllerContext context, Lease lease, string hostSet, double lenderAfter, double borrowerAfter, string message)
    {
        var record = new Record(lease.Id, hostSet, VmAt(lease.Lender).Value, VmAt(lease.Borrower).Value, lease.Resource, lease.Amount, lease.Start, lease.Due,
            lenderAfter, borrowerAfter, _ledger.Lent(lease.Lender, lease.Resource));
        _records[lease.Id] = record;
        Publish();
        return context.AuditAsync(AuditKind.LoanOpened, message, JsonSerializer.Serialize(record));
    }

    /// <summary>Records a loan returned (already closed in the ledger).</summary>
    public Task ReturnedAsync(ControllerContext context, long id, LeaseEnd why, string message)
    {
        _records.Remove(id);
        Publish();
        return context.AuditAsync(AuditKind.LoanReturned, message, JsonSerializer.Serialize(new Returned(id, why.ToString())));
    }

    /// <summary>Reads the loans still open from the trail into a fresh ledger (on the first pass and after a leadership change).</summary>
    public async Task<int> RestoreAsync(IAuditStore store, CancellationToken cancellationToken)
    {
        var open = new Dictionary<long, Record>();
        var query = new AuditQuery { Kinds = [AuditKind.LoanOpened, AuditKind.LoanReturned], Controller = ResizingController.ControllerName };
        await foreach (var r in store.QueryAsync(query, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                if (r.Kind == AuditKind.LoanOpened && r.Detail is { } d && JsonSerializer.Deserialize<Record>(d) is { Lender: not null, Borrower: not null, HostSet: not null } rec)
                {
                    open[rec.Id] = rec;
                }
                else if (r.Kind == AuditKind.LoanReturned && r.Detail is { } e && JsonSerializer.Deserialize<Returned>(e) is { } ret)
                {
                    open.Remove(ret.Id);
                }
            }
            catch (JsonException)
            {
                // a record this version cannot read: skipped (the reconciliation treats its VMs as free)
            }
        }

        _ledger = new LeaseLedger(_vms.Count, ResizingController.ResourceCount);
        _records.Clear();
        foreach (var rec in open.Values.OrderBy(r => r.Id))
        {
            if (rec.Resource is >= 0 and < ResizingController.ResourceCount
                && _ledger.Restore(new Lease(rec.Id, IndexOf(new VmId(rec.Lender)), IndexOf(new VmId(rec.Borrower)), rec.Resource, rec.Amount, rec.Start, rec.Due)))
            {
                _records[rec.Id] = rec;
            }
        }

        Publish();
        return _records.Count;
    }

    private void Publish()
    {
        lock (_gate)
        {
            Volatile.Write(ref _open, [.. _records.Values.OrderBy(r => r.Id).Select(r => new LoanInfo(r.Id, r.HostSet, new VmId(r.Lender), new VmId(r.Borrower),
                Resources[r.Resource], r.Amount, DateTimeOffset.UnixEpoch.AddSeconds(r.Start), DateTimeOffset.UnixEpoch.AddSeconds(r.Due)))]);
        }
    }
}
