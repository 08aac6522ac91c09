using VmEcosystem.Reservations;

namespace VmEcosystem.Policies;

/// <summary>A resource a resizing policy governs, in its unit.</summary>
public enum PolicyResource
{
    /// <summary>CPU in cores: the VM's CPU quota (fractional), with its vCPUs hot-plugged to the quota rounded up.</summary>
    Cpu = 0,

    /// <summary>Memory, MiB (hot-plug, balloon).</summary>
    Memory = 1,

    /// <summary>Disk I/O operations per second (limits).</summary>
    DiskIops = 2,

    /// <summary>Network bandwidth, Mbit/s (limits).</summary>
    NetworkMbps = 3,
}

/// <summary>Which VMs a policy applies to: every criterion given must hold (none given: every VM).</summary>
/// <param name="Names">VM names; <c>*</c> matches any run of characters (<c>web-*</c>).</param>
/// <param name="Labels">Labels the VM must carry with these values.</param>
/// <param name="HostSet">The host set the VM runs in.</param>
/// <param name="WorkloadClass">The VM's workload class (<c>idle</c>, <c>steady</c>, <c>bursty</c>, or the application's).</param>
public sealed record PolicySelector(
    IReadOnlyList<string>? Names = null, IReadOnlyDictionary<string, string>? Labels = null, string? HostSet = null, string? WorkloadClass = null)
{
    /// <summary>
    /// How specific the selector is; of two policies that both match a VM and both govern a resource, the more
    /// specific one's rule applies: exact names 1000, name patterns 500, each label 100, a host set 10, a workload
    /// class 1.
    /// </summary>
    public int Specificity =>
        (Names is { Count: > 0 } n ? (n.All(x => !x.Contains('*', StringComparison.Ordinal)) ? 1000 : 500) : 0)
        + (100 * (Labels?.Count ?? 0)) + (HostSet is null ? 0 : 10) + (WorkloadClass is null ? 0 : 1);

    /// <summary>True when <paramref name="vm"/> meets every criterion.</summary>
    public bool Matches(in PolicySubject vm)
    {
        if (Names is { Count: > 0 } names && !AnyName(names, vm.Name))
        {
            return false;
        }

        if (Labels is { Count: > 0 } labels)
        {
            foreach (var (key, value) in labels)
            {
                if (vm.Labels is null || !vm.Labels.TryGetValue(key, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
                {
                    return false;
                }
            }
        }

        return (HostSet is null || string.Equals(HostSet, vm.HostSet, StringComparison.Ordinal))
            && (WorkloadClass is null || string.Equals(WorkloadClass, vm.WorkloadClass, StringComparison.Ordinal));
    }

    private static bool AnyName(IReadOnlyList<string> patterns, string name)
    {
        foreach (var p in patterns)
        {
            if (Glob(p, name))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Glob(string pattern, string text)
    {
        int star = pattern.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            return string.Equals(pattern, text, StringComparison.Ordinal);
        }

        // Split on '*' and match the pieces in order, anchored at both ends.
        var parts = pattern.Split('*');
        if (!text.StartsWith(parts[0], StringComparison.Ordinal) || !text.EndsWith(parts[^1], StringComparison.Ordinal)
            || text.Length < parts[0].Length + parts[^1].Length)
        {
            return false;
        }

        int at = parts[0].Length, end = text.Length - parts[^1].Length;
        for (int i = 1; i < parts.Length - 1; i++)
        {
            int found = text.IndexOf(parts[i], at, StringComparison.Ordinal);
            if (found < 0 || found + parts[i].Length > end)
            {
                return false;
            }

            at = found + parts[i].Length;
        }

        return true;
    }
}

/// <summary>What a policy selector looks at on a VM.</summary>
/// <param name="Name">The VM's name.</param>
/// <param name="Labels">Its labels.</param>
/// <param name="HostSet">Its host set (null: none).</param>
/// <param name="WorkloadClass">Its workload class (null: unknown).</param>
public readonly record struct PolicySubject(string Name, IReadOnlyDictionary<string, string>? Labels, string? HostSet, string? WorkloadClass);

/// <summary>How one resource of a VM is resized.</summary>
/// <param name="GrowAbove">Grow when the forecast's upper bound at the horizon exceeds this share of the allocation.</param>
/// <param name="ShrinkBelow">Shrink when the upper bound stays under this share of the allocation for <paramref name="ShrinkHold"/>.</param>
/// <param name="ShrinkHold">How long demand must stay low before a shrink.</param>
/// <param name="Min">Least allocation, in the resource's unit.</param>
/// <param name="Max">Most allocation, in the resource's unit.</param>
/// <param name="Step">Size of one change, in the resource's unit.</param>
/// <param name="Cooldown">Least time between two changes of this resource of one VM.</param>
/// <param name="CostPerUnit">Cost of one unit (what "the lowest cost per unit of performance gained" weighs).</param>
public sealed record ResourceRule(
    double GrowAbove, double ShrinkBelow, TimeSpan ShrinkHold, double Min, double Max, double Step, TimeSpan Cooldown, double CostPerUnit)
{
    /// <summary>
    /// This resource's forecast horizon, instead of the policy's (null: the policy's). A resource whose changes take
    /// time to take effect (memory hot-plug) looks further ahead: the horizon should cover the controller's interval
    /// plus that delay.
    /// </summary>
    public TimeSpan? Horizon { get; init; }
}

/// <summary>One resizing policy: which VMs, their priority, the forecast horizon, and a rule per resource governed.</summary>
/// <param name="Name">Unique name (decisions record it with the policy set's version).</param>
/// <param name="Select">Which VMs.</param>
/// <param name="Priority">Critical VMs are served first and shrunk last.</param>
/// <param name="Horizon">How far ahead the forecast looks (grow ahead of the peak by at least the hot-plug's delay).</param>
/// <param name="Rules">A rule per resource governed.</param>
public sealed record ResizePolicy(string Name, PolicySelector Select, SloPriority Priority, TimeSpan Horizon, IReadOnlyDictionary<PolicyResource, ResourceRule> Rules)
{
    /// <summary>
    /// An application indicator as a trigger: when the forecast of the VM's application latency (its upper bound at
    /// the horizon) passes this many milliseconds, its CPU grows by a step and is not shrunk, whatever its use says
    /// (null: latency does not trigger).
    /// </summary>
    public double? LatencyAboveMs { get; init; }

    /// <summary>
    /// An application indicator as a sizing input: the transactions (requests) per second one core serves. The
    /// forecast of the VM's application throughput (its upper bound at the horizon) divided by this is a CPU demand
    /// in cores, sized for like the measured use when it is higher (the way an autoscaler targets requests per second
    /// per replica). Null: throughput does not size CPU.
    /// </summary>
    public double? ThroughputPerCore { get; init; }

    /// <summary>What the selected VMs may lend to and borrow from VMs of their host set (null: the defaults of <see cref="LoanRule.Default"/>).</summary>
    public LoanRule? Loans { get; init; }
}

/// <summary>
/// How much a VM may lend to, and borrow from, the VMs of its host set when the set's budget is spent. A lender
/// never lends below <c>max(min, forecast upper bound × (1 + <paramref name="LenderMargin"/>))</c> of any resource.
/// </summary>
/// <param name="MaxLendShare">Most of its allocation a VM may have lent out at once (0: it never lends).</param>
/// <param name="MaxBorrowShare">Most it may borrow at once, as a share of its allocation before borrowing.</param>
/// <param name="MaxDuration">Longest a loan lasts before it is returned.</param>
/// <param name="LenderMargin">Margin over the lender's forecast upper bound (and over its current use) it always keeps.</param>
public sealed record LoanRule(double MaxLendShare, double MaxBorrowShare, TimeSpan MaxDuration, double LenderMargin)
{
    /// <summary>Half the allocation lent at most, as much as the own allocation borrowed, 30 minutes, 10 % margin.</summary>
    public static LoanRule Default { get; } = new(0.5, 1.0, TimeSpan.FromMinutes(30), 0.1);
}
