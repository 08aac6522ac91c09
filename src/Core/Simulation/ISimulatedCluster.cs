namespace VmEcosystem.Simulation;

/// <summary>
/// What the simulator provider offers beyond the hypervisor contract: the scenario, the simulated time and the
/// figures (energy, migrations, SLA) of the run. Registered by <c>UseSimulator</c>.
/// </summary>
public interface ISimulatedCluster
{
    /// <summary>The scenario being simulated.</summary>
    SimulationScenario Scenario { get; }

    /// <summary>The clock time of the scenario's last tick.</summary>
    DateTimeOffset EndsAt { get; }

    /// <summary>Simulated seconds since the scenario's start.</summary>
    double NowSeconds { get; }

    /// <summary>The figures so far.</summary>
    SimulationSummary Summary();

    /// <summary>Completes the migrations still running after the last tick and returns the final figures.</summary>
    SimulationSummary Finish();
}
