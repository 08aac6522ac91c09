using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Ecosystem.Graph;

/// <summary>
/// The ecosystem graph at one version, immutable: readers (an HTTP API, a dashboard, a report) hold it while the
/// runtime keeps changing the live graph. Taken with <see cref="EcosystemGraph.Snapshot()"/>.
/// </summary>
/// <param name="Version">The graph's <see cref="EcosystemGraph.Version"/> when taken.</param>
/// <param name="Cluster">Cluster-wide satisfaction.</param>
/// <param name="Vms">Every VM in the graph with its host and, when it declares dependencies, its satisfaction.</param>
/// <param name="Declarations">The declarations in force (including those of VMs not in the inventory yet).</param>
public sealed record EcosystemSnapshot(
    long Version,
    ClusterSatisfaction Cluster,
    IReadOnlyList<VmEcosystemState> Vms,
    IReadOnlyList<VmDeclaration> Declarations)
{
    /// <summary>An empty graph.</summary>
    public static EcosystemSnapshot Empty { get; } = new(0, new ClusterSatisfaction(1, 1, 0, 0, 0, 0), [], []);

    /// <summary>The VM's state, or null when it is not in the graph.</summary>
    public VmEcosystemState? Find(VmId vm)
    {
        foreach (var v in Vms)
        {
            if (v.Vm == vm)
            {
                return v;
            }
        }

        return null;
    }
}

/// <summary>One VM in an <see cref="EcosystemSnapshot"/>.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Name">Its name (what declarations refer to).</param>
/// <param name="Host">Where it runs (null: not placed).</param>
/// <param name="Score">Its dependency satisfaction (1 when it declares nothing).</param>
/// <param name="Satisfaction">Each declared dependency's state (null when it declares nothing).</param>
public sealed record VmEcosystemState(VmId Vm, string Name, HostId? Host, double Score, DependencySatisfaction? Satisfaction);
