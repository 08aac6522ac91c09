using VmEcosystem.Policies;
using VmEcosystem.Reservations;

namespace VmEcosystem.Borrowing;

/// <summary>What the loan planner knows of one VM for one resource this tick (the caller's arrays, updated as loans open and close).</summary>
internal struct LoanParty
{
    /// <summary>Its allocation now (after what it lent and borrowed), in the resource's unit.</summary>
    public double Allocation;

    /// <summary>Its measured use.</summary>
    public double Usage;

    /// <summary>Its forecast's upper bound at its policy's horizon.</summary>
    public double Upper;

    /// <summary>Its policy's minimum (a lender never goes below it).</summary>
    public double Min;

    /// <summary>Its policy's maximum (a borrower never goes above it).</summary>
    public double Max;

    /// <summary>The policy's step (loans are whole steps).</summary>
    public double Step;

    /// <summary>Its rule's grow threshold (a borrower whose forecast fits under it without the loan gives the loan back).</summary>
    public double GrowAbove;

    /// <summary>What it wants beyond what the budget gave it this tick (0: not a borrower).</summary>
    public double Need;

    /// <summary>Its priority: critical borrowers are served first, critical lenders asked last.</summary>
    public SloPriority Priority;

    /// <summary>Its loan rule.</summary>
    public LoanRule Rule;

    /// <summary>False when it cannot take part this tick (a change of it is still in flight, or it has no policy).</summary>
    public bool Eligible;
}

/// <summary>
/// Borrowing within a host set, as a plain function over the caller's arrays. Returns first: a lease is returned when
/// it is due, at once when the lender's measured use crosses what it has left (a forced return), early when the
/// lender's forecast upper bound plus its margin rises into what it lent, and when the borrower would fit without it;
/// returning never waits on the borrower. Then new loans: borrowers by priority (critical first) and size of need,
/// each served by the lenders with the most to spare among the lowest priorities (critical VMs lend last, and only
/// above twice their margin). A lender keeps <c>max(min, upper × (1 + margin), use × (1 + margin))</c> and lends at most
/// its rule's share of its allocation; what was borrowed is never lent on (<see cref="LeaseLedger"/>).
/// </summary>
internal static class LoanPlanner
{
    /// <summary>
    /// Returns the leases of <paramref name="resource"/> that must end now, updating the parties' allocations. A party
    /// without a rule (<c>default</c>: it left the set, or is no longer governed) ends its leases at once.
    /// </summary>
    /// <param name="ledger">The open leases.</param>
    /// <param name="parties">Every VM's state for the resource, indexed as in the ledger.</param>
    /// <param name="resource">The resource.</param>
    /// <param name="now">The caller's clock, seconds.</param>
    /// <param name="ended">Receives each lease closed and why.</param>
    public static void Return(LeaseLedger ledger, Span<LoanParty> parties, int resource, double now, List<(Lease Lease, LeaseEnd Why)> ended)
    {
        for (int i = ledger.Open.Count - 1; i >= 0; i--)
        {
            var lease = ledger.Open[i];
            if (lease.Resource != resource)
            {
                continue;
            }

            ref var lender = ref parties[lease.Lender];
            ref var borrower = ref parties[lease.Borrower];
            LeaseEnd? why = lender.Rule is null ? LeaseEnd.LenderGone
                : borrower.Rule is null ? LeaseEnd.BorrowerDone
                : now >= lease.Due ? LeaseEnd.Expired
                : lender.Usage > lender.Allocation ? LeaseEnd.LenderUsage
                : Floor(lender) > lender.Allocation + 1e-9 ? LeaseEnd.LenderForecast
                : borrower.Upper <= (borrower.Allocation - lease.Amount) * borrower.GrowAbove ? LeaseEnd.BorrowerDone
                : null;
            if (why is { } w)
            {
                ledger.CloseAt(i);
                lender.Allocation += lease.Amount;
                borrower.Allocation -= lease.Amount;
                ended.Add((lease, w));
            }
        }
    }

