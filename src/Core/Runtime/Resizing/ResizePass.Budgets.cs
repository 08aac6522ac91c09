using VmEcosystem.Borrowing;
using VmEcosystem.Cluster;
using VmEcosystem.Policies;

namespace VmEcosystem.Runtime;

/// <summary>A resizing pass's room (hosts' free capacity and host-set budgets), the changes it grants per VM, and the loan parties it offers the loan planner.</summary>
internal sealed partial class ResizePass
{
    private readonly Dictionary<VmId, Seen> _seen = [];
    private readonly Dictionary<VmId, (VmSizes Sizes, List<string> Reasons)> _granted = [];
    private readonly Dictionary<(string Set, int Resource), double> _budgetLeft = [];

    /// <summary>What the controller saw of a governed VM this pass.</summary>
    internal sealed record Seen(VmInfo Vm, HostInfo Host, EffectivePolicy Policy, VmResizeState State, VmSizes Observed, double[]? Usage);

    /// <summary>Where adjustments go when they travel over the message transport (null: straight to the provider).</summary>
    public AdjustmentSender? Sender { get; init; }

    private void AddAdjustments(AdjustmentSender sender, VmInfo vm, HostInfo host, VmSizes current, VmSizes asked, bool cpu, string reason, bool restores)
    {
        if (cpu)
        {
            _actions.Add(new AdjustAction(vm.Id, host.Id, PolicyResource.Cpu, asked.Cores, reason) { Sender = sender, Restores = restores });
        }

        if (Math.Abs(asked.MemoryMiB - current.MemoryMiB) > 1e-6)
        {
            _actions.Add(new AdjustAction(vm.Id, host.Id, PolicyResource.Memory, asked.MemoryMiB, reason) { Sender = sender, Restores = restores });
        }

        if (!VmSizes.SameLimit(asked.DiskIops, current.DiskIops) && double.IsFinite(asked.DiskIops))
        {
            _actions.Add(new AdjustAction(vm.Id, host.Id, PolicyResource.DiskIops, asked.DiskIops, reason) { Sender = sender, Restores = restores });
        }

        if (!VmSizes.SameLimit(asked.NetworkMbps, current.NetworkMbps) && double.IsFinite(asked.NetworkMbps))
        {
            _actions.Add(new AdjustAction(vm.Id, host.Id, PolicyResource.NetworkMbps, asked.NetworkMbps, reason) { Sender = sender, Restores = restores });
        }
    }

    /// <summary>Host-set budgets (null: none).</summary>
    public BorrowingOptions? Budgets { get; init; }

    /// <summary>Grows the budget could not give this pass, by VM and resource: what a loan may serve.</summary>
    public Dictionary<(VmId Vm, int Resource), double> BudgetNeeds { get; } = [];

    /// <summary>The (VM, resource) pairs that lend now: not resized while they lend (a rise in their forecast returns the loan first).</summary>
    public HashSet<(VmId Vm, int Resource)> Lending { get; init; } = [];

    /// <summary>The (VM, resource) pairs that borrow now: they only grow (when they need less, their loans go back first).</summary>
    public HashSet<(VmId Vm, int Resource)> Borrowing { get; init; } = [];

    /// <summary>The governed VMs seen this pass.</summary>
    public IReadOnlyDictionary<VmId, Seen> SeenVms => _seen;

    /// <summary>The budget of <paramref name="set"/> for <paramref name="resource"/>, or null.</summary>
    public double? BudgetOf(string? set, int resource) =>
        set is not null && Budgets?.Budgets.TryGetValue(set, out var b) == true ? b?.Of(resource) : null;

    /// <summary>A VM's sizes with what this pass granted it so far.</summary>
    public VmSizes Current(VmId vm) => _granted.TryGetValue(vm, out var g) ? g.Sizes : _seen[vm].Observed;

    /// <summary>Sets a resource of a VM to <paramref name="value"/> this pass, with the reason (one action per VM at the end).</summary>
    public void Change(VmId vm, int resource, double value, string reason)
    {
        var entry = _granted.TryGetValue(vm, out var e) ? e : (Sizes: _seen[vm].Observed, Reasons: new List<string>());
        _granted[vm] = (entry.Sizes.With(resource, value), entry.Reasons);
        entry.Reasons.Add(reason);
    }

