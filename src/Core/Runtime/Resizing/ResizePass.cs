using System.Globalization;
using VmEcosystem.Adjustment;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Policies;

namespace VmEcosystem.Runtime;

/// <summary>One pass of the resizing controller: what it observed, what it proposes, and the actions that carry it out.</summary>
internal sealed class ResizePass
{
    private static readonly PolicyResource[] Resources = [PolicyResource.Cpu, PolicyResource.Memory];
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

    public PolicySubject Subject(VmInfo vm, HostInfo host) => new(vm.Name, vm.Labels, host.HostSet?.Value, vm.Profile.WorkloadClass);

    /// <summary>The VM's sizes now; the CPU quota is read back from the provider while a proposal is outstanding.</summary>
    public async Task<VmSizes> ObserveAsync(VmInfo vm, VmResizeState state, CancellationToken cancellationToken)
    {
        int vcpus = Math.Max(1, (int)Math.Round(vm.Allocation.CpuCores));
        if (state.Outstanding is not null && _caps.HasFlag(HypervisorCapabilities.CpuQuota))
        {
            var controls = await _context.CallAsync("GetResourceControls", (h, ct) => h.GetResourceControlsAsync(vm.Id, ct), cancellationToken).ConfigureAwait(false);
            state.QuotaCores = controls.CpuQuota is { } share && double.IsFinite(share) ? share * vcpus : null;
        }

        double cores = state.QuotaCores is { } q ? Math.Min(q, vcpus) : vcpus;
        return new VmSizes(cores, vcpus, vm.Allocation.MemoryMiB);
    }

