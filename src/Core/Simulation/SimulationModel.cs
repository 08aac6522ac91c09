namespace VmEcosystem.Simulation;

/// <summary>
/// The physics of a simulation: tick schedule, migration cost and a few behaviours that exist only to match
/// CloudSim 3.0.3 bit for bit (see <see cref="CloudSimCompatible"/>).
/// </summary>
public sealed record SimulationModel
{
    /// <summary>
    /// CloudSim 3.0.3's power/PlanetLab model: 300 s ticks from 300.1 s to 86,100.1 s, migration time
    /// RAM / (half the host bandwidth), 10 % CPU lost on the source and 10 % carried by the target while a VM
    /// migrates, and VMs removed for good once their demand reaches exactly 0 (a CloudSim quirk).
    /// </summary>
    public static SimulationModel CloudSimCompatible { get; } = new() { RemoveVmsWhenDemandIsZero = true, AllowConcurrentMigrationsOfOneVm = true };

    /// <summary>Same physics as <see cref="CloudSimCompatible"/>, but VMs are never removed when their demand is 0.</summary>
    public static SimulationModel Default { get; } = new();

    /// <summary>
    /// <see cref="Default"/> with live migrations under the pre-copy model (<see cref="PreCopy"/>): rounds, downtime,
    /// dirty-page rates and shared links, instead of CloudSim's memory over half the bandwidth.
    /// </summary>
    public static SimulationModel Realistic { get; } = new() { PreCopy = new() };

    /// <summary>
    /// The pre-copy model of live migration (null: CloudSim's time, memory / (bandwidth × <see cref="MigrationBandwidthShare"/>)).
    /// With it, a migration's duration and downtime follow its VM's dirty-page rate and the bandwidth it gets.
    /// </summary>
    public Reservations.PreCopyModelOptions? PreCopy { get; init; }

    /// <summary>Dirty-page rates of VMs whose scenario gives none, under <see cref="PreCopy"/>.</summary>
    public Forecasting.DirtyRateEstimateOptions DirtyRates { get; init; } = new();

    /// <summary>
    /// Allocations separate from demand: a VM's demand is its trace's share of the size it starts with, whatever it
    /// is resized to, and demand above its allocation (vCPUs under its CPU quota; memory) is unserved and counted
    /// per VM and summed in <see cref="SimulationSummary.Allocation"/>.
    /// Off by default: CloudSim's demand is a share of the VM's current size.
    /// </summary>
    public bool DemandBoundByAllocation { get; init; }

    /// <summary>Seconds a hot-plug takes to take effect (0: at the next update).</summary>
    public double HotPlugDelaySeconds { get; init; }

    /// <summary>Seconds between ticks (demand updates, accounting, planning).</summary>
    public double TickIntervalSeconds { get; init; } = 300;

    /// <summary>Simulated time of the clock origin offset; the first tick is at <c>StartSeconds + TickIntervalSeconds</c> (CloudSim: 0.1).</summary>
    public double StartSeconds { get; init; } = 0.1;

    /// <summary>Simulation limit: ticks later than this do not run (CloudSim: 86,400).</summary>
    public double DurationSeconds { get; init; } = 86_400;

    /// <summary>Remove a VM for good when its demand is exactly 0 at an update (CloudSim's behaviour).</summary>
    public bool RemoveVmsWhenDemandIsZero { get; init; }

    /// <summary>
    /// Accept a second migration of a VM that is already migrating (CloudSim 3.0.3 runs both when its under-load
    /// stage re-plans a VM its overload stage just moved; the VM ends on the target of the last one). Off by default.
    /// </summary>
    public bool AllowConcurrentMigrationsOfOneVm { get; init; }

    /// <summary>Share of a VM's CPU lost on the source while it migrates (CloudSim: 0.1).</summary>
    public double MigrationDegradation { get; init; } = 0.1;

    /// <summary>Share of a migrating VM's CPU request the target already carries (CloudSim: 0.1).</summary>
    public double MigrationTargetShare { get; init; } = 0.1;

    /// <summary>Share of the target's network bandwidth used by a migration (CloudSim: 0.5).</summary>
    public double MigrationBandwidthShare { get; init; } = 0.5;

    /// <summary>Length of each VM's CPU-utilisation history kept for the planner (CloudSim: 30).</summary>
    public int HistoryLength { get; init; } = 30;

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        var nested = (PreCopy?.Validate("SimulationModel.PreCopy") ?? []).Concat((DirtyRates ?? new()).Validate("SimulationModel.DirtyRates")).ToArray();
        if (nested.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", nested));
        }

        if (!(TickIntervalSeconds > 0) || !double.IsFinite(TickIntervalSeconds))
        {
            throw new ArgumentException($"SimulationModel.TickIntervalSeconds must be positive; got {TickIntervalSeconds}.");
        }

        if (!(StartSeconds >= 0) || !double.IsFinite(StartSeconds))
        {
            throw new ArgumentException($"SimulationModel.StartSeconds must be non-negative; got {StartSeconds}.");
        }

        if (!(DurationSeconds > StartSeconds + TickIntervalSeconds))
        {
            throw new ArgumentException($"SimulationModel.DurationSeconds ({DurationSeconds}) must leave room for at least one tick.");
        }

        if (!(HotPlugDelaySeconds >= 0) || !double.IsFinite(HotPlugDelaySeconds))
        {
            throw new ArgumentException($"SimulationModel.HotPlugDelaySeconds must be non-negative; got {HotPlugDelaySeconds}.");
        }

        if (!(MigrationDegradation >= 0 && MigrationDegradation < 1))
        {
            throw new ArgumentException($"SimulationModel.MigrationDegradation must be within [0, 1); got {MigrationDegradation}.");
        }

        if (!(MigrationTargetShare >= 0 && MigrationTargetShare <= 1))
        {
            throw new ArgumentException($"SimulationModel.MigrationTargetShare must be within [0, 1]; got {MigrationTargetShare}.");
        }

        if (!(MigrationBandwidthShare > 0 && MigrationBandwidthShare <= 1))
        {
            throw new ArgumentException($"SimulationModel.MigrationBandwidthShare must be within (0, 1]; got {MigrationBandwidthShare}.");
        }

        if (HistoryLength < 1)
        {
            throw new ArgumentException($"SimulationModel.HistoryLength must be at least 1; got {HistoryLength}.");
        }
    }
}
