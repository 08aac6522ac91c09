using VmEcosystem.Cluster;

namespace VmEcosystem.Reservations;

/// <summary>A copy running into a destination: the VM, where it goes, and its network priority.</summary>
/// <param name="Vm">The moving VM.</param>
/// <param name="Destination">Its destination.</param>
/// <param name="Priority">Its network priority (<see cref="ReservationOptions.NetworkPriorityOf"/>).</param>
internal readonly record struct RunningCopy(VmId Vm, HostId Destination, SloPriority Priority);

/// <summary>
/// How contending copies share a destination's link by network priority: a copy into a destination that a copy of
/// higher network priority also copies into runs at most at <see cref="ReservationOptions.YieldedBandwidthShare"/> of
/// its link share until that one ends. A plain function of the copies running now.
/// </summary>
internal static class LinkPriority
{
    /// <summary>The cap on <paramref name="copy"/>'s link share (1: none) and the copy it yields to, if any.</summary>
    public static (double Cap, RunningCopy? YieldsTo) CapOf(in RunningCopy copy, ReadOnlySpan<RunningCopy> running, double yieldedShare)
    {
        RunningCopy? higher = null;
        foreach (var other in running)
        {
            if (other.Vm != copy.Vm && other.Destination == copy.Destination && other.Priority < copy.Priority
                && (higher is null || other.Priority < higher.Value.Priority))
            {
                higher = other;
            }
        }

        return higher is null ? (1, null) : (yieldedShare, higher);
    }
}
