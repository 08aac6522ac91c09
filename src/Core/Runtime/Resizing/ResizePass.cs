using System.Globalization;
using VmEcosystem.Adjustment;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Policies;

namespace VmEcosystem.Runtime;

/// <summary>One pass of the resizing controller: what it observed, what it proposes, and the actions that carry it out.</summary>
internal sealed partial class ResizePass
{
    private static readonly PolicyResource[] Resources = [PolicyResource.Cpu, PolicyResource.Memory, PolicyResource.DiskIops, PolicyResource.NetworkMbps];
    private readonly ControllerContext _context;
    private readonly InventorySnapshot _inventory;
    private readonly Dictionary<VmId, HostId> _hostOf = [];
    private readonly Dictionary<VmId, VmMetricSample> _samples = [];
    private readonly PolicySet _set;
    private readonly HypervisorCapabilities _caps;
    private readonly List<Proposal> _proposals = [];
    private readonly List<ClusterAction> _actions = [];

    public ResizePass(ControllerContext context, InventorySnapshot inventory, IReadOnlyList<VmMetricSample> samples, PolicySet set, ResizingOptions options, long number)
    {
        _context = context;
        _inventory = inventory;
        _set = set;
        _caps = context.Hypervisor.Capabilities;
        Options = options;
        Number = number;
        Seconds = (context.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).TotalSeconds;
        foreach (var p in inventory.Placements)
        {
            _hostOf[p.Vm] = p.Host;
        }

        foreach (var s in samples)
        {
            _samples[s.Vm] = s;
        }
    }

    public ResizingOptions Options { get; }

    public long Number { get; }

    /// <summary>Now, seconds since the Unix epoch on the runtime's clock (the advisor's time).</summary>
    public double Seconds { get; }

    public int Rollbacks { get; private set; }

    public HostInfo? HostOf(VmId vm) => _hostOf.TryGetValue(vm, out var h) && _inventory.TryGetHost(h, out var host) ? host : null;

    public bool Exists(VmId vm) => _hostOf.ContainsKey(vm);

    /// <summary>Notes what the controller saw of a governed VM this pass (its sizes, use and policy): loans and actions start from it.</summary>
    public void Saw(VmInfo vm, HostInfo host, EffectivePolicy policy, VmResizeState state, VmSizes observed, double[]? usage) =>
        _seen[vm.Id] = new Seen(vm, host, policy, state, observed, usage);

    public PolicySubject Subject(VmInfo vm, HostInfo host) => new(vm.Name, vm.Labels, host.HostSet?.Value, vm.Profile.WorkloadClass);

    /// <summary>
    /// The VM's sizes now; its controls (CPU quota, disk and network limits) are read back from the provider while a
    /// proposal is outstanding, and once when its policy governs a limit the controller has not read yet.
    /// </summary>
    public async Task<VmSizes> ObserveAsync(VmInfo vm, VmResizeState state, EffectivePolicy policy, CancellationToken cancellationToken)
    {
        int vcpus = Math.Max(1, (int)Math.Round(vm.Allocation.CpuCores));
        bool limits = GovernsLimits(policy);
        bool quota = _caps.HasFlag(HypervisorCapabilities.CpuQuota);
        // Read on first sight too: a restarted controller must not take a VM's quota for none (its loans are reconciled on it).
        if ((state.Outstanding is not null && (quota || limits)) || (limits && state.Limits is null) || (quota && !state.ControlsRead))
        {
            var controls = await _context.CallAsync("GetResourceControls", (h, ct) => h.GetResourceControlsAsync(vm.Id, ct), cancellationToken).ConfigureAwait(false);
            state.ControlsRead = true;
            if (quota)
            {
                state.QuotaCores = controls.CpuQuota is { } share && double.IsFinite(share) ? share * vcpus : null;
            }

            state.Limits = (controls.DiskIopsLimit ?? double.PositiveInfinity, controls.NetworkBandwidthLimitMbps ?? double.PositiveInfinity);
        }

        double cores = state.QuotaCores is { } q ? Math.Min(q, vcpus) : vcpus;
        var (disk, network) = state.Limits ?? (double.PositiveInfinity, double.PositiveInfinity);
        return new VmSizes(cores, vcpus, vm.Allocation.MemoryMiB, disk, network);
    }

