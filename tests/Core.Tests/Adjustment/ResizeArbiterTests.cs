using VmEcosystem.Adjustment;
using VmEcosystem.Reservations;

namespace VmEcosystem.Tests.Adjustment;

public sealed class ResizeArbiterTests
{
    private static ResizeGrant[] Arbitrate(double free, int maxChanges, params ResizeCandidate[] candidates)
    {
        var grants = new ResizeGrant[candidates.Length];
        int n = ResizeArbiter.Arbitrate(candidates, free, maxChanges, grants);
        return grants[..n];
    }

    [Fact]
    public void Under_contention_critical_vms_are_served_before_best_effort_ones_and_the_rest_goes_to_the_planner()
    {
        var grants = Arbitrate(
            free: 3, maxChanges: 10,
            new ResizeCandidate(0, SloPriority.BestEffort, 2, 4, 4, 1, 0.5),
            new ResizeCandidate(1, SloPriority.Critical, 2, 4, 4, 1, 0.5),
            new ResizeCandidate(2, SloPriority.Standard, 2, 4, 4, 1, 0.5));
        Assert.Equal([(1, 4.0, 0.0), (2, 3.0, 1.0), (0, 2.0, 2.0)], grants.Select(g => (g.Index, g.To, g.Shortfall)));
    }

    [Fact]
    public void Among_equal_priorities_the_lowest_cost_per_unit_of_use_covered_goes_first()
    {
        var grants = Arbitrate(
            free: 2, maxChanges: 10,
            new ResizeCandidate(0, SloPriority.Standard, 2, 4, 2.5, 1, 1), // 2 units to cover 0.5 of use: 4 per unit
            new ResizeCandidate(1, SloPriority.Standard, 2, 4, 4, 1, 1)); // 2 units for 2: 1 per unit
        Assert.Equal([(1, 4.0), (0, 2.0)], grants.Select(g => (g.Index, g.To)));
    }

    [Fact]
    public void Shrinks_free_room_for_grows_and_with_a_budget_critical_vms_are_shrunk_last()
    {
        var grants = Arbitrate(
            free: 0, maxChanges: 2,
            new ResizeCandidate(0, SloPriority.Critical, 4, 2, 2, 1, 1),
            new ResizeCandidate(1, SloPriority.BestEffort, 4, 3, 3, 1, 1),
            new ResizeCandidate(2, SloPriority.Standard, 1, 3, 3, 1, 1));
        Assert.Equal([(2, 3.0), (1, 3.0)], grants.Select(g => (g.Index, g.To))); // the grow, then the best-effort shrink; the critical one waits
    }
}
