using VmEcosystem.Cluster;
using VmEcosystem.Policies;

namespace VmEcosystem.Borrowing;

/// <summary>
/// What the embedding platform does when a host set needs more instances, or fewer: start a new instance of the
/// service (a VM, a container group), or retire one. Called through the runtime's executor (its modes, limits and
/// audit); a handler that throws fails the action, which is audited and asked again after the cooldown.
/// </summary>
public interface IScaleOutHandler
{
    /// <summary>Adds instances to a host set; returns the VMs it created (they join the inventory as they start).</summary>
    Task<ScaleResult> ScaleOutAsync(ScaleOutRequest request, CancellationToken cancellationToken);

    /// <summary>Removes instances from a host set; returns the VMs it removed.</summary>
    Task<ScaleResult> ScaleInAsync(ScaleInRequest request, CancellationToken cancellationToken);
}

/// <summary>A host set's demand will exceed what resizing and loans can give within its budget.</summary>
/// <param name="HostSet">The set.</param>
/// <param name="Service">The service its VMs run (their <c>service</c> label when they share one), or null.</param>
/// <param name="Instances">How many instances: the excess over the budget, in VMs of the set's mean budget share.</param>
/// <param name="Reason">Why, with the forecast and the budget.</param>
/// <param name="By">When the new instances are needed: the forecast crosses the budget then.</param>
/// <param name="Template">A VM of the set a new instance can be made like (same labels and sizes).</param>
public sealed record ScaleOutRequest(string HostSet, string? Service, int Instances, string Reason, DateTimeOffset By, VmId Template);

/// <summary>A host set has stayed well under its budget: it can give instances back.</summary>
/// <param name="HostSet">The set.</param>
/// <param name="Service">The service its VMs run, or null.</param>
/// <param name="Instances">How many instances it could lose.</param>
/// <param name="Reason">Why.</param>
/// <param name="Candidates">VMs to remove, the least used first (instances a scale-out added come first).</param>
public sealed record ScaleInRequest(string HostSet, string? Service, int Instances, string Reason, IReadOnlyList<VmId> Candidates);

/// <summary>What a scale-out or scale-in did.</summary>
/// <param name="Vms">The VMs created or removed.</param>
/// <param name="Message">One line for the audit trail.</param>
public sealed record ScaleResult(IReadOnlyList<VmId> Vms, string Message);

/// <summary>One open loan of headroom between two VMs of a host set.</summary>
/// <param name="Id">Unique, increasing.</param>
/// <param name="HostSet">The set.</param>
/// <param name="Lender">Who gave.</param>
/// <param name="Borrower">Who got.</param>
/// <param name="Resource">Which resource.</param>
/// <param name="Amount">How much, in the resource's unit (cores, MiB, IOPS, Mbit/s).</param>
/// <param name="Start">When it opened.</param>
/// <param name="Due">When it is returned at the latest.</param>
public sealed record LoanInfo(long Id, string HostSet, VmId Lender, VmId Borrower, PolicyResource Resource, double Amount, DateTimeOffset Start, DateTimeOffset Due);

/// <summary>The loans open now (registered by <c>UseHostSetBudgets</c>).</summary>
public interface IHostSetLoans
{
    /// <summary>Open loans, oldest first.</summary>
    IReadOnlyList<LoanInfo> Open { get; }
}
