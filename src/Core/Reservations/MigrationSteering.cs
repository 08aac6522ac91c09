namespace VmEcosystem.Reservations;

/// <summary>What the steering controller wants after a tick.</summary>
/// <param name="ReservedMhz">CPU the move should hold on its destination now.</param>
/// <param name="BandwidthShare">Share of its link the copy should use (1: all it was given).</param>
public readonly record struct SteeringCommand(double ReservedMhz, double BandwidthShare);

/// <summary>
/// The controller of one running migration: one PID loop steers the reservation toward what the VM (its copy before
/// switch-over, the VM itself after) uses plus headroom, within [0, the static size]; a second slows the copy when
/// the destination's demand passes its utilisation target (lower-priority moves back off first: their target is
/// 5 points lower per priority step), within [<see cref="ReservationOptions.MinBandwidthShare"/>, 1]. Both use
/// <see cref="PidController"/>: anti-windup, derivative on measurement, output and rate limits. Plain arithmetic.
/// </summary>
public sealed class MigrationSteering
{
    private readonly ReservationOptions _options;
    private readonly PidController _reservation;
    private readonly PidController _bandwidth;
    private readonly double _utilizationTarget;
    private double _applied;

    /// <summary>Creates the controller of a move that starts holding <paramref name="request"/>.</summary>
    /// <param name="request">The admitted request (its CPU is the starting reservation).</param>
    /// <param name="staticMhz">The most the move may hold (its allocation plus the spike: the static size).</param>
    /// <param name="options">Settings (gains, headroom, targets).</param>
    /// <param name="initialBandwidthShare">Share of its link the copy starts at (below 1 when admission slowed it to fit).</param>
    public MigrationSteering(ReservationRequest request, double staticMhz, ReservationOptions? options = null, double initialBandwidthShare = 1)
    {
        ArgumentNullException.ThrowIfNull(request);
        _options = options ?? new ReservationOptions();
        double max = Math.Max(request.Amount.CpuMhz, staticMhz);
        _reservation = new PidController(_options.Pid with { MinOutput = 0, MaxOutput = max }, request.Amount.CpuMhz);
        _bandwidth = new PidController(_options.BandwidthPid with { MinOutput = _options.MinBandwidthShare, MaxOutput = 1 }, initialBandwidthShare);
        _utilizationTarget = _options.DestinationUtilizationTarget - (0.05 * (int)request.Explanation.Priority);
        Priority = request.Explanation.Priority;
        Command = new SteeringCommand(request.Amount.CpuMhz, _bandwidth.Output);
        _applied = request.Amount.CpuMhz;
    }

    /// <summary>The move's priority.</summary>
    public SloPriority Priority { get; }

    /// <summary>The last command.</summary>
    public SteeringCommand Command { get; private set; }

    /// <summary>Advances by <paramref name="elapsedSeconds"/>.</summary>
    /// <param name="demandMhz">What the move needs on the destination now (the copy before switch-over, the VM after).</param>
    /// <param name="destinationDemandMhz">Everything the destination is asked for now (its VMs, copies included).</param>
    /// <param name="destinationCapacityMhz">The destination's CPU capacity.</param>
    /// <param name="copying">True before switch-over (the copy's bandwidth can still be steered).</param>
    /// <param name="elapsedSeconds">Time since the last tick.</param>
    public SteeringCommand Tick(double demandMhz, double destinationDemandMhz, double destinationCapacityMhz, bool copying, double elapsedSeconds)
    {
        // The loop measures the allocation in effect, which follows the command with a first-order lag (a scheduler
        // rebalances, a balloon inflates): the plant the default gains were tuned on.
        double lag = _options.AllocationLag.TotalSeconds;
        _applied += (Command.ReservedMhz - _applied) * (lag > 0 ? 1 - Math.Exp(-elapsedSeconds / lag) : 1);
        double want = Math.Max(0, demandMhz) * (1 + _options.Headroom);
        double reserved = _reservation.Update(want, _applied, elapsedSeconds);
        double share = Command.BandwidthShare;
        if (copying && destinationCapacityMhz > 0)
        {
            share = _bandwidth.Update(_utilizationTarget, destinationDemandMhz / destinationCapacityMhz, elapsedSeconds);
        }

        Command = new SteeringCommand(reserved, share);
        return Command;
    }
}
