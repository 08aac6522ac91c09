using VmEcosystem.Adjustment;
using VmEcosystem.Policies;

namespace VmEcosystem.Tests.Adjustment;

public sealed class ResizeAdvisorTests
{
    private static readonly ResourceRule Cpu = new(
        GrowAbove: 0.8, ShrinkBelow: 0.4, ShrinkHold: TimeSpan.FromMinutes(30), Min: 1, Max: 8, Step: 0.5, Cooldown: TimeSpan.FromMinutes(10), CostPerUnit: 1);

    private static ResizeAdvice? Advise(double allocation, double signal, double target, double now, ref ResizeTrack track, double guestFloor = 0, ResourceRule? rule = null) =>
        ResizeAdvisor.Advise(PolicyResource.Cpu, rule ?? Cpu, allocation, signal, target, guestFloor, now, ref track, "15-min forecast upper bound");

    [Fact]
    public void Grows_when_the_upper_bound_passes_the_threshold_to_the_target_rounded_up_to_the_step_with_its_reason()
    {
        var track = ResizeTrack.New;
        var advice = Advise(2, 3.4, 3.4 / 0.8, 0, ref track)!;
        Assert.Equal((2.0, 4.5), (advice.From, advice.To)); // 4.25 rounded up to 0.5 steps
        Assert.Equal("15-min forecast upper bound 3.4 > 80% of 2", advice.Reason);
        Assert.Null(Advise(2, 1.5, 1.5 / 0.8, 0, ref track)); // 1.5 is 75% of 2: inside the band
    }

    [Fact]
    public void Shrinks_only_after_the_hold_and_never_below_what_the_guest_uses_or_a_remembered_floor()
    {
        var track = ResizeTrack.New;
        Assert.Null(Advise(4, 1, 1.25, 0, ref track));
        Assert.Null(Advise(4, 1, 1.25, 1200, ref track)); // 20 of the 30 minutes
        Advise(4, 2, 2.5, 1500, ref track); // back inside the band: the hold starts over
        Assert.Null(Advise(4, 1, 1.25, 1800, ref track));
        Assert.Null(Advise(4, 1, 1.25, 3000, ref track));
        Assert.Equal(1.5, Advise(4, 1, 1.25, 3600, ref track)!.To);
        Assert.Equal(3, Advise(4, 1, 1.25, 3600, ref track, guestFloor: 2.7)!.To); // memory the guest holds stays

        ResizeAdvisor.Remember(ref track, restoredTo: 3.5, until: 7200);
        Assert.Null(Advise(3.5, 1, 1.25, 3600, ref track)); // the floor a rollback left
        Assert.Equal(1.5, Advise(3.5, 1, 1.25, 7200, ref track)!.To);
    }

    [Fact]
    public void A_grow_waits_for_the_cooldown_after_a_grow_but_never_for_one_after_a_shrink()
    {
        var track = ResizeTrack.New;
        ResizeAdvisor.Applied(ref track, grew: true, now: 0);
        Assert.Null(Advise(2, 3, 4, 300, ref track));
        Assert.NotNull(Advise(2, 3, 4, 600, ref track));

        var shrunk = ResizeTrack.New;
        ResizeAdvisor.Applied(ref shrunk, grew: false, now: 0);
        Assert.NotNull(Advise(2, 3, 4, 60, ref shrunk));
        Assert.Null(Advise(8, 1, 1, 60, ref shrunk)); // a shrink waits for the cooldown after any change
    }

    [Fact]
    public void Property_min_and_max_are_never_crossed_and_changes_go_the_way_the_thresholds_say()
    {
        var random = new Random(17);
        for (int run = 0; run < 20_000; run++)
        {
            double min = Math.Round(random.NextDouble() * 4, 2) + 0.01, max = min + Math.Round(random.NextDouble() * 16, 2);
            var rule = Cpu with { Min = min, Max = max, Step = 0.01 + Math.Round(random.NextDouble() * 2, 2), ShrinkHold = TimeSpan.Zero, Cooldown = TimeSpan.Zero };
            double allocation = random.NextDouble() * 20, signal = random.NextDouble() * 25, target = random.NextDouble() * 30;
            var track = ResizeTrack.New;
            var advice = Advise(allocation, signal, target, 0, ref track, guestFloor: random.NextDouble() * 25, rule: rule);
            if (advice is null)
            {
                continue;
            }

            Assert.InRange(advice.To, min, max);
            Assert.NotEqual(advice.From, advice.To);
            if (advice.Grows && allocation >= min)
            {
                Assert.True(signal > rule.GrowAbove * allocation, $"run {run}: grew without crossing the grow threshold");
            }

            if (!advice.Grows && allocation <= max)
            {
                Assert.True(signal < rule.ShrinkBelow * allocation, $"run {run}: shrank without staying under the shrink threshold");
            }
        }
    }
}
