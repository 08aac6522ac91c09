using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;

namespace VmEcosystem.Runtime;

/// <summary>
/// Builds a <see cref="PlanningState"/> from what every provider offers: the inventory, VM and host metric
/// samples, and the CPU history the runtime keeps per VM (newest first, up to the state's history length).
/// Migrations the runtime is running are marked in flight (VM listed on source and target, as the planner expects).
/// A VM whose provider does not report its dirty-page rate gets one estimated from its workload class over that
/// history (<see cref="DirtyRateEstimator"/>).
/// </summary>
internal sealed class InventoryStateBuilder
{
    private readonly int _historyLength;
    private readonly Dictionary<VmId, double[]> _history = [];
    private readonly Dictionary<VmId, int> _historyCount = [];
    private readonly DirtyRateEstimator _dirtyRates;

    /// <summary>Creates a builder keeping <paramref name="historyLength"/> CPU samples per VM.</summary>
    public InventoryStateBuilder(int historyLength = 30, DirtyRateEstimator? dirtyRates = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historyLength, 1);
        _historyLength = historyLength;
        _dirtyRates = dirtyRates ?? new DirtyRateEstimator();
    }

    /// <summary>Fills <paramref name="state"/>.</summary>
    public void Build(PlanningState state, InventorySnapshot inventory, IReadOnlyList<VmMetricSample> vmMetrics,
        IReadOnlyList<HostMetricSample> hostMetrics, IReadOnlyDictionary<VmId, HostId> inFlight)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(vmMetrics);
        ArgumentNullException.ThrowIfNull(hostMetrics);
        ArgumentNullException.ThrowIfNull(inFlight);
        var samples = new Dictionary<VmId, VmMetricSample>(vmMetrics.Count);
        foreach (var s in vmMetrics)
        {
            samples[s.Vm] = s;
        }

        var hostUtilization = new Dictionary<HostId, double>(hostMetrics.Count);
        foreach (var s in hostMetrics)
        {
            hostUtilization[s.Host] = s.CpuUtilization;
        }

        var hostIndex = new Dictionary<HostId, int>(inventory.Hosts.Count);
        state.Reset(inventory.Hosts.Count, inventory.Vms.Count, _historyLength);
        for (int h = 0; h < inventory.Hosts.Count; h++)
        {
            var host = inventory.Hosts[h];
            hostIndex[host.Id] = h;
            state.SetHost(h, host.Id, host.Capacity.CpuMhz, Math.Max(1, (int)host.Capacity.CpuCores), host.Capacity.MemoryMiB,
                host.Capacity.NetworkMbps > 0 ? host.Capacity.NetworkMbps : 1000, host.PowerModel, host.State == HostState.Online, host.Location);
            state.SetHostDiskCapacity(h, host.Capacity.DiskIops);
        }

        var placement = new Dictionary<VmId, HostId>(inventory.Placements.Count);
        foreach (var p in inventory.Placements)
        {
            placement[p.Vm] = p.Host;
        }

        Span<double> newestFirst = stackalloc double[_historyLength];
        for (int v = 0; v < inventory.Vms.Count; v++)
        {
            var vm = inventory.Vms[v];
            int host = placement.TryGetValue(vm.Id, out var hid) && hostIndex.TryGetValue(hid, out int hi) ? hi : -1;
            int target = inFlight.TryGetValue(vm.Id, out var tid) && hostIndex.TryGetValue(tid, out int ti) && ti != host ? ti : -1;
            double demand = samples.TryGetValue(vm.Id, out var sample) ? sample.CpuMhz : 0;
            double capacity = vm.Allocation.CpuMhz > 0 ? vm.Allocation.CpuMhz : 1;
            state.SetVm(v, vm.Id, capacity, Math.Max(1, (int)vm.Allocation.CpuCores), vm.Allocation.MemoryMiB, demand, Math.Min(demand, capacity),
                host, target, host >= 0 && vm.State == VmPowerState.Running, vm.Priority);
            int n = Record(vm.Id, demand / capacity, newestFirst);
            state.SetHistory(v, newestFirst[..n]);
            if (sample.Vm == vm.Id)
            {
                double dirty = sample.DirtyMiBPerSecond
                    ?? _dirtyRates.Estimate(_dirtyRates.Classify(vm.Id, newestFirst[..n]), demand / capacity, sample.MemoryMiB > 0 ? sample.MemoryMiB : vm.Allocation.MemoryMiB);
                state.SetVmUsage(v, sample.MemoryMiB, sample.NetworkRxMbps + sample.NetworkTxMbps, sample.DiskReadIops + sample.DiskWriteIops, dirty);
            }

            if (host >= 0)
            {
                state.AppendToHost(host, v);
            }

            if (target >= 0)
            {
                state.AppendToHost(target, v);
            }
        }

        for (int h = 0; h < inventory.Hosts.Count; h++)
        {
            double requested = state.RequestedMipsOn(h);
            double total = state.HostTotalMips[h];
            double utilization = hostUtilization.TryGetValue(inventory.Hosts[h].Id, out double u) ? u : requested / total;
            state.SetHostState(h, utilization, Math.Max(0, total - requested), requested > total);
        }

        // Forget VMs that left.
        if (_history.Count > 2 * inventory.Vms.Count + 16)
        {
            var present = inventory.Vms.Select(v => v.Id).ToHashSet();
            foreach (var gone in _history.Keys.Where(k => !present.Contains(k)).ToList())
            {
                _history.Remove(gone);
                _historyCount.Remove(gone);
            }
        }
    }

    private int Record(VmId vm, double utilization, Span<double> newestFirst)
    {
        if (!_history.TryGetValue(vm, out var ring))
        {
            _history[vm] = ring = new double[_historyLength];
            _historyCount[vm] = 0;
        }

        // Shift (history lengths are tens of samples): newest first.
        Array.Copy(ring, 0, ring, 1, _historyLength - 1);
        ring[0] = utilization;
        int n = Math.Min(_historyCount[vm] + 1, _historyLength);
        _historyCount[vm] = n;
        ring.AsSpan(0, n).CopyTo(newestFirst);
        return n;
    }
}
