using VmEcosystem.Cluster;
using VmEcosystem.Planning.ShadowSlots;

namespace VmEcosystem.Tests.Planning;

public sealed class ShadowSlotLedgerTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UnixEpoch;
    private static readonly HostId A = new("a");
    private static readonly HostId B = new("b");

    [Fact]
    public void Reserving_again_resizes_or_moves_the_slot()
    {
        var ledger = new ShadowSlotLedger();
        ledger.Reserve("vm1", A, ReservationKind.PredictedGrowth, new ResourceVector(0, 100, 0), T0.AddHours(1));
        ledger.Reserve("vm1", A, ReservationKind.PredictedGrowth, new ResourceVector(0, 250, 0), T0.AddHours(1));
        Assert.Equal(250, ledger.ReservedOn(A).CpuMhz);
        ledger.Reserve("vm1", B, ReservationKind.PredictedGrowth, new ResourceVector(0, 50, 0), T0.AddHours(1));
        Assert.Equal(0, ledger.ReservedOn(A).CpuMhz);
        Assert.Equal(50, ledger.ReservedOn(B).CpuMhz);
        Assert.Equal(1, ledger.Count);
    }

    [Fact]
    public void Kinds_are_separate_and_release_removes_exactly_one()
    {
        var ledger = new ShadowSlotLedger();
        ledger.Reserve("vm1", A, ReservationKind.PredictedGrowth, new ResourceVector(0, 100, 0), T0.AddHours(1));
        ledger.Reserve("vm1", A, ReservationKind.MigrationInFlight, new ResourceVector(0, 300, 512), T0.AddHours(1));
        ledger.Reserve("ops", A, ReservationKind.Headroom, new ResourceVector(0, 1000, 0), DateTimeOffset.MaxValue);
        Assert.Equal(1400, ledger.ReservedOn(A).CpuMhz);
        Assert.Equal(300, ledger.ReservedOn(A, ReservationKind.MigrationInFlight).CpuMhz);
        Assert.True(ledger.Release("vm1", ReservationKind.MigrationInFlight));
        Assert.False(ledger.Release("vm1", ReservationKind.MigrationInFlight));
        Assert.Equal(1100, ledger.ReservedOn(A).CpuMhz);
        Assert.Equal(1, ledger.ReleaseOwner("vm1"));
        Assert.Equal(1000, ledger.ReservedOn(A).CpuMhz);
    }

    [Fact]
    public void Expired_slots_are_swept_so_nothing_leaks()
    {
        var ledger = new ShadowSlotLedger();
        ledger.Reserve("vm1", A, ReservationKind.MigrationInFlight, new ResourceVector(0, 300, 0), T0.AddMinutes(10));
        ledger.Reserve("vm2", A, ReservationKind.PredictedGrowth, new ResourceVector(0, 20, 0), T0.AddMinutes(30));
        Assert.Equal(0, ledger.Sweep(T0.AddMinutes(9)));
        Assert.Equal(1, ledger.Sweep(T0.AddMinutes(10)));
        Assert.Equal(20, ledger.ReservedOn(A).CpuMhz);
        Assert.Equal(1, ledger.Sweep(T0.AddHours(1)));
        Assert.Equal(0, ledger.Count);
        Assert.Equal(ResourceVector.Zero, ledger.ReservedOn(A));
    }

    [Fact]
    public void Invalid_amounts_are_rejected()
    {
        var ledger = new ShadowSlotLedger();
        Assert.Throws<ArgumentException>(() => ledger.Reserve("x", A, ReservationKind.Headroom, new ResourceVector(0, -1, 0), T0));
        Assert.Throws<ArgumentException>(() => ledger.Reserve(" ", A, ReservationKind.Headroom, ResourceVector.Zero, T0));
    }
}
