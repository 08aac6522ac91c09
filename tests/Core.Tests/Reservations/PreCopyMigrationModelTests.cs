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

    [Fact]
    public void A_storage_copy_goes_first_in_its_own_rounds_then_the_mirror_takes_the_guests_writes_from_the_memory_rounds()
    {
        // Disk 8192 MiB written at 16 MiB/s over 128 MiB/s: rounds of 8192 (64 s), 1024 (8 s), 128 (1 s); 16 MiB left
        // (under 38.4). The mirror then sends 16 MiB/s, so memory (1024 MiB dirtied at 28 MiB/s) gets 112 MiB/s:
        // rounds of 1024, 256, 64 (12 s), 16 MiB left (under 33.6). Downtime: 16/112 + 16/128 + 20 ms.
        var e = Model.EstimateWithStorage(1024, 28, 128, new StorageCopy(8192, 16));
        Assert.Equal(73, e.StorageSeconds, 9);
        Assert.Equal(3, e.Rounds); // the memory rounds
        Assert.Equal(12, e.PreCopySeconds, 9);
        Assert.Equal(16, e.MirrorMiBps);
        Assert.Equal((16.0 / 112) + (16.0 / 128) + 0.02, e.DowntimeSeconds, 9);
        Assert.Equal(9344 + (16 * 12) + 16, e.StorageTransferredMiB, 9);
        Assert.Equal(1344 + 16 + 9552, e.TransferredMiB, 9);
        Assert.Equal(73 + 12 + e.DowntimeSeconds, e.TotalSeconds, 9);
        Assert.True(e.Converged);

        // No disk: the memory-only estimate.
        Assert.Equal(Model.Estimate(1024, 28, 128), Model.EstimateWithStorage(1024, 28, 128, default));
    }

    [Fact]
    public void A_disk_written_faster_than_the_link_does_not_converge_and_its_rest_goes_in_the_downtime()
    {
        // W = 256 > B = 128: two disk rounds of 1024 (16 s) without progress, 1024 MiB left for the switch-over; the
        // mirror takes half the link, an idle guest's 512 MiB of memory go in one round at 64 MiB/s.
        var e = Model.EstimateWithStorage(512, 0, 128, new StorageCopy(1024, 256));
        Assert.Equal(16, e.StorageSeconds, 9);
        Assert.Equal(64, e.MirrorMiBps);
        Assert.Equal(8, e.PreCopySeconds, 9);
        Assert.Equal(8 + 0.02, e.DowntimeSeconds, 9);
        Assert.False(e.Converged);
        Assert.Throws<ArgumentOutOfRangeException>(() => Model.EstimateWithStorage(512, 0, 128, new StorageCopy(-1, 0)));
    }

    [Fact]
    public void The_destinations_disk_operations_follow_the_copy_rates()
    {
        var options = new PreCopyModelOptions();
        Assert.Equal(2048, options.DestinationDiskIops(0, 128), 9); // 128 MiB/s of 64 KiB writes
        Assert.Equal(0, options.DestinationDiskIops(128, 0)); // received memory lands in RAM
        Assert.Equal(256 + 512, (options with { DestinationDiskIopsPerMiBps = 2, StorageBlockKiB = 256 }).DestinationDiskIops(128, 128), 9);
        Assert.Contains((options with { StorageBlockKiB = 0 }).Validate(), m => m.Contains("StorageBlockKiB", StringComparison.Ordinal));
        Assert.Contains((options with { DestinationDiskIopsPerMiBps = -1 }).Validate(), m => m.Contains("DestinationDiskIopsPerMiBps", StringComparison.Ordinal));
    }
}
