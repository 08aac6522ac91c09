using VmEcosystem.Cluster;

namespace VmEcosystem.Planning;

/// <summary>One scorer's contribution to a placement's cost.</summary>
/// <param name="Scorer">Scorer name.</param>
/// <param name="RawCost">The scorer's cost in its own unit (watts, seconds, ...).</param>
/// <param name="WeightedCost">The normalised, weighted cost added to the total.</param>
public readonly record struct CostComponent(string Scorer, double RawCost, double WeightedCost);

/// <summary>A target that was considered for a move but not chosen.</summary>
/// <param name="Host">The host.</param>
/// <param name="TotalCost">Its total cost (when it passed every filter).</param>
/// <param name="RejectedBy">The filter or limit that rejected it, or null when it simply cost more.</param>
/// <param name="Costs">Its cost breakdown (empty when a filter rejected it).</param>
public sealed record RejectedAlternative(HostId Host, double TotalCost, string? RejectedBy, IReadOnlyList<CostComponent> Costs);

/// <summary>Why a move was wanted: the evidence that triggered it (for example an overload forecast).</summary>
/// <param name="Kind">What fired (<c>overload</c>, <c>underload</c>, <c>dependency</c>, <c>maintenance</c>, ...).</param>
/// <param name="Detail">Human-readable detail (detector and figures).</param>
/// <param name="PredictedUtilization">Predicted host utilisation that fired the trigger, when there is one.</param>
/// <param name="UpperBound">Upper bound of the forecast interval, when there is one.</param>
/// <param name="Threshold">The threshold it was compared with.</param>
public sealed record TriggerEvidence(string Kind, string Detail, double? PredictedUtilization = null, double? UpperBound = null, double? Threshold = null);

/// <summary>
/// One planned live migration and why: the stage and rule that chose it, the evidence that triggered it, the
/// chosen target's cost breakdown and the alternatives that came close.
/// </summary>
public sealed record MigrationDecision
{
    /// <summary>The VM.</summary>
    public required VmId Vm { get; init; }

    /// <summary>Where it runs now.</summary>
    public required HostId Source { get; init; }

    /// <summary>Where it should go.</summary>
    public required HostId Target { get; init; }

    /// <summary>Index of the VM in the planning state the plan was made from.</summary>
    public required int VmIndex { get; init; }

    /// <summary>Index of the target in the planning state the plan was made from.</summary>
    public required int TargetIndex { get; init; }

    /// <summary>The planning stage that asked for the move (<c>overload</c>, <c>consolidation</c>, ...).</summary>
    public required string Stage { get; init; }

    /// <summary>The rule that chose the target (for example <c>PABFD: least power increase</c>).</summary>
    public required string Rule { get; init; }

    /// <summary>What triggered the move.</summary>
    public required TriggerEvidence Trigger { get; init; }

    /// <summary>Total cost of the chosen target.</summary>
    public double TotalCost { get; init; }

    /// <summary>Cost breakdown of the chosen target.</summary>
    public IReadOnlyList<CostComponent> Costs { get; init; } = [];

    /// <summary>Close alternatives that were not chosen, best first.</summary>
    public IReadOnlyList<RejectedAlternative> Alternatives { get; init; } = [];

    /// <summary>Group id when the move belongs to an all-or-nothing group (a host evacuation, a dependent group).</summary>
    public int? Group { get; init; }
}

/// <summary>The output of one planning pass: an ordered list of moves. Immutable; a dry run stops here.</summary>
public sealed record MigrationPlan
{
    /// <summary>An empty plan.</summary>
    public static MigrationPlan Empty(double time, string policy) => new() { Time = time, Policy = policy, Decisions = [] };

    /// <summary>Time of the planning pass (simulated seconds or Unix seconds).</summary>
    public required double Time { get; init; }

    /// <summary>Name of the policy that made it.</summary>
    public required string Policy { get; init; }

    /// <summary>The moves, in execution order.</summary>
    public required IReadOnlyList<MigrationDecision> Decisions { get; init; }

    /// <summary>Moves that were wanted but blocked (no target, a limit, a cooldown), for explanations.</summary>
    public IReadOnlyList<BlockedMove> Blocked { get; init; } = [];
}

/// <summary>A move the planner wanted but could not make.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Stage">The stage that wanted it.</param>
/// <param name="Reason">Why it was not made.</param>
public sealed record BlockedMove(VmId Vm, string Stage, string Reason);
