using VmEcosystem.Reservations;

namespace VmEcosystem.Simulation;

/// <summary>The pre-copy model's side of the engine: dirty-page rates, and a running migration's bandwidth cap changed mid-move.</summary>
internal sealed partial class ClusterSimulation
{
    /// <summary>The VM's dirty-page rate now, MiB/s, under the pre-copy model (0 without it).</summary>
    public double DirtyRate(int vm)
    {
        if (_preCopy is null)
        {
            return 0;
        }

        Span<double> history = stackalloc double[_historyLength];
        int n = CopyHistory(vm, history);
        return _preCopy.DirtyRate(_scenario.Vms[vm].Info.Id, _scenario.Vms[vm].DirtyMiBps, _vmRequest[vm] / Math.Max(1e-9, _vmTotalMips[vm]), _vmMemoryMiB[vm], history[..n]);
    }

    /// <summary>
    /// Caps the bandwidth of the VM's running migration at <paramref name="bandwidthMbps"/> from now on and moves its
    /// completion accordingly; returns the new completion time.
    /// </summary>
    /// <exception cref="InvalidOperationException">No migration of the VM runs, or the model is not pre-copy.</exception>
    public double SetMigrationBandwidth(int vm, double bandwidthMbps)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bandwidthMbps);
        int target = _vmTarget[vm];
        if (_preCopy is null || target < 0 || _extraTargets.ContainsKey(vm))
        {
            throw new InvalidOperationException($"VM {_scenario.Vms[vm].Info.Id} has no single running migration under the pre-copy model.");
        }

        var (seconds, rate) = _preCopy.Retune(vm, target, Now, bandwidthMbps / 8);
        double end = Now + (seconds * _scenario.Vms[vm].MigrationSlowdown);
        _vmCopyMiBps[vm] = rate;
        UpdateHost(_vmHost[vm], Now, false);
        UpdateHost(target, Now, false);

        RemoveCompletions(vm); // bandwidth changes are rare
        _completions.Enqueue((vm, target), (end, _eventSeq++));
        _vmMigrationEnd[vm] = end;
        return end;
    }

    /// <summary>The rate the VM's running migration copies at, MiB/s (0 when none runs or without the pre-copy model).</summary>
    public double CopyRate(int vm) => _vmCopyMiBps[vm];

    /// <summary>
    /// The storage a migration of the VM copies (none where its disks are shared): its size and, as dirty rate, its
    /// disk writes now (the write share of its disk I/O, 16 KiB each, as its samples report them).
    /// </summary>
    public StorageCopy StorageCopyOf(int vm) => _scenario.Vms[vm].StorageMiB is > 0 and var disk
        ? new StorageCopy(disk, VmDiskIops(vm) * 0.4 * 16 / 1024)
        : default;

    /// <summary>Disk operations per second the VM's running copy costs its target now (0 when none runs or without the pre-copy model).</summary>
    public double CopyDiskIops(int vm) =>
        _preCopy is null || _vmTarget[vm] < 0 ? 0 : _preCopy.DestinationDiskIops(vm, _vmTarget[vm], Now, _vmCopyMiBps[vm]);

    /// <summary>A host's CPU capacity, MHz.</summary>
    public double HostCapacityMhz(int host) => _hostTotalMips[host];

    /// <summary>CPU the VM's running copy costs on its target (<paramref name="atTarget"/>) or its source, MHz (0 when none runs).</summary>
    public double CopyOverheadMhz(int vm, bool atTarget) => CopyOverhead(vm, atTarget);

    /// <summary>
    /// CPU a VM needs on its source or target beyond its own request because it migrates (the copy's overhead,
    /// proportional to its rate), MHz; 0 without the pre-copy model, where CloudSim's flat shares apply instead.
    /// </summary>
    private double CopyOverhead(int v, bool incoming)
    {
        if (_preCopy is null || _vmCopyMiBps[v] == 0)
        {
            return 0;
        }

        var (source, destination) = _preCopy.CpuOverhead(_vmCopyMiBps[v]);
        return incoming ? destination : source;
    }

    /// <summary>Drops the VM's pending completion events (rebuilds the heap without them).</summary>
    private void RemoveCompletions(int vm)
    {
        var pending = new List<((int Vm, int Target) Item, (double, long) Key)>(_completions.Count);
        while (_completions.TryDequeue(out var item, out var key))
        {
            if (item.Vm != vm)
            {
                pending.Add((item, key));
            }
        }

        foreach (var (item, key) in pending)
        {
            _completions.Enqueue(item, key);
        }
    }
}
