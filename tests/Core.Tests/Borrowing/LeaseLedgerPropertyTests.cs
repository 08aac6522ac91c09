using VmEcosystem.Borrowing;
using VmEcosystem.Policies;
using VmEcosystem.Reservations;

namespace VmEcosystem.Tests.Borrowing;

/// <summary>
/// Random days of loans in host sets: whatever happens to use and forecasts, no VM lends and borrows the same resource
/// at once, what a VM has lent equals its open leases and stays within what it could lend, no lender's allocation
/// falls below its minimum or its forecast, allocations are only moved (their sum is constant), and every lease ends.
/// </summary>
public sealed class LeaseLedgerPropertyTests
{
    private const int Vms = 24, SetSize = 8;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Loans_keep_every_invariant_over_a_random_day(int seed)
    {
        var random = new Random(seed);
        var ledger = new LeaseLedger(Vms, 1);
        var parties = new LoanParty[Vms];
        var rule = new LoanRule(0.5, 1.0, TimeSpan.FromMinutes(20), 0.1);
        for (int i = 0; i < Vms; i++)
        {
            parties[i] = new LoanParty
            {
                Allocation = 1 + random.Next(4), Min = 0.25, Max = 8, Step = 0.05, GrowAbove = 0.9, Rule = rule, Eligible = true,
                Priority = (SloPriority)(i % 3),
            };
        }

        double total = parties.Sum(p => p.Allocation);
        var ended = new List<(Lease Lease, LeaseEnd Why)>();
        var opened = new List<Lease>();
        double now = 0;
        for (int tick = 0; tick < 400; tick++, now += 60)
        {
            for (int i = 0; i < Vms; i++)
            {
                ref var p = ref parties[i];
                double own = p.Allocation + ledger.Lent(i, 0) - ledger.Borrowed(i, 0);
                p.Usage = own * random.NextDouble() * 1.3;
                p.Upper = p.Usage * (1 + (0.3 * random.NextDouble()));
                p.Need = random.NextDouble() < 0.3 ? random.NextDouble() * 2 : 0;
            }

            ended.Clear();
            LoanPlanner.Return(ledger, parties, 0, now, ended);
            Assert.All(ended, e => Assert.True(e.Lease.Due > e.Lease.Start));
            opened.Clear();
            for (int s = 0; s < Vms; s += SetSize)
            {
                int[] members = [.. Enumerable.Range(s, SetSize)];
                LoanPlanner.Lend(members, parties, ledger, 0, now, opened);
                Assert.All(opened, l => Assert.True(l.Lender / SetSize == l.Borrower / SetSize, "a loan crosses host sets"));
            }

            Check(ledger, parties, total, rule, now);
        }

        // Time passes with nothing changing: every lease comes back by its due time.
        now += rule.MaxDuration.TotalSeconds;
        LoanPlanner.Return(ledger, parties, 0, now, ended);
        Assert.Empty(ledger.Open);
        Assert.True(ledger.Opened > 100, $"only {ledger.Opened} loans: the day did not exercise lending");
        Assert.Contains(ended, e => e.Why == LeaseEnd.LenderUsage);
        Assert.Contains(ended, e => e.Why == LeaseEnd.Expired);
    }

    private static void Check(LeaseLedger ledger, LoanParty[] parties, double total, LoanRule rule, double now)
    {
        Assert.Equal(total, parties.Sum(p => p.Allocation), 6);
        for (int i = 0; i < Vms; i++)
        {
            double lent = ledger.Open.Where(l => l.Lender == i).Sum(l => l.Amount);
            double borrowed = ledger.Open.Where(l => l.Borrower == i).Sum(l => l.Amount);
            Assert.Equal(lent, ledger.Lent(i, 0), 9);
            Assert.Equal(borrowed, ledger.Borrowed(i, 0), 9);
            Assert.False(lent > 0 && borrowed > 0, $"vm {i} lends and borrows at once");
            if (lent > 0)
            {
                var p = parties[i];
                Assert.True(p.Allocation >= p.Min - 1e-9, $"lender {i} below its minimum");
                Assert.True(p.Allocation >= p.Upper - 1e-9, $"lender {i} below its forecast");
                Assert.True(lent <= (rule.MaxLendShare * (p.Allocation + lent)) + 1e-9, $"lender {i} lent more than its share");
            }
        }

        Assert.All(ledger.Open, l => Assert.InRange(l.Due, now, l.Start + rule.MaxDuration.TotalSeconds));
    }

