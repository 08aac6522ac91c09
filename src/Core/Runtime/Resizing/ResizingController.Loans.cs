using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Borrowing;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>The resizing controller's loans within budgeted host sets (<see cref="LoanPlanner"/> over the <see cref="LoanBook"/>).</summary>
internal sealed partial class ResizingController
{
    private static readonly string[] ResourceNames = ["cpu", "memory", "diskIops", "networkMbps"];
    private static readonly string[] Units = ["cores", "MiB", "IOPS", "Mbit/s"];
    private readonly List<(Lease Lease, LeaseEnd Why)> _ended = [];
    private readonly List<Lease> _opened = [];
    private LoanParty[] _parties = [];
    private long _loansRestoredAt = -1;

    /// <summary>Who lends and who borrows now, for the pass (lenders are not resized; borrowers only grow).</summary>
    private static (HashSet<(VmId, int)> Lending, HashSet<(VmId, int)> Borrowing) Roles(LoanBook? book)
    {
        var lending = new HashSet<(VmId, int)>();
        var borrowing = new HashSet<(VmId, int)>();
        foreach (var lease in book?.Ledger.Open ?? [])
        {
            lending.Add((book!.VmAt(lease.Lender), lease.Resource));
            borrowing.Add((book.VmAt(lease.Borrower), lease.Resource));
        }

        return (lending, borrowing);
    }

    // At the first pass, and whenever this instance's leadership changed: the loans still open come back from the trail.
    private async Task RestoreLoansAsync(ControllerContext context, LoanBook book, CancellationToken cancellationToken)
    {
        long changes = services.GetService<EcosystemRuntime>()?.Status.Leadership?.Changes ?? 0;
        if (changes == _loansRestoredAt || services.GetService<IAuditStore>() is not { } store)
        {
            return;
        }

        _loansRestoredAt = changes;
        int open = await book.RestoreAsync(store, cancellationToken).ConfigureAwait(false);
        if (open > 0)
        {
            await context.AuditAsync(AuditKind.LoanOpened, string.Create(CultureInfo.InvariantCulture,
                $"{open} open loans restored from the trail; reconciled against the provider's allocations on this pass")).ConfigureAwait(false);
        }
    }

    /// <summary>Returns the loans that must end, drops those whose change never showed, and opens the loans each budgeted set can make.</summary>
    private async Task LendAsync(ControllerContext context, ResizePass pass, LoanBook book)
    {
        double now = pass.Seconds;
        for (int r = 0; r < ResourceCount; r++)
        {
            var sets = pass.Parties(r, book, ref _parties);
            await DropNotAppliedAsync(context, pass, book, r).ConfigureAwait(false);
            _ended.Clear();
            LoanPlanner.Return(book.Ledger, _parties, r, now, _ended);
            foreach (var (lease, why) in _ended)
            {
                var (lender, borrower) = (book.VmAt(lease.Lender), book.VmAt(lease.Borrower));
                string text = string.Create(CultureInfo.InvariantCulture,
                    $"returned {lease.Amount:0.##} {Units[r]} of {ResourceNames[r]} from {borrower} to {lender} (loan {lease.Id}): {Why(why)}");
                Transfer(pass, lender, r, _parties[lease.Lender].Allocation, text);
                Transfer(pass, borrower, r, _parties[lease.Borrower].Allocation, text);
                await book.ReturnedAsync(context, lease.Id, why, text).ConfigureAwait(false);
            }

            if (!book.Options.Loans)
            {
                continue;
            }

            foreach (var (set, members) in sets)
            {
                _opened.Clear();
                LoanPlanner.Lend(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(members), _parties, book.Ledger, r, now, _opened);
                foreach (var lease in _opened)
                {
                    var (lender, borrower) = (book.VmAt(lease.Lender), book.VmAt(lease.Borrower));
                    var (l, b) = (_parties[lease.Lender], _parties[lease.Borrower]);
                    string text = string.Create(CultureInfo.InvariantCulture,
                        $"{lender} lent {lease.Amount:0.##} {Units[r]} of {ResourceNames[r]} to {borrower} until {DateTimeOffset.UnixEpoch.AddSeconds(lease.Due):HH:mm} (loan {lease.Id}, host set {set}): budget spent, {borrower} forecasts {b.Upper:0.##}; {lender} keeps {l.Allocation:0.##} over its forecast {l.Upper:0.##} plus margin");
                    Transfer(pass, lender, r, l.Allocation, text);
                    Transfer(pass, borrower, r, b.Allocation, text);
                    await book.OpenedAsync(context, lease, set, l.Allocation, b.Allocation, text).ConfigureAwait(false);
                }
            }
        }
    }

    // A lender that, settled, holds more than it held before lending less what it has lent: some of its loans never
    // took effect (a dry run, an approval not given, a failure, a resize by hand). Its newest loans are dropped, without
    // moving anything, until what it holds accounts for the rest.
    private async Task DropNotAppliedAsync(ControllerContext context, ResizePass pass, LoanBook book, int r)
    {
        var newest = new Dictionary<int, LoanBook.Record>();
        foreach (var lease in book.Ledger.Open)
        {
            if (lease.Resource == r && book.Find(lease.Id) is { } record && (!newest.TryGetValue(lease.Lender, out var n) || n.Id < record.Id))
            {
                newest[lease.Lender] = record;
            }
        }

        foreach (var (index, record) in newest)
        {
            var lender = book.VmAt(index);
            if (!pass.SeenVms.TryGetValue(lender, out var seen) || seen.State.Outstanding is not null)
            {
                continue; // gone (its loans end in the return step) or still changing
            }

            double before = record.LenderAfter + record.LenderLent;
            for (int i = book.Ledger.Open.Count - 1; i >= 0 && seen.Observed[r] > before - book.Ledger.Lent(index, r) + Tolerance(seen, r); i--)
            {
                var lease = book.Ledger.Open[i];
                if (lease.Lender != index || lease.Resource != r)
                {
                    continue;
                }

                book.Ledger.CloseAt(i);
                await book.ReturnedAsync(context, lease.Id, LeaseEnd.NotApplied, string.Create(CultureInfo.InvariantCulture,
                    $"dropped loan {lease.Id} ({lease.Amount:0.##} {Units[r]} from {lender} to {book.VmAt(lease.Borrower)}): {Why(LeaseEnd.NotApplied)}; {lender} holds {seen.Observed[r]:0.##}, its loans would leave it {before - book.Ledger.Lent(index, r) - lease.Amount:0.##}")).ConfigureAwait(false);
            }
        }
    }

    private static double Tolerance(ResizePass.Seen seen, int r) =>
        Math.Max(1e-3, 0.5 * (seen.Policy.Rules.TryGetValue(Resources[r], out var e) ? e.Rule.Step : 0));

    private static void Transfer(ResizePass pass, VmId vm, int r, double to, string reason)
    {
        if (pass.SeenVms.ContainsKey(vm) && Math.Abs(pass.Current(vm)[r] - to) > 1e-9)
        {
            pass.Change(vm, r, to, reason);
        }
    }

    private static string Why(LeaseEnd why) => why switch
    {
        LeaseEnd.Expired => "due",
        LeaseEnd.LenderUsage => "the lender's use crossed what it had left (returned at once)",
        LeaseEnd.LenderForecast => "the lender's forecast rose into what it lent",
        LeaseEnd.BorrowerDone => "the borrower fits without it (or left)",
        LeaseEnd.LenderGone => "the lender left the host set or its policy",
        _ => "the loan's change never showed on the lender",
    };
}
