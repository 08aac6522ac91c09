namespace VmEcosystem.Experiments;

/// <summary>
/// What happened during migration windows (each move from its start to its switch-over plus the hold after it), in
/// core-seconds (MHz·s over the host's core speed) and seconds.
/// </summary>
/// <param name="DemandCoreSeconds">CPU asked for by the migrating VMs (on their source before switch-over, their copy's on the destination) and by every VM on a destination.</param>
/// <param name="ShortfallCoreSeconds">Of that demand, what was not served.</param>
/// <param name="ReservedCoreSeconds">CPU held for moves on their destinations.</param>
/// <param name="IdleReservedCoreSeconds">Of that, what the move did not use.</param>
/// <param name="SloViolationSeconds">Seconds a VM (migrating, or on a destination) got under 95 % of its demand, by priority (critical, standard, best effort).</param>
/// <param name="BandwidthCommands">Copy bandwidth changes sent to the simulator (slowdowns from CPU the copy did not get, and the controller's).</param>
/// <param name="ReservationCommands">Reservation resizes by the controller.</param>
public sealed record MigrationWindowAccounting(
    double DemandCoreSeconds, double ShortfallCoreSeconds, double ReservedCoreSeconds, double IdleReservedCoreSeconds,
    IReadOnlyDictionary<string, double> SloViolationSeconds, int BandwidthCommands, int ReservationCommands)
{
    /// <summary>Highest demand on a destination during a window, as a share of its CPU capacity (the copy's CPU included).</summary>
    public double PeakDestinationUtilization { get; init; }

    /// <summary>Seconds destinations spent asked for more than 90 % of their CPU during windows, summed over destinations.</summary>
    public double DestinationSecondsAbove90 { get; init; }
}
