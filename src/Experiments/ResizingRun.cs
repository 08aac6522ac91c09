namespace VmEcosystem.Experiments;

/// <summary>How allocations follow demand in a resizing run.</summary>
public enum ResizingMode
{
    /// <summary>Each VM keeps the allocation of its first hour's peak all day.</summary>
    Static = 0,

    /// <summary>VPA-style: current usage times a margin, applied when usage crosses the policy's thresholds.</summary>
    Reactive = 1,

    /// <summary>This library: the forecast's upper bound at the policy's horizon crosses the thresholds, ahead of the peak.</summary>
    Predictive = 2,

    /// <summary>A reference, not a controller: knows the next samples exactly (the least slack any controller ticking as often can reach).</summary>
    Oracle = 3,
}

/// <summary>Settings of a resizing run (the policy comes separately).</summary>
public sealed record ResizingRunOptions
{
    /// <summary>Cores a trace's 100% CPU means (the VM's size before resizing).</summary>
    public double VmCores { get; init; } = 4;

    /// <summary>MiB a trace's 100% memory means.</summary>
    public double VmMemoryMiB { get; init; } = 8192;

    /// <summary>Cores per host.</summary>
    public double HostCores { get; init; } = 32;

    /// <summary>Memory per host, MiB.</summary>
    public double HostMemoryMiB { get; init; } = 65536;

    /// <summary>Share of a host filled by the VMs' first allocations when they are placed (the rest is room to grow).</summary>
    public double InitialFill { get; init; } = 0.7;

    /// <summary>Time between controller ticks (the traces' interval).</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Time a memory change (hot-plug or balloon) takes to take effect.</summary>
    public TimeSpan HotPlugDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Time a CPU quota change takes to take effect (the allocation is a quota on the VM's vCPUs: cgroup <c>cpu.max</c> applies it within one scheduler period).</summary>
    public TimeSpan QuotaDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The first hour: every mode keeps the static allocation while the forecasters learn.</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The reactive baseline's margin over current usage (VPA's default safety margin is 15%).</summary>
    public double ReactiveMargin { get; init; } = 1.15;

    /// <summary>The per-VM forecaster: <c>ses</c> (level only), <c>holt</c> (linear trend) or <c>damped</c> (damped trend).</summary>
    public string Forecaster { get; init; } = "ses";

    /// <summary>Confidence of the forecast interval whose upper bound the predictive mode sizes for.</summary>
    public double Confidence { get; init; } = 0.9;

    /// <summary>Forecasters re-estimate their parameters every this many ticks (the retraining schedule).</summary>
    public int RetrainEveryTicks { get; init; } = 12;

    /// <summary>How long a rolled-back shrink keeps the VM from shrinking below the restored size.</summary>
    public TimeSpan RollbackMemory { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Share of its memory use the guest keeps when shrunk (what it cannot give back).</summary>
    public double GuestMemoryKeep { get; init; } = 1.05;

    /// <summary>Most changes per host and tick (the executor's limit).</summary>
    public int MaxChangesPerHostTick { get; init; } = 64;

    /// <summary>
    /// Null: VMs are placed first-fit on hosts. Otherwise consecutive VMs form host sets whose sizes cycle through this
    /// list, each under a budget per resource (<see cref="BudgetShare"/>) that resizing stays within.
    /// </summary>
    public IReadOnlyList<int>? HostSetSizes { get; init; }

    /// <summary>A host set's budget per resource, as a share of the set's peak aggregate demand over the day (a quota sized for what the set uses together).</summary>
    public double BudgetShare { get; init; } = 1.0;

    /// <summary>With host sets: VMs lend headroom to VMs of their set when its budget is spent (the policies' loan rules).</summary>
    public bool Borrowing { get; init; }

    /// <summary>How far ahead a host set's aggregate forecast is compared with its budget (a new instance's boot time).</summary>
    public TimeSpan ScaleOutLeadTime { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>A host set whose aggregate forecast stays under this share of its budget for <see cref="ScaleInHold"/> gets a scale-in request.</summary>
    public double ScaleInShare { get; init; } = 0.5;

    /// <summary>How long a host set must stay under <see cref="ScaleInShare"/> before a scale-in request.</summary>
    public TimeSpan ScaleInHold { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>A scale-out request a host set raised during a day.</summary>
/// <param name="HostSet">The set.</param>
/// <param name="RequestedAtSeconds">When (seconds from the day's start).</param>
/// <param name="Instances">How many instances it asked for (its excess over the budget in VMs of the set's mean budget).</param>
/// <param name="FirstViolationSeconds">The set's first SLO-violation minute (null: none), whatever the request (the day does not act on it).</param>
public sealed record ScaleOutEvent(string HostSet, double RequestedAtSeconds, int Instances, double? FirstViolationSeconds);

/// <summary>What one resizing mode did over the day.</summary>
/// <param name="Mode">The mode.</param>
/// <param name="Vms">VMs.</param>
/// <param name="Hosts">Hosts they were placed on.</param>
/// <param name="WithMemory">True when the traces carry memory (then memory is resized and accounted too).</param>
/// <param name="SloViolationMinutes">VM-minutes in which some demand exceeded its allocation.</param>
/// <param name="ViolationMinutesByPriority">The same per priority (critical, standard, bestEffort).</param>
/// <param name="UnservedCoreHours">CPU demand above the allocation, core-hours.</param>
/// <param name="UnservedMemoryGiBHours">Memory demand above the allocation, GiB-hours.</param>
/// <param name="SlackPercent">CPU: (allocated − used) / allocated, time-weighted, in percent.</param>
/// <param name="MemorySlackPercent">The same for memory (NaN without memory).</param>
/// <param name="Resizes">Changes applied (each resource of each VM counts once).</param>
/// <param name="Rollbacks">Shrinks reverted because the VM fell short right after.</param>
/// <param name="PlannerRequests">Grows the host could not hold, handed to the planner instead of overcommitting.</param>
/// <param name="OutOfPolicyMinutes">VM-minutes in which a governed allocation lay outside its rule's [min, max] (a self-check: always 0).</param>
/// <param name="PolicyVersion">The policy set's version.</param>
/// <param name="WallSeconds">Wall-clock time.</param>
public sealed record ResizingRunResult(
    ResizingMode Mode, int Vms, int Hosts, bool WithMemory, long SloViolationMinutes, IReadOnlyDictionary<string, long> ViolationMinutesByPriority,
    double UnservedCoreHours, double UnservedMemoryGiBHours, double SlackPercent, double MemorySlackPercent,
    int Resizes, int Rollbacks, int PlannerRequests, long OutOfPolicyMinutes, string PolicyVersion, double WallSeconds)
{
    /// <summary>Loans opened (with host sets and borrowing).</summary>
    public int Loans { get; init; }

    /// <summary>Minutes of loans, summed over loans.</summary>
    public double LoanMinutes { get; init; }

    /// <summary>Loans returned at once because the lender's use crossed what it had left.</summary>
    public int ForcedReturns { get; init; }

    /// <summary>Lender-ticks in which a lender's allocation lay below its minimum or its forecast's upper bound (a self-check: always 0).</summary>
    public long LenderViolations { get; init; }

    /// <summary>The scale-out requests raised (predictive mode with host sets).</summary>
    public IReadOnlyList<ScaleOutEvent> ScaleOuts { get; init; } = [];

    /// <summary>Scale-in requests raised.</summary>
    public int ScaleInRequests { get; init; }
}
