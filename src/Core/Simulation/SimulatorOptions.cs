namespace VmEcosystem.Simulation;

/// <summary>Settings of the built-in simulator provider (<c>builder.UseSimulator(...)</c>).</summary>
public sealed class SimulatorOptions
{
    /// <summary>A folder of PlanetLab trace files (one per VM); when null, VMs follow the synthetic generator.</summary>
    public string? TraceDirectory { get; set; }

    /// <summary>Order in which trace files become VMs.</summary>
    public TraceOrder TraceOrder { get; set; } = TraceOrder.Sorted;

    /// <summary>Synthetic generator settings (used when <see cref="TraceDirectory"/> is null).</summary>
    public SyntheticWorkloadOptions Synthetic { get; set; } = new();

    /// <summary>Number of hosts (CloudSim's G4/G5 pair, alternating).</summary>
    public int HostCount { get; set; } = CloudSimScenario.DefaultHostCount;

    /// <summary>Reproduce CloudSim 3.0.3's model exactly (including its quirks) instead of the default physics.</summary>
    public bool CloudSimCompatible { get; set; }

    /// <summary>
    /// Allocations separate from demand (<see cref="SimulationModel.DemandBoundByAllocation"/>): a resized VM keeps
    /// its demand, and demand above its allocation is unserved and counted (<see cref="SimulationSummary.Allocation"/>).
    /// Not with <see cref="CloudSimCompatible"/>.
    /// </summary>
    public bool DemandBoundByAllocation { get; set; }

    /// <summary>How long a hot-plug takes to take effect (<see cref="SimulationModel.HotPlugDelaySeconds"/>).</summary>
    public TimeSpan HotPlugDelay { get; set; }

    /// <summary>How VMs are placed at the start.</summary>
    public InitialPlacementStrategy InitialPlacement { get; set; } = InitialPlacementStrategy.PowerAwareBestFit;

    /// <summary>Refuse migrations whose target lacks the VM's memory (CloudSim never checks after t = 0).</summary>
    public bool EnforceMemoryOnMigration { get; set; } = true;

    /// <summary>Probability that a migration fails at its end (the VM stays on the source); seeded by <see cref="Seed"/>.</summary>
    public double MigrationFailureProbability { get; set; }

    /// <summary>Seed of the simulator's random choices (synthetic traces use <see cref="SyntheticWorkloadOptions.Seed"/>).</summary>
    public int Seed { get; set; } = 42;

    /// <summary>
    /// Splits the hosts into this many host sets in the inventory (<c>set-01</c>, ... in contiguous blocks), as a
    /// provider reports clusters or resource pools; 0 (default): no host sets. At most the host count.
    /// </summary>
    public int HostSets { get; set; }

    /// <summary>A custom scenario; overrides traces, synthetic settings and host count.</summary>
    public Func<SimulationScenario>? Scenario { get; set; }

    /// <summary>Builds the scenario these options describe.</summary>
    /// <exception cref="TraceFormatException">The trace folder is missing or malformed.</exception>
    public SimulationScenario BuildScenario()
    {
        if (Scenario is not null)
        {
            return Scenario();
        }

        var model = CloudSimCompatible ? SimulationModel.CloudSimCompatible : SimulationModel.Realistic;
        if (DemandBoundByAllocation || HotPlugDelay > TimeSpan.Zero)
        {
            if (CloudSimCompatible)
            {
                throw new ArgumentException("VmEcosystem:Simulator:DemandBoundByAllocation and HotPlugDelay do not apply to the CloudSim-compatible model.");
            }

            model = model with { DemandBoundByAllocation = DemandBoundByAllocation, HotPlugDelaySeconds = HotPlugDelay.TotalSeconds };
        }

        if (TraceDirectory is not null)
        {
            var traces = PlanetLabTraces.ReadFolder(TraceDirectory, TraceOrder);
            return CloudSimScenario.Create(traces, model, HostCount, $"planetlab:{Path.GetFileName(Path.TrimEndingDirectorySeparator(TraceDirectory))}");
        }

        var synthetic = SyntheticWorkload.Generate(Synthetic);
        return CloudSimScenario.Create(synthetic, model, HostCount, $"synthetic:{Synthetic.VmCount}vms-seed{Synthetic.Seed}");
    }
}
