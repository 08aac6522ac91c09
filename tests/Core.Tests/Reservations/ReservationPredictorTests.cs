using VmEcosystem.Cluster;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Reservations;

namespace VmEcosystem.Tests.Reservations;

/// <summary>Reservation requests: what they hold per resource and why; the per-class spike correction; admission on the ledger.</summary>
public sealed class ReservationPredictorTests
{
    private static PlannedMove Move(string cls, double? upper, double current = 50) => new(
        new VmId("vm"), new HostId("h1"), new ResourceVector(2, 1000, 2048, GpuMemoryGiB: 4), upper, current,
        new ResourceVector(0, 0, 0, 40, 120), cls, 62.5, 20, 2500);

    [Fact]
    public void A_move_that_copies_storage_reserves_the_destinations_disk_writes_at_their_peak()
    {
        var predictor = new ReservationPredictor();

        // 62.5 MiB/s of 64 KiB writes while the disk goes: 1000 IOPS, above the mirror's 10 MiB/s (160) later.
        var r = predictor.Predict(Move("steady", upper: 300) with { Storage = new StorageCopy(8192, 10) });
        Assert.Equal(1000, r.Explanation.CopyDiskIops, 9);
        Assert.Equal(120 + 1000, r.Amount.DiskIops, 9);

        // Memory only: nothing on disk unless the model says received memory costs disk operations.
        Assert.Equal(0, predictor.Predict(Move("steady", upper: 300)).Explanation.CopyDiskIops);
        var spooling = new ReservationPredictor(model: new PreCopyModelOptions { DestinationDiskIopsPerMiBps = 4 });
        Assert.Equal(120 + 250, spooling.Predict(Move("steady", upper: 300)).Amount.DiskIops, 9);
    }

