using VmEcosystem.Cluster;
using VmEcosystem.Reservations;

namespace VmEcosystem.Tests.Reservations;

/// <summary>The per-move controller: the reservation follows use; the copy backs off a hot destination, by priority, without windup.</summary>
public sealed class MigrationSteeringTests
{
    private static ReservationRequest Request(double mhz, SloPriority priority) => new(
        new VmId("vm"), new HostId("h"), new ResourceVector(2, mhz, 1024), TimeSpan.FromMinutes(1),
        new ReservationExplanation(mhz - 375, 375, 1, "steady", 0.95, priority, 62.5, 20));

    [Fact]
    public void The_reservation_settles_on_use_plus_headroom_after_a_step_within_30_s_and_limited_overshoot()
    {
        var steering = new MigrationSteering(Request(500, SloPriority.Standard), staticMhz: 3000);
        double peak = 0, settledAt = double.NaN;
        for (int t = 5; t <= 120; t += 5)
        {
            double reserved = steering.Tick(demandMhz: 1000, destinationDemandMhz: 0, destinationCapacityMhz: 10_000, copying: false, elapsedSeconds: 5).ReservedMhz;
            peak = Math.Max(peak, reserved);
            bool within = Math.Abs(reserved - 1100) <= 0.02 * 1100;
            settledAt = within ? (double.IsNaN(settledAt) ? t : settledAt) : double.NaN;
        }

        Assert.Equal(1100, steering.Command.ReservedMhz, 0);            // use (1000) plus 10 % headroom
        Assert.True(settledAt <= 30, $"settled within 2 % at {settledAt} s");
        Assert.True((peak - 1100) / (1100 - 500) <= 0.45, $"overshoot {(peak - 1100) / 600:P0} of the step");

        // Use falls: the reservation is freed for others, and never held above the static size nor below 0.
        for (int t = 0; t < 24; t++)
        {
            steering.Tick(100, 0, 10_000, false, 5);
        }

        Assert.Equal(110, steering.Command.ReservedMhz, 0);
        for (int t = 0; t < 24; t++)
        {
            steering.Tick(50_000, 0, 100_000, false, 5);
        }

        Assert.Equal(3000, steering.Command.ReservedMhz, 6);
    }

    [Fact]
    public void A_hot_destination_slows_the_copy_to_its_floor_and_a_cool_one_gives_it_back_at_once()
    {
        var steering = new MigrationSteering(Request(500, SloPriority.Standard), 3000, new ReservationOptions { MinBandwidthShare = 0.25 });
        for (int t = 0; t < 12; t++)
        {
            steering.Tick(375, destinationDemandMhz: 12_000, destinationCapacityMhz: 10_000, copying: true, elapsedSeconds: 5);
        }

        Assert.Equal(0.25, steering.Command.BandwidthShare, 9); // 120 % of the CPU against a 90 % target: the floor

        // The minute at the floor did not wind the integral up: the share is back at 1 within two ticks.
        steering.Tick(375, 5_000, 10_000, true, 5);
        steering.Tick(375, 5_000, 10_000, true, 5);
        Assert.Equal(1, steering.Command.BandwidthShare, 9);

        // After switch-over the copy is over: the share is left alone.
        steering.Tick(375, 20_000, 10_000, copying: false, 5);
        Assert.Equal(1, steering.Command.BandwidthShare, 9);
    }

    [Fact]
    public void Lower_priorities_back_off_first()
    {
        var critical = new MigrationSteering(Request(500, SloPriority.Critical), 3000);
        var bestEffort = new MigrationSteering(Request(500, SloPriority.BestEffort), 3000);
        for (int t = 0; t < 6; t++)
        {
            critical.Tick(375, 9_200, 10_000, true, 5); // 92 %: under the critical target (95 %)
            bestEffort.Tick(375, 9_200, 10_000, true, 5); // over the best-effort one (85 %)
        }

        Assert.Equal(1, critical.Command.BandwidthShare, 9);
        Assert.True(bestEffort.Command.BandwidthShare < 0.75, $"best effort at {bestEffort.Command.BandwidthShare:P0}");
    }
}
