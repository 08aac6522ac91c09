namespace VmEcosystem.Simulation;

/// <summary>
/// Allocations separate from demand (<see cref="SimulationModel.DemandBoundByAllocation"/>): a VM's demand is its
/// trace's share of the size it started with, and what its current allocation (vCPUs under its CPU quota, memory)
/// does not cover is unserved, counted per VM as unserved MHz-seconds and as seconds short of CPU or memory.
/// Resizes take effect <see cref="SimulationModel.HotPlugDelaySeconds"/> after they are asked for.
/// </summary>
internal sealed partial class ClusterSimulation
{
    private double[]? _vmReferenceMips, _vmReferenceMemoryMiB, _vmUnservedMips, _vmAllocatedMips, _vmUnservedMipsSeconds, _vmShortSeconds;
    private double _allocatedCoreSeconds, _usedCoreSeconds;
    private readonly List<(int Vm, int Vcpus, double MemoryMiB, double Due)> _pendingResizes = [];

    /// <summary>Unserved CPU demand of the VM so far, MHz-seconds (0 unless demand is bound by allocation).</summary>
    public double VmUnservedMhzSeconds(int vm) => _vmUnservedMipsSeconds?[vm] ?? 0;

    /// <summary>Seconds the VM's CPU or memory demand exceeded its allocation so far (0 unless demand is bound by allocation).</summary>
    public double VmShortSeconds(int vm) => _vmShortSeconds?[vm] ?? 0;

    /// <summary>Memory the VM's guest wants now, MiB: its trace's share of its starting size (of its current size otherwise).</summary>
    public double VmMemoryDemandMiB(int vm) => _traces[vm].MemoryAt(Now) * (_vmReferenceMemoryMiB?[vm] ?? _vmMemoryMiB[vm]);

    private AllocationShortfall? AllocationSummary()
    {
        if (_vmShortSeconds is null)
        {
            return null;
        }

        double shortSeconds = 0, coreSeconds = 0;
        var byClass = new SortedDictionary<string, double>(StringComparer.Ordinal);
        for (int v = 0; v < _vmCount; v++)
        {
            shortSeconds += _vmShortSeconds[v];
            coreSeconds += _vmUnservedMipsSeconds![v] / CoreMips(v);
            string cls = _scenario.Vms[v].Info.Profile.WorkloadClass ?? "unclassified";
            byClass[cls] = byClass.GetValueOrDefault(cls) + (_vmShortSeconds[v] / 60);
        }

        double slack = _allocatedCoreSeconds > 0 ? 100 * (_allocatedCoreSeconds - _usedCoreSeconds) / _allocatedCoreSeconds : 0;
        return new AllocationShortfall(shortSeconds / 60, coreSeconds / 3600, byClass) { AllocatedCoreHours = _allocatedCoreSeconds / 3600, CpuSlackPercent = slack };
    }

    // MHz of one of the VM's vCPUs as it started (what a core of it is).
    private double CoreMips(int v) => Math.Max(1e-9, _vmReferenceMips![v] / Math.Max(1, _scenario.Vms[v].Info.Allocation.CpuCores));

    private void InitAllocation()
    {
        if (!_model.DemandBoundByAllocation)
        {
            return;
        }

        _vmReferenceMips = (double[])_vmTotalMips.Clone();
        _vmReferenceMemoryMiB = (double[])_vmMemoryMiB.Clone();
        _vmUnservedMips = new double[_vmCount];
        _vmAllocatedMips = new double[_vmCount];
        _vmUnservedMipsSeconds = new double[_vmCount];
        _vmShortSeconds = new double[_vmCount];
    }

    // The VM's CPU request at an update from its trace's share u: CloudSim's arithmetic (a share of the VM's current
    // MIPS, capped by its quota), or, bound by allocation, the share of its starting MIPS up to what it is given.
    private double RequestOf(int v, double u)
    {
        double quota = _vmCpuQuota[v];
        if (_vmReferenceMips is null)
        {
            if (quota < u)
            {
                u = quota;
            }

            return u * _vmTotalMips[v];
        }

        double demand = u * _vmReferenceMips[v];
        double allocation = (quota < 1 ? quota : 1) * _vmTotalMips[v];
        _vmUnservedMips![v] = demand > allocation ? demand - allocation : 0;
        _vmAllocatedMips![v] = allocation;
        return demand > allocation ? allocation : demand;
    }

    // What the interval since the last update left unserved (the requests of that update held over it).
    private void AccountAllocation(double dt)
    {
        if (_vmUnservedMips is null || !(dt > 0))
        {
            return;
        }

        for (int v = 0; v < _vmCount; v++)
        {
            if (!_vmActive[v])
            {
                continue;
            }

            double unserved = _vmUnservedMips[v];
            _vmUnservedMipsSeconds![v] += unserved * dt;
            double perCore = CoreMips(v);
            _allocatedCoreSeconds += _vmAllocatedMips![v] / perCore * dt;
            _usedCoreSeconds += _vmRequest[v] / perCore * dt;
            bool memoryShort = _traces[v].MemoryAt(_lastProcessTime) * _vmReferenceMemoryMiB![v] > _vmMemoryMiB[v] + 1e-9;
            if (unserved > 1e-9 || memoryShort)
            {
                _vmShortSeconds![v] += dt;
            }
        }
    }

    // Resizes whose hot-plug delay has passed take effect before the update at t.
    private void ApplyDueResizes(double t)
    {
        for (int i = _pendingResizes.Count - 1; i >= 0; i--)
        {
            var (vm, vcpus, memory, due) = _pendingResizes[i];
            if (due <= t)
            {
                ResizeNow(vm, vcpus, memory);
                _pendingResizes.RemoveAt(i);
            }
        }
    }
}
