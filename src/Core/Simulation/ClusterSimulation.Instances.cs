namespace VmEcosystem.Simulation;

/// <summary>Instances joining and leaving the cluster (a scale-out's standby VMs).</summary>
internal sealed partial class ClusterSimulation
{
    /// <summary>Brings a VM that is in no host (a standby instance, or one that left) onto <paramref name="host"/>; its demand counts from the next update.</summary>
    public void Join(int vm, int host)
    {
        if ((uint)vm >= (uint)_vmCount || (uint)host >= (uint)_hostCount)
        {
            throw new ArgumentOutOfRangeException(nameof(vm), vm, "Unknown VM or host index.");
        }

        if (_vmActive[vm])
        {
            throw new InvalidOperationException($"VM {_scenario.Vms[vm].Info.Id} is already in the cluster.");
        }

        _vmHost[vm] = host;
        _vmTarget[vm] = -1;
        _hostVms[host].Add(vm);
        _vmActive[vm] = true;
        _activeVms++;
    }

    /// <summary>Takes a VM out of the cluster (a scale-in); it may join again later.</summary>
    public void Leave(int vm)
    {
        if ((uint)vm >= (uint)_vmCount || !_vmActive[vm])
        {
            throw new InvalidOperationException($"VM index {vm} is not in the cluster.");
        }

        if (_vmTarget[vm] >= 0)
        {
            throw new InvalidOperationException($"VM {_scenario.Vms[vm].Info.Id} is migrating.");
        }

        _hostVms[_vmHost[vm]].Remove(vm);
        _vmActive[vm] = false;
        _activeVms--;
        VmLeft?.Invoke(vm, Now);
    }
}
