namespace VmEcosystem.Simulation;

/// <summary>The state of a simulation at the end of one tick (after that tick's migrations started).</summary>
/// <param name="TimeSeconds">Simulated time.</param>
/// <param name="EnergyKwh">Energy used so far.</param>
/// <param name="Migrations">Migrations started so far.</param>
/// <param name="HostsWithVms">Hosts holding at least one VM.</param>
/// <param name="ActiveHosts">Hosts with CPU utilisation above 0 (drawing power).</param>
/// <param name="VmsInCluster">VMs still in the cluster.</param>
/// <param name="ClusterUtilization">Allocated MIPS over the capacity of active hosts (0..1).</param>
/// <param name="MigrationsThisTick">Migrations started at this tick.</param>
public readonly record struct SimulationTick(
    double TimeSeconds,
    double EnergyKwh,
    int Migrations,
    int HostsWithVms,
    int ActiveHosts,
    int VmsInCluster,
    double ClusterUtilization,
    int MigrationsThisTick)
{
    /// <summary>Memory given to the VMs of active hosts over those hosts' memory (0..1): the other resource that can bind.</summary>
    public double MemoryUtilization { get; init; }
}

/// <summary>
/// The figures of a finished (or running) simulation, computed as CloudSim computes them (see the README's
/// benchmark section): energy, migrations and the SLA metrics SLATAH, PDM, SLAV and ESV.
/// </summary>
public sealed record SimulationSummary
{
    /// <summary>Scenario name.</summary>
    public required string Scenario { get; init; }

    /// <summary>Number of hosts.</summary>
    public required int Hosts { get; init; }

    /// <summary>Number of VMs at the start.</summary>
    public required int Vms { get; init; }

    /// <summary>VMs still in the cluster at the end.</summary>
    public required int VmsAtEnd { get; init; }

    /// <summary>Energy, kWh.</summary>
    public required double EnergyKwh { get; init; }

    /// <summary>Migrations started.</summary>
    public required int Migrations { get; init; }

    /// <summary>SLA violation Time per Active Host: share of active-host time in which a host could not serve all requested MIPS.</summary>
    public required double Slatah { get; init; }

    /// <summary>Performance Degradation due to Migrations: MIPS lost to migrations over MIPS requested.</summary>
    public required double Pdm { get; init; }

    /// <summary>SLA violation = SLATAH × PDM.</summary>
    public double Slav => Slatah * Pdm;

    /// <summary>Energy × SLA violation.</summary>
    public double Esv => EnergyKwh * Slav;

    /// <summary>Share of all requested MIPS that was not allocated.</summary>
    public required double OverallSlaViolation { get; init; }

    /// <summary>Mean of (requested − allocated) / requested over (VM, interval) pairs with a shortfall.</summary>
    public required double AverageSlaViolation { get; init; }

    /// <summary>Active → inactive transitions of hosts.</summary>
    public required int HostShutdowns { get; init; }

    /// <summary>Per-tick figures.</summary>
    public required IReadOnlyList<SimulationTick> Ticks { get; init; }

    /// <summary>Mean duration of the migrations started, seconds, under the pre-copy model (null without it).</summary>
    public double? MeanMigrationSeconds { get; init; }

    /// <summary>Mean downtime of the migrations started, milliseconds, under the pre-copy model (null without it).</summary>
    public double? MeanDowntimeMs { get; init; }

    /// <summary>Migrations whose pre-copy did not converge, under the pre-copy model (null without it).</summary>
    public int? UnconvergedMigrations { get; init; }

    /// <summary>Demand its allocation did not cover (null unless <see cref="SimulationModel.DemandBoundByAllocation"/>).</summary>
    public AllocationShortfall? Allocation { get; init; }
}

/// <summary>What VMs' allocations did not cover in a run where demand is bound by allocation.</summary>
/// <param name="ShortVmMinutes">VM-minutes short of CPU or memory (an SLO violation each).</param>
/// <param name="UnservedCoreHours">CPU demand not served, core-hours.</param>
/// <param name="ShortVmMinutesByClass">The short VM-minutes per workload class (VMs without one: "unclassified").</param>
public sealed record AllocationShortfall(double ShortVmMinutes, double UnservedCoreHours, IReadOnlyDictionary<string, double> ShortVmMinutesByClass)
{
    /// <summary>CPU allocated to VMs over the run, core-hours.</summary>
    public double AllocatedCoreHours { get; init; }

    /// <summary>Allocated CPU the VMs did not use: (allocated − used) / allocated, time-weighted, percent.</summary>
    public double CpuSlackPercent { get; init; }
}
