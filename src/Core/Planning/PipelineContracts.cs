namespace VmEcosystem.Planning;

/// <summary>
/// A stage of the planner pipeline: decides which VMs should move (overload relief, consolidation, dependency
/// repair, maintenance evacuation, ...) and asks the pass to find and commit targets for them.
/// </summary>
public interface IPlanningStage
{
    /// <summary>Stage name, used in explanations.</summary>
    string Name { get; }

    /// <summary>Runs the stage on the pass.</summary>
    void Run(PlanningPass pass);
}

/// <summary>A hard constraint on placing a VM on a host. Filters run in order; the first rejection wins.</summary>
public interface IPlacementFilter
{
    /// <summary>Filter name, used in explanations.</summary>
    string Name { get; }

    /// <summary>True when <paramref name="vm"/> may go to <paramref name="host"/>.</summary>
    bool Accepts(PlanningPass pass, int vm, int host);
}

/// <summary>
/// A soft preference between hosts that passed every filter: a cost, lower is better. The pipeline adds
/// <c>Weight × Cost / Scale</c> over its scorers, so <see cref="Scale"/> normalises a scorer's natural unit
/// (watts, seconds, ...) to "one typical unit of badness".
/// </summary>
public interface IPlacementScorer
{
    /// <summary>Scorer name, used in explanations.</summary>
    string Name { get; }

    /// <summary>Relative importance.</summary>
    double Weight { get; }

    /// <summary>The cost that counts as 1.0 after normalisation.</summary>
    double Scale { get; }

    /// <summary>Cost of putting <paramref name="vm"/> on <paramref name="host"/>, in the scorer's own unit.</summary>
    double Cost(PlanningPass pass, int vm, int host);
}

/// <summary>A limit on moves regardless of target quality: concurrency, cooldowns, hysteresis, rate.</summary>
public interface IMigrationLimit
{
    /// <summary>Limit name, used in explanations.</summary>
    string Name { get; }

    /// <summary>Whether <paramref name="vm"/> may move at all in this pass (checked once per VM).</summary>
    bool AllowsVm(PlanningPass pass, int vm);

    /// <summary>Whether <paramref name="vm"/> may move from <paramref name="source"/> to <paramref name="target"/>.</summary>
    bool AllowsMove(PlanningPass pass, int vm, int source, int target);

    /// <summary>Records a committed move (so later checks in the pass see it).</summary>
    void OnCommitted(PlanningPass pass, int vm, int source, int target);

    /// <summary>Records that a committed move was rolled back within the pass.</summary>
    void OnUncommitted(PlanningPass pass, int vm, int source, int target);
}

/// <summary>Decides whether a host is (or would become) overloaded. CloudSim's THR/IQR/MAD/LR/LRR and the predictive detector implement it.</summary>
public interface IOverloadDetector
{
    /// <summary>Detector name, for explanations.</summary>
    string Name { get; }

    /// <summary>True when the host counts as overloaded now.</summary>
    bool IsOverloaded(PlanningState state, int host);

    /// <summary>True when the host would count as overloaded with <paramref name="vm"/> appended to it.</summary>
    bool IsOverloadedWith(PlanningState state, int host, int vm);

    /// <summary>The evidence behind the host's verdict, for explanations (not on the hot path).</summary>
    TriggerEvidence Explain(PlanningState state, int host);
}

/// <summary>Picks the next VM to move off an overloaded host.</summary>
public interface IVmSelector
{
    /// <summary>Selector name, for explanations.</summary>
    string Name { get; }

    /// <summary>Index of the VM to move, or -1 when none can move.</summary>
    int SelectVm(PlanningPass pass, int host);
}

/// <summary>
/// A per-pass helper (see <see cref="PlanningPass.Feature{T}"/>) that must follow tentative moves, such as the
/// predicted load of every host.
/// </summary>
public interface IPlanningPassObserver
{
    /// <summary>A move was committed.</summary>
    void OnCommitted(PlanningPass pass, int vm, int source, int target);

    /// <summary>A committed move was rolled back.</summary>
    void OnRolledBack(PlanningPass pass, int vm, int source, int target);
}