    [Fact]
    public void A_request_is_the_forecast_upper_bound_plus_the_copys_spike_per_resource_with_its_explanation()
    {
        var predictor = new ReservationPredictor();
        var r = predictor.Predict(Move("steady", upper: 300));

        // 62.5 MiB/s at 6 MHz per MiB/s on the destination: 375 MHz, one more core at 2500 MHz.
        Assert.Equal(300 + 375, r.Amount.CpuMhz, 9);
        Assert.Equal(3, r.Amount.CpuCores);
        Assert.Equal(2048, r.Amount.MemoryMiB);
        Assert.Equal((62.5 * 8 * 1.048576) + 40, r.Amount.NetworkMbps, 9); // the copy arrives on the link, plus the VM's own traffic
        Assert.Equal(120, r.Amount.DiskIops);
        Assert.Equal(4, r.Amount.GpuMemoryGiB);
        Assert.Equal(TimeSpan.FromSeconds(20 + 60), r.Window);
        Assert.Equal(new ReservationExplanation(300, 375, 1, "steady", 0.95, SloPriority.Standard, 62.5, 20), r.Explanation);
        Assert.Contains("\"vm\":\"vm\"", r.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void Static_holds_the_allocation_and_the_baseline_is_never_below_current_demand_nor_above_the_allocation()
    {
        var predictor = new ReservationPredictor();
        Assert.Equal(1000 + 375, predictor.Predict(Move("idle", 10), ReservationMode.Static).Amount.CpuMhz, 9);
        Assert.Equal(400, predictor.Predict(Move("bursty", upper: 100, current: 400)).Explanation.BaselineMhz);
        Assert.Equal(1000, predictor.Predict(Move("bursty", upper: 5000)).Explanation.BaselineMhz);
        Assert.Equal(1000, predictor.Predict(Move("bursty", upper: null)).Explanation.BaselineMhz); // no forecast yet: the allocation
        Assert.Equal(SloPriority.Critical, predictor.Predict(Move("bursty", 100)).Explanation.Priority);
        Assert.Equal(SloPriority.BestEffort, predictor.Predict(Move("idle", 100)).Explanation.Priority);
    }

    [Fact]
    public void A_copy_too_costly_for_the_destination_is_reserved_at_a_slower_rate_down_to_the_floor_static_never_slows()
    {
        var predictor = new ReservationPredictor(new ReservationOptions { MinBandwidthShare = 0.25 });
        var move = Move("steady", upper: 300); // 300 + 375 MHz at 62.5 MiB/s
        Assert.Equal(675, predictor.FitTo(move, 1000, _ => 99)!.Amount.CpuMhz, 9); // fits: as predicted

        var slowed = predictor.FitTo(move, 500, rate => 1024 / rate)!; // 200 MHz left for the spike: 33.3 MiB/s
        Assert.Equal(500, slowed.Amount.CpuMhz, 9);
        Assert.Equal(200 / 6.0, slowed.Explanation.CopyMiBps, 9);
        Assert.Equal(1024 / (200 / 6.0), slowed.Explanation.ExpectedSeconds, 9);

        Assert.Null(predictor.FitTo(move, 350, _ => 99)); // 50 MHz: under a quarter of the rate
        Assert.Null(predictor.FitTo(move, 1200, _ => 99, ReservationMode.Static)); // 1000 + 375 does not fit, and static never slows
    }

    [Fact]
    public void Spikes_measured_on_past_moves_correct_the_estimate_of_their_class_only()
    {
        var predictor = new ReservationPredictor(new ReservationOptions { SpikeLearningRate = 0.5 });
        predictor.ObserveSpike("bursty", estimatedMhz: 375, measuredMhz: 750); // factor 1 -> 1.5
        predictor.ObserveSpike("bursty", estimatedMhz: 375, measuredMhz: 750); // 1.5 -> 1.75
        Assert.Equal((1.75, 2), predictor.CorrectionOf("bursty"));
        Assert.Equal(375 * 1.75, predictor.Predict(Move("bursty", 100)).Explanation.SpikeMhz, 9);
        Assert.Equal(375, predictor.Predict(Move("steady", 100)).Explanation.SpikeMhz, 9);

        predictor.ObserveSpike("steady", 375, 1e9); // one absurd measurement moves the factor at most towards 4
        Assert.Equal(2.5, predictor.CorrectionOf("steady").Factor, 9);
        predictor.ObserveSpike("steady", 0, 100); // nothing estimated: ignored
        Assert.Equal(1, predictor.CorrectionOf("steady").Samples);
    }

    [Fact]
    public void The_destination_holds_a_request_only_when_it_fits_beside_its_load_and_other_moves_and_releases_it_on_every_path()
    {
        var ledger = new ShadowSlotLedger();
        var manager = new MigrationReservations(ledger, TimeSpan.FromMinutes(10));
        var now = DateTimeOffset.UnixEpoch;
        var predictor = new ReservationPredictor();
        var a = predictor.Predict(Move("steady", 300)); // 675 MHz on h1
        var b = predictor.Predict(Move("steady", 300) with { Vm = new VmId("vm-b") });

        Assert.True(manager.TryReserve(a, capacityMhz: 2000, loadMhz: 1000, freeMemoryMiB: 8192, now).Admitted);
        Assert.Equal(675, manager.ReservedMhzOn(new HostId("h1")), 9);
        var refused = manager.TryReserve(b, 2000, 1000, 8192, now); // 2000 - 1000 - 675 leaves 325
        Assert.False(refused.Admitted);
        Assert.Equal("destination h1 cannot hold 675 MHz for the move (baseline 300 + spike 375): 2000 MHz less 1000 in use and 675 held by other moves leaves 325", refused.Reason);
        Assert.Null(manager.HeldBy(b.Vm));
        Assert.False(manager.TryReserve(b, 4000, 0, 1024, now).Admitted); // memory

        Assert.True(manager.ResizeCpu(a.Vm, 200));
        Assert.True(manager.TryReserve(b, 2000, 1000, 8192, now).Admitted); // the controller freed room
        Assert.True(manager.Release(a.Vm));
        Assert.False(manager.Release(a.Vm));
        Assert.Equal(675, manager.ReservedMhzOn(new HostId("h1")), 9);

        // A reservation nobody releases lapses after its window and the grace.
        Assert.Equal(0, ledger.Sweep(now + b.Window + TimeSpan.FromMinutes(9)));
        Assert.Equal(1, ledger.Sweep(now + b.Window + TimeSpan.FromMinutes(10)));
        Assert.Equal(0, manager.ReservedMhzOn(new HostId("h1")));
    }
}
