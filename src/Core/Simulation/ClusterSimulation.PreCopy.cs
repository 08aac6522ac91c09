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

        double end = Now + (_preCopy.Retune(vm, target, Now, bandwidthMbps / 8) * _scenario.Vms[vm].MigrationSlowdown);

        RemoveCompletions(vm); // bandwidth changes are rare
        _completions.Enqueue((vm, target), (end, _eventSeq++));
        _vmMigrationEnd[vm] = end;
        return end;
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
