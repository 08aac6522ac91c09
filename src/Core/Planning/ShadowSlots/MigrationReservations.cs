using VmEcosystem.Cluster;

using VmEcosystem.Reservations;

namespace VmEcosystem.Planning.ShadowSlots;

/// <summary>The answer to a reservation: held, or refused with the reason the decision's explanation carries.</summary>
/// <param name="Admitted">True when the destination holds the request.</param>
/// <param name="Reason">Why it was refused (null when admitted).</param>
public readonly record struct ReservationAdmission(bool Admitted, string? Reason);

/// <summary>
/// The reservation manager: a move's request is admitted only when its destination can hold it next to what runs
/// there and what other moves hold, and is then kept as the move's in-flight slot in the planner's
/// <see cref="ShadowSlotLedger"/>, so placement sees it; the controller resizes it; it is released when the move
/// ends or fails (and lapses on its own after its window plus a grace, so it never leaks). Thread-safe through the ledger.
/// </summary>
public sealed class MigrationReservations
{
    private readonly ShadowSlotLedger _ledger;
    private readonly TimeSpan _grace;

    /// <summary>Creates the manager over the planner's ledger.</summary>
    /// <param name="ledger">The shadow-slot ledger the planner reads.</param>
    /// <param name="grace">How long past its window a forgotten reservation lapses.</param>
    public MigrationReservations(ShadowSlotLedger ledger, TimeSpan? grace = null)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        _ledger = ledger;
        _grace = grace ?? TimeSpan.FromMinutes(10);
    }

    /// <summary>CPU (MHz) held on <paramref name="host"/> by moves in flight.</summary>
    public double ReservedMhzOn(HostId host) => _ledger.ReservedOn(host, ReservationKind.MigrationInFlight).CpuMhz;

    /// <summary>What the move of <paramref name="vm"/> holds now (null when nothing).</summary>
    public ResourceVector? HeldBy(VmId vm) => _ledger.Find(vm.Value, ReservationKind.MigrationInFlight)?.Amount;

    /// <summary>
    /// Holds <paramref name="request"/> on its destination when it fits: the destination's CPU capacity minus what
    /// its VMs use now (<paramref name="loadMhz"/>, without moves in flight) and minus what other moves hold there
    /// must cover the request's CPU, and <paramref name="freeMemoryMiB"/> its memory.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="capacityMhz">CPU capacity of the destination.</param>
    /// <param name="loadMhz">CPU its resident VMs use now.</param>
    /// <param name="freeMemoryMiB">Memory not allocated on the destination, moves in flight included.</param>
    /// <param name="now">Now (the slot lapses after the window and the grace).</param>
    public ReservationAdmission TryReserve(ReservationRequest request, double capacityMhz, double loadMhz, double freeMemoryMiB, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        double others = ReservedMhzOn(request.Destination) - (HeldBy(request.Vm)?.CpuMhz ?? 0);
        double free = capacityMhz - loadMhz - others;
        if (request.Amount.CpuMhz > free + 1e-9)
        {
            return new(false,
                $"destination {request.Destination} cannot hold {request.Amount.CpuMhz:F0} MHz for the move " +
                $"(baseline {request.Explanation.BaselineMhz:F0} + spike {request.Explanation.SpikeMhz:F0}): " +
                $"{capacityMhz:F0} MHz less {loadMhz:F0} in use and {others:F0} held by other moves leaves {Math.Max(0, free):F0}");
        }

        if (request.Amount.MemoryMiB > freeMemoryMiB + 1e-9)
        {
            return new(false, $"destination {request.Destination} cannot hold {request.Amount.MemoryMiB:F0} MiB for the move: {Math.Max(0, freeMemoryMiB):F0} MiB free");
        }

        _ledger.Reserve(request.Vm.Value, request.Destination, ReservationKind.MigrationInFlight, request.Amount, now + request.Window + _grace);
        return new(true, null);
    }

    /// <summary>Holds <paramref name="request"/> without an admission check (the move is already running, e.g. adopted after a restart).</summary>
    public void Hold(ReservationRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        _ledger.Reserve(request.Vm.Value, request.Destination, ReservationKind.MigrationInFlight, request.Amount, now + request.Window + _grace);
    }

    /// <summary>Resizes the CPU a running move holds (the controller's output); false when the move holds nothing.</summary>
    public bool ResizeCpu(VmId vm, double cpuMhz)
    {
        var slot = _ledger.Find(vm.Value, ReservationKind.MigrationInFlight);
        if (slot is null)
        {
            return false;
        }

        _ledger.Reserve(slot.Owner, slot.Host, slot.Kind, slot.Amount with { CpuMhz = Math.Max(0, cpuMhz) }, slot.Expires);
        return true;
    }

    /// <summary>Releases what the move of <paramref name="vm"/> holds; false when it held nothing.</summary>
    public bool Release(VmId vm) => _ledger.Release(vm.Value, ReservationKind.MigrationInFlight);
}
