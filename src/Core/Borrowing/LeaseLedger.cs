namespace VmEcosystem.Borrowing;

/// <summary>One open loan of headroom between two VMs of a host set (indices are the caller's).</summary>
/// <param name="Id">Unique within the ledger, increasing.</param>
/// <param name="Lender">Who gave the headroom.</param>
/// <param name="Borrower">Who got it.</param>
/// <param name="Resource">The caller's resource index.</param>
/// <param name="Amount">How much, in the resource's unit.</param>
/// <param name="Start">When it was opened (seconds on the caller's clock).</param>
/// <param name="Due">When it must be returned at the latest.</param>
internal readonly record struct Lease(long Id, int Lender, int Borrower, int Resource, double Amount, double Start, double Due);

/// <summary>Why a lease ended.</summary>
internal enum LeaseEnd
{
    /// <summary>Its maximum duration passed.</summary>
    Expired = 0,

    /// <summary>The lender's forecast rose into what it had lent.</summary>
    LenderForecast = 1,

    /// <summary>The lender's measured use crossed what it had left: returned at once (a forced return).</summary>
    LenderUsage = 2,

    /// <summary>The borrower no longer needs it (its forecast fell, it was resized, moved or deleted).</summary>
    BorrowerDone = 3,

    /// <summary>The lender left the host set (moved, deleted) or is no longer governed.</summary>
    LenderGone = 4,

    /// <summary>The loan's change never showed on the lender (a dry run, a refusal, a failure, or a resize by hand): dropped without a transfer.</summary>
    NotApplied = 5,
}

/// <summary>
/// The open loans of a set of VMs, per resource, with the invariants borrowing relies on: a VM is never a lender and
/// a borrower of the same resource at once (no relaying: what was borrowed is never lent on), what a VM has lent
/// never exceeds what it was allowed to lend when each loan opened, and every lease has a due time, so every lease
/// ends. Arrays indexed by VM × resource; no allocation per call once the lease list has grown. Not thread-safe.
/// </summary>
internal sealed class LeaseLedger
{
    private readonly int _resources;
    private readonly List<Lease> _open = [];
    private double[] _lent, _borrowed;
    private long _nextId = 1;

    /// <summary>Creates an empty ledger for <paramref name="parties"/> VMs and <paramref name="resources"/> resources.</summary>
    public LeaseLedger(int parties, int resources)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(parties);
        ArgumentOutOfRangeException.ThrowIfLessThan(resources, 1);
        _resources = resources;
        _lent = new double[parties * resources];
        _borrowed = new double[parties * resources];
    }

    /// <summary>Open leases, oldest first.</summary>
    public IReadOnlyList<Lease> Open => _open;

    /// <summary>Leases opened since the ledger was created.</summary>
    public long Opened => _nextId - 1;

    /// <summary>What <paramref name="vm"/> has lent out of <paramref name="resource"/>.</summary>
    public double Lent(int vm, int resource) => _lent[(vm * _resources) + resource];

    /// <summary>What <paramref name="vm"/> has borrowed of <paramref name="resource"/>.</summary>
    public double Borrowed(int vm, int resource) => _borrowed[(vm * _resources) + resource];

    /// <summary>Makes room for VMs up to index <paramref name="parties"/> − 1 (a VM that joined).</summary>
    public void Grow(int parties)
    {
        if (parties * _resources > _lent.Length)
        {
            Array.Resize(ref _lent, parties * _resources);
            Array.Resize(ref _borrowed, parties * _resources);
        }
    }

    /// <summary>
    /// Opens a lease when the invariants allow it: lender and borrower differ, the lender borrows none of the
    /// resource and the borrower lends none, and the lender's total lent stays within <paramref name="lendLimit"/>.
    /// </summary>
    /// <param name="lender">Who gives.</param>
    /// <param name="borrower">Who gets.</param>
    /// <param name="resource">Which resource.</param>
    /// <param name="amount">How much.</param>
    /// <param name="lendLimit">The most the lender may have lent of the resource in all, as its policy and forecast allow now.</param>
    /// <param name="now">The caller's clock, seconds.</param>
    /// <param name="due">When the lease must be returned at the latest (after <paramref name="now"/>).</param>
    /// <returns>The lease, or null when an invariant refuses it.</returns>
    public Lease? TryOpen(int lender, int borrower, int resource, double amount, double lendLimit, double now, double due)
    {
        int l = (lender * _resources) + resource, b = (borrower * _resources) + resource;
        if (lender == borrower || !(amount > 0) || !(due > now) || _borrowed[l] > 0 || _lent[b] > 0 || _lent[l] + amount > lendLimit + 1e-9)
        {
            return null;
        }

        var lease = new Lease(_nextId++, lender, borrower, resource, amount, now, due);
        _open.Add(lease);
        _lent[l] += amount;
        _borrowed[b] += amount;
        return lease;
    }

    /// <summary>Puts back a lease read from a store (a restart): the same checks as <see cref="TryOpen"/> except the lend limit.</summary>
    /// <returns>False when it contradicts the leases already restored.</returns>
    public bool Restore(Lease lease)
    {
        int l = (lease.Lender * _resources) + lease.Resource, b = (lease.Borrower * _resources) + lease.Resource;
        if (lease.Lender == lease.Borrower || !(lease.Amount > 0) || _borrowed[l] > 0 || _lent[b] > 0)
        {
            return false;
        }

        _open.Add(lease);
        _lent[l] += lease.Amount;
        _borrowed[b] += lease.Amount;
        _nextId = Math.Max(_nextId, lease.Id + 1);
        return true;
    }

    /// <summary>Closes the open lease at <paramref name="index"/> in <see cref="Open"/> and returns it.</summary>
    public Lease CloseAt(int index)
    {
        var lease = _open[index];
        _open.RemoveAt(index);
        int l = (lease.Lender * _resources) + lease.Resource, b = (lease.Borrower * _resources) + lease.Resource;
        _lent[l] = Settle(_lent[l] - lease.Amount);
        _borrowed[b] = Settle(_borrowed[b] - lease.Amount);
        return lease;
    }

    // Sums of doubles drift: a total within rounding of zero is zero, so "lends none" stays exact.
    private static double Settle(double x) => x < 1e-9 ? 0 : x;
}