    private double Free(HostInfo host, int resource, Dictionary<VmId, VmResizeState> states)
    {
        double capacity = resource switch
        {
            ResizingController.Cpu => host.Capacity.CpuCores,
            ResizingController.Memory => host.Capacity.MemoryMiB,
            ResizingController.Disk => host.Capacity.DiskIops,
            _ => host.Capacity.NetworkMbps,
        };
        if (resource >= ResizingController.Disk && !(capacity > 0))
        {
            return double.PositiveInfinity; // the host's disk or link capacity is not known: limits are the only bound
        }

        double used = 0;
        foreach (var vm in _inventory.Vms)
        {
            if (_hostOf.TryGetValue(vm.Id, out var h) && h == host.Id)
            {
                used += Allocated(vm, resource, states.GetValueOrDefault(vm.Id));
            }
        }

        return capacity - used;
    }

    // What a VM holds of a resource: its CPU quota in cores (its vCPUs without one), its memory, its disk or link limit.
    private double Allocated(VmInfo vm, int resource, VmResizeState? s) => resource switch
    {
        ResizingController.Cpu => s?.QuotaCores is { } q ? Math.Min(q, vm.Allocation.CpuCores) : vm.Allocation.CpuCores,
        ResizingController.Memory => vm.Allocation.MemoryMiB,
        _ => Limited(vm, resource, s),
    };

    // A VM's share of the host's disk or link: its limit, or what it uses when it has none.
    private double Limited(VmInfo vm, int resource, VmResizeState? state)
    {
        double limit = state?.Limits is { } l ? (resource == ResizingController.Disk ? l.DiskIops : l.NetworkMbps) : double.PositiveInfinity;
        if (double.IsFinite(limit))
        {
            return limit;
        }

        return _samples.TryGetValue(vm.Id, out var s) ? (resource == ResizingController.Disk ? s.DiskReadIops + s.DiskWriteIops : s.NetworkRxMbps + s.NetworkTxMbps) : 0;
    }

    // Unallocated budget of the host's set (+∞ without one): the budget less what the set's VMs hold, on every host.
    private double BudgetFree(HostInfo host, int resource, Dictionary<VmId, VmResizeState> states)
    {
        string? set = host.HostSet?.Value;
        if (BudgetOf(set, resource) is not { } budget)
        {
            return double.PositiveInfinity;
        }

        if (!_budgetLeft.TryGetValue((set!, resource), out double left))
        {
            left = budget;
            foreach (var vm in _inventory.Vms)
            {
                if (HostOf(vm.Id) is { } h && h.HostSet?.Value == set)
                {
                    left -= Allocated(vm, resource, states.GetValueOrDefault(vm.Id));
                }
            }

            _budgetLeft[(set!, resource)] = left;
        }

        return left;
    }

    private void ConsumeBudget(HostInfo host, int resource, double delta)
    {
        if (host.HostSet?.Value is { } set && _budgetLeft.TryGetValue((set, resource), out double left))
        {
            _budgetLeft[(set, resource)] = left - delta;
        }
    }

    /// <summary>
    /// The loan planner's view of every governed VM of a budgeted set for one resource, indexed as the loan book
    /// indexes them. A VM takes part once its sizes are settled (no change of an earlier pass still showing, no rollback)
    /// and its forecast is known; a borrower needs what the budget could not give it this pass.
    /// </summary>
    public Dictionary<string, List<int>> Parties(int resource, LoanBook book, ref LoanParty[] parties)
    {
        var sets = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        Array.Clear(parties); // a VM not seen this pass has no rule: its loans end
        foreach (var (id, seen) in _seen)
        {
            int i = book.IndexOf(id);
            if (i >= parties.Length)
            {
                Array.Resize(ref parties, Math.Max(i + 1, parties.Length * 2));
            }

            string? set = seen.Host.HostSet?.Value;
            bool governed = BudgetOf(set, resource) is not null && seen.Policy.Rules.TryGetValue(Resources[resource], out _);
            if (!governed)
            {
                parties[i] = default;
                continue;
            }

            var rule = seen.Policy.Rules[Resources[resource]].Rule;
            double upper = seen.State.Upper[resource];
            parties[i] = new LoanParty
            {
                Allocation = Current(id)[resource],
                Usage = seen.Usage?[resource] ?? double.NaN,
                Upper = upper,
                Min = rule.Min,
                Max = Math.Min(rule.Max, Ceiling(seen.Vm, resource, seen.Observed) ?? rule.Max),
                Step = rule.Step,
                GrowAbove = rule.GrowAbove,
                Need = BudgetNeeds.GetValueOrDefault((id, resource)),
                Priority = seen.Policy.Priority,
                Rule = seen.Policy.Loans,
                Eligible = seen.Usage is not null && !double.IsNaN(upper) && double.IsFinite(Current(id)[resource])
                    && seen.State.Outstanding is null && seen.State.RollbackTo is null,
            };
            if (!sets.TryGetValue(set!, out var members))
            {
                sets[set!] = members = [];
            }

            members.Add(i);
        }

        return sets;
    }
}
