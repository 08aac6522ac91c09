using VmEcosystem.Planning;
using VmEcosystem.Reservations;

namespace VmEcosystem.Tests.Reservations;

/// <summary>The pre-copy model against rounds computed by hand.</summary>
public sealed class PreCopyMigrationModelTests
{
    private static readonly PreCopyMigrationModel Model = new();

    [Fact]
    public void A_convergent_copy_shrinks_by_the_dirty_to_bandwidth_ratio_until_the_rest_fits_the_downtime()
    {
        // M = 1024 MiB, D = 32 MiB/s, B = 128 MiB/s: rounds of 1024 (8 s), 256 (2 s), 64 (0.5 s); the guest then has
        // dirtied 16 MiB, under the 38.4 MiB that 300 ms at 128 MiB/s sends: stop-and-copy 16/128 s + 20 ms switch-over.
        Span<double> rounds = stackalloc double[8];
        var e = Model.Estimate(1024, 32, 128, rounds);
        Assert.Equal(3, e.Rounds);
        Assert.Equal([1024.0, 256.0, 64.0], rounds[..3].ToArray());
        Assert.Equal(1024 + 256 + 64 + 16, e.TransferredMiB, 9);
        Assert.Equal(10.5, e.PreCopySeconds, 9);
        Assert.Equal(0.125 + 0.02, e.DowntimeSeconds, 9);
        Assert.Equal(10.645, e.TotalSeconds, 9);
        Assert.True(e.Converged);
    }

    [Fact]
    public void A_guest_dirtying_faster_than_the_link_stops_after_a_round_without_progress_with_a_long_downtime()
    {
        // D = 256 > B = 128: round 0 sends 1024 in 8 s, during which the whole memory is dirtied again (capped at M);
        // round 1 sends 1024 again and makes no progress: the hypervisor stops the guest and sends 1024 MiB (8 s).
        var e = Model.Estimate(1024, 256, 128);
        Assert.Equal(2, e.Rounds);
        Assert.Equal(3072, e.TransferredMiB, 9);
        Assert.Equal(16, e.PreCopySeconds, 9);
        Assert.Equal(8.02, e.DowntimeSeconds, 9);
        Assert.False(e.Converged);
    }

    [Fact]
    public void The_round_limit_forces_the_stop_and_copy()
    {
        // D/B = 0.9: 1024·0.9ⁿ ≤ 38.4 needs 32 rounds; with at most 3 the rest after round 3 (1024·0.9³) is sent paused.
        var model = new PreCopyMigrationModel(new PreCopyModelOptions { MaxRounds = 3 });
        var e = model.Estimate(1024, 115.2, 128);
        Assert.Equal(3, e.Rounds);
        Assert.Equal((1024 * 0.729 / 128) + 0.02, e.DowntimeSeconds, 9);
        Assert.False(e.Converged);
    }

    [Fact]
    public void Less_bandwidth_means_a_longer_move_and_a_longer_downtime()
    {
        var fast = Model.Estimate(4096, 40, 120);
        var slow = Model.Estimate(4096, 40, 60);
        Assert.True(slow.TotalSeconds > 2 * fast.TotalSeconds);
        Assert.True(slow.DowntimeSeconds > fast.DowntimeSeconds);

        // An idle guest: one full copy and the switch-over.
        var idle = Model.Estimate(1024, 0, 128);
        Assert.Equal((1, 1024.0, 8.0, 0.02), (idle.Rounds, idle.TransferredMiB, idle.PreCopySeconds, idle.DowntimeSeconds));
    }

    [Fact]
    public void Bad_input_and_bad_settings_are_refused_naming_what_is_wrong()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Model.Estimate(-1, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Model.Estimate(1, double.NaN, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Model.Estimate(1, 0, 0));
        var ex = Assert.Throws<ArgumentException>(() => new PreCopyMigrationModel(new PreCopyModelOptions { MaxRounds = 0, NoProgressRatio = 2 }));
        Assert.Contains("PreCopyModel:MaxRounds", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PreCopyModel:NoProgressRatio", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_planner_prices_a_move_with_the_model()
    {
        // 1 Gbit/s link, half of it for the migration: 62.5 MB/s; a guest dirtying 10 MiB/s.
        var context = new PlanningContext(new Random(1));
        var e = Model.Estimate(2048, 10, 62.5);
        Assert.Equal(e.TotalSeconds, context.MigrationSeconds(2048, 1000, 10), 9);
        Assert.True(context.MigrationSeconds(2048, 1000, 10) > context.MigrationSeconds(2048, 1000));
    }
}
