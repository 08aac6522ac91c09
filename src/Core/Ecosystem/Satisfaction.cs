using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Ecosystem;

/// <summary>The state of one declared dependency of a VM.</summary>
/// <param name="Kind">Required or preferred.</param>
/// <param name="Spec">The declaration.</param>
/// <param name="Met">True when a matching VM runs close enough.</param>
/// <param name="Candidates">How many VMs match the declaration, wherever they run.</param>
/// <param name="MetBy">How many of them are close enough.</param>
/// <param name="Nearest">The closest matching VM (null when none).</param>
/// <param name="NearestDistance">Its network distance.</param>
/// <param name="Weight">The dependency's weight in the score.</param>
/// <param name="Reason">Why it is (not) met, in words.</param>
public sealed record DependencyStatus(
    DependencyKind Kind,
    DependencySpec Spec,
    bool Met,
    int Candidates,
    int MetBy,
    VmId? Nearest,
    NetworkDistance? NearestDistance,
    double Weight,
    string Reason)
{
    /// <summary>True when no placement can meet it (no VM matches, or the latency bound is below what the topology offers).</summary>
    public bool Impossible => Candidates == 0 || Reason.StartsWith("impossible", StringComparison.Ordinal);
}

/// <summary>
/// A VM's dependency satisfaction: the weighted share of its declared dependencies that are met (1 when it
/// declares none), the best it could reach (impossible dependencies excluded), and each dependency's state.
/// </summary>
public sealed record DependencySatisfaction(
    VmId Vm,
    double Score,
    double Optimum,
    int RequiredMet,
    int RequiredTotal,
    int PreferredMet,
    int PreferredTotal,
    IReadOnlyList<DependencyStatus> Dependencies);

/// <summary>Cluster-wide satisfaction over the VMs that declare dependencies.</summary>
/// <param name="Score">Mean score.</param>
/// <param name="Optimum">Mean of the best reachable scores.</param>
/// <param name="VmsDeclaring">VMs with at least one declared dependency.</param>
/// <param name="RequiredUnmet">Required dependencies not met.</param>
/// <param name="PreferredUnmet">Preferred dependencies not met.</param>
/// <param name="Impossible">Dependencies no placement can meet.</param>
public sealed record ClusterSatisfaction(double Score, double Optimum, int VmsDeclaring, int RequiredUnmet, int PreferredUnmet, int Impossible)
{
    /// <summary>Score as a share of the optimum (1 when nothing is declared).</summary>
    public double OfOptimum => Optimum > 0 ? Score / Optimum : 1;
}

/// <summary>A VM that depends on another, through one declared dependency.</summary>
/// <param name="Vm">The dependent VM.</param>
/// <param name="Kind">Required or preferred.</param>
/// <param name="Spec">The dependency.</param>
/// <param name="MetThroughThis">True when the other VM is close enough to meet it.</param>
/// <param name="OnlyWayMet">True when it is the only VM meeting it (moving or removing it breaks the dependency).</param>
public sealed record Dependent(VmId Vm, DependencyKind Kind, DependencySpec Spec, bool MetThroughThis, bool OnlyWayMet);

/// <summary>What a move or removal would do: per affected VM the score before and after, and what breaks.</summary>
/// <param name="ScoreChanges">VMs whose score changes: before and after.</param>
/// <param name="RequiredBroken">Required dependencies met before and not after (VM and dependency).</param>
/// <param name="ClusterScoreBefore">Cluster score before.</param>
/// <param name="ClusterScoreAfter">Cluster score after.</param>
/// <param name="TransitiveDependents">For removals: every VM that depends on the VM through required dependencies, transitively.</param>
public sealed record ImpactReport(
    IReadOnlyList<(VmId Vm, double Before, double After)> ScoreChanges,
    IReadOnlyList<(VmId Vm, DependencySpec Spec)> RequiredBroken,
    double ClusterScoreBefore,
    double ClusterScoreAfter,
    IReadOnlyList<VmId> TransitiveDependents);
