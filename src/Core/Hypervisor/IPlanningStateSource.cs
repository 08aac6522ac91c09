using VmEcosystem.Cluster;
using VmEcosystem.Planning;

namespace VmEcosystem.Hypervisor;

/// <summary>
/// A provider capability: it can fill a <see cref="PlanningState"/> directly from its own model (the simulator
/// does: its engine's exact scheduler state and utilisation histories). Without it, the runtime builds the state
/// from inventory and metrics. Optional: a provider that does not implement it is observed through
/// <see cref="IHypervisor.GetInventoryAsync"/> and the metric samples like any other.
/// </summary>
public interface IPlanningStateSource
{
    /// <summary>Fills <paramref name="state"/> with the cluster now; returns the time it describes.</summary>
    Task<DateTimeOffset> CapturePlanningStateAsync(PlanningState state, CancellationToken cancellationToken = default);
}