    /// <summary>CPU cores and memory MiB the VM uses (null: no sample this pass).</summary>
    public double[]? Usage(VmInfo vm, HostInfo host) =>
        _samples.TryGetValue(vm.Id, out var s) && host.CoreMhz > 0 ? [s.CpuMhz / host.CoreMhz, s.MemoryMiB] : null;

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
        int steps = Math.Max(1, (int)Math.Ceiling(policy.Horizon / Options.Interval));
        string signalName = $"{ResizeAdvisor.Duration(policy.Horizon).Replace(' ', '-')} forecast upper bound";
        for (int r = 0; r < 2; r++)
        {
            if ((skipMemory && r == ResizingController.Memory) || !policy.Rules.TryGetValue(Resources[r], out var effective) || Ceiling(vm, r, observed) is not { } ceiling)
            {
                continue;
            }

            double upper = usage[r];
            for (int h = 1; h <= steps; h++)
            {
                upper = Math.Max(upper, state.Forecasters[r].Forecast(h, Options.Confidence).Upper);
            }

            var rule = effective.Rule with { Max = Math.Min(effective.Rule.Max, ceiling) };
            double guestFloor = r == ResizingController.Memory ? usage[r] * Options.GuestMemoryKeep : 0;
            if (ResizeAdvisor.Advise(Resources[r], rule, observed[r], upper, upper / rule.GrowAbove, guestFloor, Seconds, ref state.Tracks[r], signalName) is { } advice)
            {
                _proposals.Add(new Proposal(vm, host, policy, effective.Policy.Name, state, observed, r, advice, upper));
            }
        }
    }

    /// <summary>Shares each host's room among the queued resizes and returns the actions (rollbacks first).</summary>
    public List<ClusterAction> Arbitrate(Dictionary<VmId, VmResizeState> states, out List<(VmId Vm, HostId Host, string Why)> shortfalls)
    {
        shortfalls = [];
        var granted = new Dictionary<VmId, (Proposal First, VmSizes Sizes, List<string> Reasons)>();
        foreach (var group in _proposals.GroupBy(p => (p.Host.Id, p.Resource)))
        {
            var list = group.ToList();
            var candidates = list.Select((p, i) => new ResizeCandidate(i, p.Policy.Priority, p.Advice.From, p.Advice.To, p.Signal,
                p.Policy.Rules[Resources[p.Resource]].Rule.CostPerUnit, p.Policy.Rules[Resources[p.Resource]].Rule.Step)).ToArray();
            var grants = new ResizeGrant[candidates.Length];
            int n = ResizeArbiter.Arbitrate(candidates, Free(list[0].Host, group.Key.Resource, states), int.MaxValue, grants);
            foreach (var g in grants.AsSpan(0, n))
            {
                var p = list[g.Index];
                if (g.Shortfall > 0)
                {
                    shortfalls.Add((p.Vm.Id, p.Host.Id, FormattableString.Invariant($"{Resources[p.Resource]} {p.Advice.From:0.##} → {p.Advice.To:0.##}, {g.Shortfall:0.##} short on {p.Host.Id}")));
                }

                if (g.To == p.Advice.From)
                {
                    continue;
                }

                var entry = granted.TryGetValue(p.Vm.Id, out var e) ? e : (First: p, Sizes: p.Observed, Reasons: new List<string>());
                string verb = g.To > p.Advice.From ? "grew" : "shrank";
                entry.Reasons.Add(FormattableString.Invariant($"{verb} {p.Vm.Name} {Resources[p.Resource].ToString().ToLowerInvariant()} from {p.Advice.From:0.##} to {g.To:0.##}: {p.Advice.Reason}; policy {p.PolicyName} version {p.Policy.Version}"));
                granted[p.Vm.Id] = (entry.First, entry.Sizes.With(p.Resource, g.To), entry.Reasons);
                if (g.To < p.Advice.From)
                {
                    p.State.ShrunkFrom[p.Resource] = p.Advice.From;
                }

                ResizeAdvisor.Applied(ref p.State.Tracks[p.Resource], grew: g.To > p.Advice.From, Seconds);
            }
        }

        foreach (var (_, (first, sizes, reasons)) in granted)
        {
            Emit(first.Vm, first.Host, first.State, first.Observed, sizes, string.Join("; ", reasons));
        }

        return _actions;
    }

    private double Free(HostInfo host, int resource, Dictionary<VmId, VmResizeState> states)
    {
        double used = 0;
        foreach (var vm in _inventory.Vms)
        {
            if (_hostOf.TryGetValue(vm.Id, out var h) && h == host.Id)
            {
                used += resource == ResizingController.Cpu
                    ? (states.TryGetValue(vm.Id, out var s) && s.QuotaCores is { } q ? Math.Min(q, vm.Allocation.CpuCores) : vm.Allocation.CpuCores)
                    : vm.Allocation.MemoryMiB;
            }
        }

        return (resource == ResizingController.Cpu ? host.Capacity.CpuCores : host.Capacity.MemoryMiB) - used;
    }

    // The most this resource can reach by the means the provider offers (null: it cannot be resized here).
    private double? Ceiling(VmInfo vm, int resource, VmSizes observed)
    {
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

    // Hot-plug and quota that take the VM from `current` to `to`: vCPUs follow the quota rounded up (removed only where
    // the provider can unplug); growing, the vCPUs come first; shrinking, the quota does.
    private void Emit(VmInfo vm, HostInfo host, VmResizeState state, VmSizes current, VmSizes to, string reason, bool restores = false)
    {
        int wanted = Math.Max(1, (int)Math.Ceiling(to.Cores - 1e-9));
        int vcpus = wanted > current.Vcpus || (wanted < current.Vcpus && _caps.HasFlag(HypervisorCapabilities.HotUnplugCpu)) ? wanted : current.Vcpus;
        bool quotaOk = _caps.HasFlag(HypervisorCapabilities.CpuQuota);
        double cores = quotaOk ? Math.Min(to.Cores, vcpus) : vcpus;
        var asked = new VmSizes(cores, vcpus, to.MemoryMiB);
        HotPlugAction? hotPlug = vcpus != current.Vcpus || Math.Abs(to.MemoryMiB - current.MemoryMiB) > 1e-6
            ? new HotPlugAction(vm.Id, host.Id, new HotPlugRequest(vcpus != current.Vcpus ? vcpus : null, Math.Abs(to.MemoryMiB - current.MemoryMiB) > 1e-6 ? to.MemoryMiB : null), reason) { Restores = restores }
            : null;
        double share = Share(cores, vcpus);
        ResourceControlAction? quota = quotaOk && !SameShare(share, Share(current.Cores, current.Vcpus))
            ? new ResourceControlAction(vm.Id, host.Id, new ResourceControls { CpuQuota = share }, reason) { Restores = restores }
            : null;
        if (hotPlug is null && quota is null)
        {
            return;
        }

        bool growing = cores >= current.Cores;
        foreach (var action in growing ? new ClusterAction?[] { hotPlug, quota } : [quota, hotPlug])
        {
            if (action is not null)
            {
                _actions.Add(action);
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
    }

    // The quota as a share of the vCPUs; all of them is no quota at all (+∞ removes the limit).
    private static double Share(double cores, int vcpus) => cores >= vcpus - 1e-9 ? double.PositiveInfinity : cores / vcpus;

    private static bool SameShare(double a, double b) => a == b || Math.Abs(a - b) < 1e-6;

    private sealed record Proposal(VmInfo Vm, HostInfo Host, EffectivePolicy Policy, string PolicyName, VmResizeState State, VmSizes Observed, int Resource, ResizeAdvice Advice, double Signal);
}
