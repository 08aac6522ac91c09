using System.Globalization;

namespace VmEcosystem.Borrowing;

/// <summary>
/// A host set's budget per resource: a tenant's or a team's share, like a vSphere resource pool with a fixed
/// reservation. Resizing inside the set stays within it; when it is spent, VMs of the set lend each other headroom.
/// A resource left null has no budget.
/// </summary>
public sealed class HostSetBudget
{
    /// <summary>CPU cores (quota) the set's VMs may hold in all.</summary>
    public double? Cores { get; set; }

    /// <summary>Memory, MiB.</summary>
    public double? MemoryMiB { get; set; }

    /// <summary>Disk IOPS limits in all.</summary>
    public double? DiskIops { get; set; }

    /// <summary>Network bandwidth limits in all, Mbit/s.</summary>
    public double? NetworkMbps { get; set; }

    /// <summary>The budget of resource index <paramref name="resource"/> (cpu, memory, disk, network), or null.</summary>
    internal double? Of(int resource) => resource switch { 0 => Cores, 1 => MemoryMiB, 2 => DiskIops, _ => NetworkMbps };
}

/// <summary>
/// Host-set budgets, loans between the VMs of a set, and scale-out (bound from <c>VmEcosystem:Borrowing</c>).
/// Loans follow each policy's <c>loans</c> rule; a scale-out request goes to the registered
/// <see cref="IScaleOutHandler"/> through the executor.
/// </summary>
public sealed class BorrowingOptions
{
    /// <summary>Budgets by host set name (<c>VmEcosystem:Borrowing:Budgets:web:Cores = 16</c>).</summary>
    public Dictionary<string, HostSetBudget> Budgets { get; set; } = new(StringComparer.Ordinal);

    /// <summary>False: budgets only, no loans (resizing stops at the budget).</summary>
    public bool Loans { get; set; } = true;

    /// <summary>How far ahead a set's aggregate forecast is compared with its budget: a new instance's time to boot and join.</summary>
    public TimeSpan ScaleOutLeadTime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A set whose aggregate forecast stays under this share of its budget for <see cref="ScaleInHold"/> gets a scale-in request.</summary>
    public double ScaleInShare { get; set; } = 0.5;

    /// <summary>How long a set must stay under <see cref="ScaleInShare"/> before a scale-in request.</summary>
    public TimeSpan ScaleInHold { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Least time between two scale requests of one set (an instance needs time to join before the next is judged).</summary>
    public TimeSpan ScaleCooldown { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The errors of these options, each naming its setting (empty: valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        const string prefix = "VmEcosystem:Borrowing:";
        var errors = new List<string>();
        foreach (var (set, budget) in Budgets)
        {
            if (string.IsNullOrWhiteSpace(set))
            {
                errors.Add($"{prefix}Budgets: a host set name must not be empty.");
            }

            if (budget is null)
            {
                errors.Add($"{prefix}Budgets:{set} must give at least one of Cores, MemoryMiB, DiskIops, NetworkMbps.");
                continue;
            }

            foreach (var (name, value) in new[] { ("Cores", budget.Cores), ("MemoryMiB", budget.MemoryMiB), ("DiskIops", budget.DiskIops), ("NetworkMbps", budget.NetworkMbps) })
            {
                if (value is { } v && !(v > 0 && double.IsFinite(v)))
                {
                    errors.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}Budgets:{set}:{name} must be a positive number; got {v}."));
                }
            }

            if (budget.Cores is null && budget.MemoryMiB is null && budget.DiskIops is null && budget.NetworkMbps is null)
            {
                errors.Add($"{prefix}Budgets:{set} must give at least one of Cores, MemoryMiB, DiskIops, NetworkMbps.");
            }
        }

        if (ScaleOutLeadTime <= TimeSpan.Zero || ScaleOutLeadTime > TimeSpan.FromDays(1))
        {
            errors.Add($"{prefix}ScaleOutLeadTime must be within (0, 1 day]; got {ScaleOutLeadTime}.");
        }

        if (!(ScaleInShare is >= 0 and < 1))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}ScaleInShare must be within [0, 1); got {ScaleInShare}."));
        }

        if (ScaleInHold <= TimeSpan.Zero)
        {
            errors.Add($"{prefix}ScaleInHold must be positive; got {ScaleInHold}.");
        }

        if (ScaleCooldown < TimeSpan.Zero)
        {
            errors.Add($"{prefix}ScaleCooldown must not be negative; got {ScaleCooldown}.");
        }

        return errors;
    }
}
