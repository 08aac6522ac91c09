using VmEcosystem.Cluster;

namespace VmEcosystem.Planning.ShadowSlots;

/// <summary>Why capacity is held back on a host without being physically used.</summary>
public enum ReservationKind
{
    /// <summary>Room for a VM's predicted growth (forecast upper bound minus its demand now).</summary>
    PredictedGrowth = 0,

    /// <summary>A VM migrating towards the host: its demand arrives when the migration ends.</summary>
    MigrationInFlight = 1,

    /// <summary>Headroom an operator asked for.</summary>
    Headroom = 2,
}

/// <summary>
/// A shadow slot: capacity reserved on a host for something that is not (yet) running there. Immutable; a change is
/// a new slot for the same owner and kind. Every slot has an owner and an expiry, so none can leak.
/// </summary>
/// <param name="Owner">Who holds it (a VM id, a migration id, an operator name).</param>
/// <param name="Host">The host.</param>
/// <param name="Kind">Why.</param>
/// <param name="Amount">How much (CPU MHz and memory MiB are what placement reads).</param>
/// <param name="Expires">When it lapses unless renewed.</param>
public sealed record ShadowSlot(string Owner, HostId Host, ReservationKind Kind, ResourceVector Amount, DateTimeOffset Expires);