    [Fact]
    public void The_ledger_refuses_relaying_self_loans_and_loans_beyond_the_limit()
    {
        var ledger = new LeaseLedger(3, 1);
        Assert.NotNull(ledger.TryOpen(0, 1, 0, 1, lendLimit: 1.5, now: 0, due: 60));
        Assert.Null(ledger.TryOpen(0, 2, 0, 1, lendLimit: 1.5, now: 0, due: 60)); // 2 in all > 1.5
        Assert.Null(ledger.TryOpen(1, 2, 0, 0.5, lendLimit: 5, now: 0, due: 60)); // 1 borrowed: it cannot lend on
        Assert.Null(ledger.TryOpen(2, 0, 0, 0.5, lendLimit: 5, now: 0, due: 60)); // 0 lends: it cannot borrow
        Assert.Null(ledger.TryOpen(2, 2, 0, 0.5, lendLimit: 5, now: 0, due: 60));
        Assert.Null(ledger.TryOpen(2, 1, 0, 0.5, lendLimit: 5, now: 60, due: 60)); // no due time after now
        Assert.NotNull(ledger.TryOpen(2, 1, 0, 0.5, lendLimit: 5, now: 0, due: 60));
        Assert.Equal(1.5, ledger.Borrowed(1, 0));
        ledger.CloseAt(0);
        Assert.Equal(0, ledger.Lent(0, 0));
        Assert.Equal(0.5, ledger.Borrowed(1, 0));
    }

    [Fact]
    public void Critical_borrowers_are_served_first_and_critical_lenders_asked_last()
    {
        var ledger = new LeaseLedger(4, 1);
        var rule = new LoanRule(0.5, 4, TimeSpan.FromMinutes(30), 0.1);
        var parties = new LoanParty[]
        {
            new() { Allocation = 4, Usage = 1, Upper = 1, Min = 0.5, Max = 8, Step = 0.1, GrowAbove = 0.9, Rule = rule, Eligible = true, Priority = SloPriority.Critical },
            new() { Allocation = 4, Usage = 1, Upper = 1, Min = 0.5, Max = 8, Step = 0.1, GrowAbove = 0.9, Rule = rule, Eligible = true, Priority = SloPriority.BestEffort },
            new() { Allocation = 1, Usage = 1, Upper = 3, Min = 0.5, Max = 8, Step = 0.1, GrowAbove = 0.9, Rule = rule, Eligible = true, Priority = SloPriority.BestEffort, Need = 2 },
            new() { Allocation = 1, Usage = 1, Upper = 3, Min = 0.5, Max = 8, Step = 0.1, GrowAbove = 0.9, Rule = rule, Eligible = true, Priority = SloPriority.Critical, Need = 2 },
        };
        var opened = new List<Lease>();

        LoanPlanner.Lend([0, 1, 2, 3], parties, ledger, 0, 0, opened);

        Assert.Equal(3, opened[0].Borrower); // the critical borrower first
        Assert.Equal(1, opened[0].Lender);   // from the best-effort lender
        Assert.Equal(2, opened[0].Amount, 9);
        Assert.Equal(3, parties[3].Allocation, 9);
        Assert.Contains(opened, l => l.Borrower == 2 && l.Lender == 0); // the critical lender only once the other has lent its share
    }
}