    // Disk and network limits are resized only where the provider sets them and a policy rule governs them.
    private bool GovernsLimits(EffectivePolicy policy) =>
        (policy.Rules.ContainsKey(PolicyResource.DiskIops) && _caps.HasFlag(HypervisorCapabilities.DiskIopsLimit))
        || (policy.Rules.ContainsKey(PolicyResource.NetworkMbps) && _caps.HasFlag(HypervisorCapabilities.NetworkBandwidthLimit));

    /// <summary>
    /// The application's indicators for the VM: what the provider's sample carries, else the application's
    /// <see cref="Runtime.IApplicationMetricsSource"/> (null: neither has any).
    /// </summary>
    public async Task<ApplicationMetrics?> ApplicationAsync(VmInfo vm, CancellationToken cancellationToken) =>
        _samples.TryGetValue(vm.Id, out var s) && s.Application is { } app ? app : await _context.ReadApplicationAsync(vm.Id, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// CPU cores, memory MiB, disk IOPS and network Mbit/s the VM uses (null: no sample this pass); what the
    /// application reports (<paramref name="use"/>) replaces the provider's sample where it says something.
    /// </summary>
    public double[]? Usage(VmInfo vm, HostInfo host, ResourceUse? use)
    {
        // a core of the VM is one of its vCPUs (the quota is a share of them): its own MHz per vCPU, else the host's
        double coreMhz = vm.Allocation.CpuMhz > 0 && vm.Allocation.CpuCores > 0 ? vm.Allocation.CpuMhz / vm.Allocation.CpuCores : host.CoreMhz;
        bool sampled = _samples.TryGetValue(vm.Id, out var s) && coreMhz > 0;
        if (use is { } u)
        {
            return [u.CpuCores, u.MemoryMiB, u.DiskIops ?? (sampled ? s!.DiskReadIops + s.DiskWriteIops : 0), u.NetworkMbps ?? (sampled ? s!.NetworkRxMbps + s.NetworkTxMbps : 0)];
        }

        return sampled ? [s!.CpuMhz / coreMhz, s.MemoryMiB, s.DiskReadIops + s.DiskWriteIops, s.NetworkRxMbps + s.NetworkTxMbps] : null;
    }

    /// <summary>Restores <paramref name="to"/> at once (the room is the VM's own of a moment ago), proposed again until observed.</summary>
    public void Rollback(VmInfo vm, HostInfo host, EffectivePolicy policy, VmResizeState state, VmSizes observed, VmSizes to, string why)
    {
        Rollbacks++;
        Restore(vm, host, state, observed, to, $"rolled back {vm.Name} to {to}: {why}; policy version {policy.Version}");
    }

    /// <summary>Proposes the actions that bring the VM back to <paramref name="to"/>, past its failure backoff.</summary>
    public void Restore(VmInfo vm, HostInfo host, VmResizeState state, VmSizes observed, VmSizes to, string why)
    {
        state.RollbackTo = to;
        Emit(vm, host, state, observed, to, why, restores: true);
    }

    /// <summary>Advises on each governed resource and queues what changes for arbitration.</summary>
    public void Propose(VmInfo vm, HostInfo host, EffectivePolicy policy, VmResizeState state, VmSizes observed, double[] usage, bool skipMemory = false)
    {
        for (int r = 0; r < ResizingController.ResourceCount; r++)
        {
            var horizon = policy.HorizonOf(Resources[r]);
            int steps = Math.Max(1, (int)Math.Ceiling(horizon / Options.Interval));
            string signalName = $"{ResizeAdvisor.Duration(horizon).Replace(' ', '-')} forecast upper bound";
            if ((skipMemory && r == ResizingController.Memory) || !policy.Rules.TryGetValue(Resources[r], out var effective) || Ceiling(vm, r, observed) is not { } ceiling)
            {
                continue;
            }

            // a limit not set yet counts as the rule's maximum: the VM may use that much
            double current = double.IsFinite(observed[r]) ? observed[r] : effective.Rule.Max;

            double upper = usage[r];
            for (int h = 1; h <= steps; h++)
            {
                upper = Math.Max(upper, state.Forecasters[r].Forecast(h, Options.Confidence).Upper);
            }

            if (r == ResizingController.Cpu && ThroughputNeed(policy, state, steps, horizon) is { } need && need.Cores > upper)
            {
                upper = need.Cores; // the forecast transaction rate needs more than the measured use says
                signalName = need.Name;
            }

            state.Upper[r] = upper;
            if (Lending.Contains((vm.Id, r)))
            {
                continue;
            }

            var rule = effective.Rule with { Max = Math.Min(effective.Rule.Max, ceiling) };
            double guestFloor = r == ResizingController.Memory ? usage[r] * Options.GuestMemoryKeep : 0;
            // Use pinned at a cap (a CPU quota, an IOPS or bandwidth limit) hides how much more the VM wants: grow by at
            // least SaturatedGrowth then, or a steep ramp outruns steps sized on what the cap lets through.
            bool capped = r != ResizingController.Memory && usage[r] >= Options.SaturatedAbove * current;
            double target = capped ? Math.Max(upper / rule.GrowAbove, current * Options.SaturatedGrowth) : upper / rule.GrowAbove;
            double signal = upper;
            string? slowWhy = r == ResizingController.Cpu ? SlowerThanPolicy(policy, state, steps) : null;
            if (slowWhy is not null)
            {
                // the application answers slower than the policy allows: a step more CPU, and no shrink, whatever its use
                signal = Math.Max(upper, (rule.GrowAbove * current) + 1e-9);
                target = Math.Max(target, current + rule.Step);
            }

            if (ResizeAdvisor.Advise(Resources[r], rule, current, signal, target, guestFloor, Seconds, ref state.Tracks[r], signalName) is { } advice
                && (advice.Grows || !Borrowing.Contains((vm.Id, r))))
            {
                if (slowWhy is not null && advice.Grows)
                {
                    advice = advice with { Reason = slowWhy };
                }
                else if (capped && advice.Grows)
                {
                    advice = advice with { Reason = FormattableString.Invariant($"{advice.Reason} (use at the cap: at least ×{Options.SaturatedGrowth:0.##})") };
                }

                _proposals.Add(new Proposal(vm, host, policy, effective.Policy.Name, state, observed, r, advice, upper));
            }
        }
    }

    // The cores the application's forecast throughput needs at the policy's ThroughputPerCore, and how the reason names it; or null.
    private (double Cores, string Name)? ThroughputNeed(EffectivePolicy policy, VmResizeState state, int steps, TimeSpan horizon)
    {
        if (policy.ThroughputPerCore is not { } perCore || state.ThroughputSamples < 2)
        {
            return null;
        }

        double upper = 0;
        for (int h = 1; h <= steps; h++)
        {
            upper = Math.Max(upper, state.Throughput.Forecast(h, Options.Confidence).Upper);
        }

        return (upper / perCore, FormattableString.Invariant(
            $"{ResizeAdvisor.Duration(horizon).Replace(' ', '-')} forecast upper bound of application throughput {upper:0}/s at {perCore:0.##}/s per core needs"));
    }

    // Why the application's latency asks for more CPU (its forecast's upper bound at the horizon above the policy's
    // LatencyAboveMs), or null.
    private string? SlowerThanPolicy(EffectivePolicy policy, VmResizeState state, int steps)
    {
        if (policy.LatencyAboveMs is not { } limit || state.LatencySamples < 2)
        {
            return null;
        }

        double upper = 0;
        for (int h = 1; h <= steps; h++)
        {
            upper = Math.Max(upper, state.Latency.Forecast(h, Options.Confidence).Upper);
        }

        return upper > limit
            ? FormattableString.Invariant($"{ResizeAdvisor.Duration(policy.Horizon).Replace(' ', '-')} forecast upper bound of application latency {upper:0} ms > {limit:0} ms")
            : null;
    }

    /// <summary>
    /// Shares each host's room, and each host set's budget, among the queued resizes. What a host cannot hold is a
    /// request to the planner (<paramref name="shortfalls"/>); what the budget cannot give is a loan's need
    /// (<see cref="BudgetNeeds"/>). The changes granted are emitted by <see cref="Actions"/>, after any loans.
    /// </summary>
    public void Arbitrate(Dictionary<VmId, VmResizeState> states, out List<(VmId Vm, HostId Host, string Why)> shortfalls)
    {
        shortfalls = [];
        foreach (var group in _proposals.GroupBy(p => (p.Host.Id, p.Resource)))
        {
            var list = group.ToList();
            var candidates = list.Select((p, i) => new ResizeCandidate(i, p.Policy.Priority, p.Advice.From, p.Advice.To, p.Signal,
                p.Policy.Rules[Resources[p.Resource]].Rule.CostPerUnit, p.Policy.Rules[Resources[p.Resource]].Rule.Step)).ToArray();
            var grants = new ResizeGrant[candidates.Length];
            double hostFree = Free(list[0].Host, group.Key.Resource, states);
            double budgetFree = BudgetFree(list[0].Host, group.Key.Resource, states);
            int n = ResizeArbiter.Arbitrate(candidates, Math.Min(hostFree, budgetFree), int.MaxValue, grants);
            foreach (var g in grants.AsSpan(0, n))
            {
                var p = list[g.Index];
                if (g.Shortfall > 0)
                {
                    if (budgetFree < hostFree)
                    {
                        BudgetNeeds[(p.Vm.Id, p.Resource)] = g.Shortfall; // the set's budget is spent: a loan may serve it, a move would not
                    }
                    else
                    {
                        shortfalls.Add((p.Vm.Id, p.Host.Id, FormattableString.Invariant($"{Resources[p.Resource]} {p.Advice.From:0.##} → {p.Advice.To:0.##}, {g.Shortfall:0.##} short on {p.Host.Id}")));
                    }
                }

                ConsumeBudget(p.Host, p.Resource, g.To - p.Advice.From);
                if (g.To == p.Advice.From)
                {
                    continue;
                }

                string verb = g.To > p.Advice.From ? "grew" : "shrank";
                Change(p.Vm.Id, p.Resource, g.To, FormattableString.Invariant($"{verb} {p.Vm.Name} {Resources[p.Resource].ToString().ToLowerInvariant()} from {p.Advice.From:0.##} to {g.To:0.##}: {p.Advice.Reason}; policy {p.PolicyName} version {p.Policy.Version}"));
                if (g.To < p.Advice.From)
                {
                    p.State.ShrunkFrom[p.Resource] = p.Advice.From;
                    p.State.LatencyBeforeShrink = p.State.LatencyBaseline;
                }

                ResizeAdvisor.Applied(ref p.State.Tracks[p.Resource], grew: g.To > p.Advice.From, Seconds);
            }
        }
    }

    /// <summary>The actions that carry out every change granted this pass (resizes and loans), rollbacks first.</summary>
    public List<ClusterAction> Actions()
    {
        foreach (var (vm, (sizes, reasons)) in _granted)
        {
            var seen = _seen[vm];
            Emit(seen.Vm, seen.Host, seen.State, seen.Observed, sizes, string.Join("; ", reasons));
        }

        _granted.Clear();
        return _actions;
    }

    // The most this resource can reach by the means the provider offers (null: it cannot be resized here).
    private double? Ceiling(VmInfo vm, int resource, VmSizes observed)
    {
        if (resource == ResizingController.Disk)
        {
            return _caps.HasFlag(HypervisorCapabilities.DiskIopsLimit) ? double.PositiveInfinity : null;
        }

        if (resource == ResizingController.Network)
        {
            return _caps.HasFlag(HypervisorCapabilities.NetworkBandwidthLimit) ? double.PositiveInfinity : null;
        }

        if (resource == ResizingController.Memory)
        {
            return _caps.HasFlag(HypervisorCapabilities.HotPlugMemory) ? vm.MaxAllocation.MemoryMiB : null;
        }

        if (_caps.HasFlag(HypervisorCapabilities.HotPlugCpu))
        {
            return vm.MaxAllocation.CpuCores;
        }

        return _caps.HasFlag(HypervisorCapabilities.CpuQuota) ? observed.Vcpus : null;
    }

    // Hot-plug and controls (quota, disk and network limits) that take the VM from `current` to `to`: vCPUs follow the
    // quota rounded up (removed only where the provider can unplug); growing CPU, the vCPUs come first; shrinking, the
    // quota does.
    private void Emit(VmInfo vm, HostInfo host, VmResizeState state, VmSizes current, VmSizes to, string reason, bool restores = false)
    {
        int wanted = Math.Max(1, (int)Math.Ceiling(to.Cores - 1e-9));
        int vcpus = wanted > current.Vcpus || (wanted < current.Vcpus && _caps.HasFlag(HypervisorCapabilities.HotUnplugCpu)) ? wanted : current.Vcpus;
        bool quotaOk = _caps.HasFlag(HypervisorCapabilities.CpuQuota);
        double cores = quotaOk ? Math.Min(to.Cores, vcpus) : vcpus;
        var asked = to with { Cores = cores, Vcpus = vcpus };
        HotPlugAction? hotPlug = vcpus != current.Vcpus || Math.Abs(to.MemoryMiB - current.MemoryMiB) > 1e-6
            ? new HotPlugAction(vm.Id, host.Id, new HotPlugRequest(vcpus != current.Vcpus ? vcpus : null, Math.Abs(to.MemoryMiB - current.MemoryMiB) > 1e-6 ? to.MemoryMiB : null), reason) { Restores = restores }
            : null;
        double share = Share(cores, vcpus);
        bool quotaChanges = quotaOk && !SameShare(share, Share(current.Cores, current.Vcpus));
        bool diskChanges = !VmSizes.SameLimit(to.DiskIops, current.DiskIops), networkChanges = !VmSizes.SameLimit(to.NetworkMbps, current.NetworkMbps);
        ResourceControlAction? controls = quotaChanges || diskChanges || networkChanges
            ? new ResourceControlAction(vm.Id, host.Id, new ResourceControls
            {
                CpuQuota = quotaChanges ? share : null,
                DiskIopsLimit = diskChanges ? to.DiskIops : null,
                NetworkBandwidthLimitMbps = networkChanges ? to.NetworkMbps : null,
            }, reason) { Restores = restores }
            : null;
        if (hotPlug is null && controls is null)
        {
            return;
        }

        if (Sender is { } sender)
        {
            // Over the transport: one absolute size per resource that changes; the platform connector applies it.
            AddAdjustments(sender, vm, host, current, asked, vcpus != current.Vcpus || quotaChanges, reason, restores);
        }
        else
        {
            bool growing = cores >= current.Cores;
            foreach (var action in growing ? new ClusterAction?[] { hotPlug, controls } : [controls, hotPlug])
            {
                if (action is not null)
                {
                    _actions.Add(action);
                }
            }
        }

        // While a memory change is still showing, the next check compares against where the memory came from.
        var before = current;
        if (state.Outstanding is { } prior)
        {
            before = current with { MemoryMiB = prior.Before.MemoryMiB };
        }

        state.Outstanding = (before, asked);
        if (quotaOk)
        {
            state.QuotaCores = double.IsPositiveInfinity(share) ? null : cores;
        }

        if (diskChanges || networkChanges)
        {
            state.Limits = (asked.DiskIops, asked.NetworkMbps);
        }
    }

    // The quota as a share of the vCPUs; all of them is no quota at all (+∞ removes the limit).
    private static double Share(double cores, int vcpus) => cores >= vcpus - 1e-9 ? double.PositiveInfinity : cores / vcpus;

    private static bool SameShare(double a, double b) => a == b || Math.Abs(a - b) < 1e-6;

    private sealed record Proposal(VmInfo Vm, HostInfo Host, EffectivePolicy Policy, string PolicyName, VmResizeState State, VmSizes Observed, int Resource, ResizeAdvice Advice, double Signal);
}