    /// <summary>Opens the loans <paramref name="members"/> (one host set) can make among themselves for <paramref name="resource"/>.</summary>
    /// <param name="members">The VMs of the host set.</param>
    /// <param name="parties">Every VM's state for the resource, indexed as in the ledger.</param>
    /// <param name="ledger">The open leases.</param>
    /// <param name="resource">The resource.</param>
    /// <param name="now">The caller's clock, seconds.</param>
    /// <param name="opened">Receives each lease opened.</param>
    public static void Lend(ReadOnlySpan<int> members, Span<LoanParty> parties, LeaseLedger ledger, int resource, double now, List<Lease> opened)
    {
        Span<int> borrowers = members.Length <= 128 ? stackalloc int[members.Length] : new int[members.Length];
        Span<int> lenders = members.Length <= 128 ? stackalloc int[members.Length] : new int[members.Length];
        int nb = 0, nl = 0;
        foreach (int vm in members)
        {
            ref var p = ref parties[vm];
            if (!p.Eligible)
            {
                continue;
            }

            if (p.Need > 0 && ledger.Lent(vm, resource) == 0)
            {
                borrowers[nb++] = vm;
            }
            else if (p.Need <= 0 && ledger.Borrowed(vm, resource) == 0 && Spare(p, ledger.Lent(vm, resource)) > 0)
            {
                lenders[nl++] = vm;
            }
        }

        if (nb == 0 || nl == 0)
        {
            return;
        }

        Sort(borrowers[..nb], parties, static (in LoanParty a, in LoanParty b) => a.Priority != b.Priority ? a.Priority.CompareTo(b.Priority) : b.Need.CompareTo(a.Need));
        Sort(lenders[..nl], parties, static (in LoanParty a, in LoanParty b) => b.Priority.CompareTo(a.Priority));
        foreach (int b in borrowers[..nb])
        {
            ref var borrower = ref parties[b];
            double borrowed = ledger.Borrowed(b, resource), own = borrower.Allocation - borrowed;
            // the need in whole steps, rounded up, but never past the share it may borrow or its rule's maximum
            double cap = Math.Floor((Math.Min((borrower.Rule.MaxBorrowShare * own) - borrowed, borrower.Max - borrower.Allocation) / borrower.Step) + 1e-9) * borrower.Step;
            double want = Math.Min(Math.Ceiling((borrower.Need / borrower.Step) - 1e-9) * borrower.Step, cap);
            for (int k = 0; k < nl && want > 1e-12; k++)
            {
                int l = lenders[k];
                ref var lender = ref parties[l];
                double lent = ledger.Lent(l, resource), spare = Spare(lender, lent);
                double give = Math.Min(want, Math.Floor((spare / borrower.Step) + 1e-9) * borrower.Step);
                if (give <= 0 || borrower.Allocation + give > borrower.Max + 1e-9)
                {
                    continue;
                }

                var due = now + Math.Min(lender.Rule.MaxDuration.TotalSeconds, borrower.Rule.MaxDuration.TotalSeconds);
                if (ledger.TryOpen(l, b, resource, give, lent + spare, now, due) is { } lease)
                {
                    lender.Allocation -= give;
                    borrower.Allocation += give;
                    borrower.Need = Math.Max(0, borrower.Need - give);
                    want -= give;
                    opened.Add(lease);
                }
            }
        }
    }

    /// <summary>What a lender keeps whatever it lends: its minimum, and its forecast and use with its margin (twice the margin for a critical VM).</summary>
    public static double Floor(in LoanParty p)
    {
        double margin = p.Rule.LenderMargin * (p.Priority == SloPriority.Critical ? 2 : 1);
        return Math.Max(p.Min, Math.Max(p.Upper, p.Usage) * (1 + margin));
    }

    // What a lender can still lend: above its floor, and within its rule's share of what it had before lending.
    private static double Spare(in LoanParty p, double lent)
    {
        double byShare = (p.Rule.MaxLendShare * (p.Allocation + lent)) - lent;
        return Math.Max(0, Math.Min(byShare, p.Allocation - Floor(p)));
    }

    private delegate int PartyOrder(in LoanParty a, in LoanParty b);

    // Insertion sort: stable, no allocation; a host set has tens of VMs.
    private static void Sort(Span<int> order, ReadOnlySpan<LoanParty> parties, PartyOrder compare)
    {
        for (int i = 1; i < order.Length; i++)
        {
            int x = order[i], j = i - 1;
            while (j >= 0 && compare(parties[x], parties[order[j]]) < 0)
            {
                order[j + 1] = order[j];
                j--;
            }

            order[j + 1] = x;
        }
    }
}
