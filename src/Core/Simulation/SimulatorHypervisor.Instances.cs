using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Simulation;

/// <summary>Standby instances joining the simulated cluster and leaving it (what <see cref="SimulatorScaleOutHandler"/> calls).</summary>
internal sealed partial class SimulatorHypervisor
{
    /// <summary>The standby VMs for <paramref name="hostSet"/> that are not in the cluster now.</summary>
    internal IReadOnlyList<VmId> StandbyFor(string hostSet)
    {
        lock (_gate)
        {
            Sync();
            return [.. Enumerable.Range(0, _vms.Length)
                .Where(v => !_sim.IsActive(v) && _vms[v].Labels.TryGetValue(SimulatorScaleOutHandler.StandbyLabel, out var set) && set == hostSet)
                .Select(v => _vms[v].Id)];
        }
    }

    /// <summary>Brings a VM that is in no host onto <paramref name="host"/>, announced as <see cref="VmAdded"/>.</summary>
    internal void Join(VmId vm, HostId host)
    {
        lock (_gate)
        {
            Sync();
            if (!_vmIndex.TryGetValue(vm, out int v) || _sim.IsActive(v))
            {
                throw new HypervisorException(HypervisorErrorKind.Conflict, $"VM '{vm}' is not a standby instance out of the cluster.", Name, "Join");
            }

            int h = _hostIndex.TryGetValue(host, out int index) ? index : throw new HypervisorException(HypervisorErrorKind.NotFound, $"Host '{host}' does not exist.", Name, "Join");
            _sim.Join(v, h);
            _version++;
            PublishInventoryChange(new VmAdded(_vms[v], host) { Timestamp = ToClock(_sim.Now) });
        }
    }

    /// <summary>Takes a VM out of the cluster, announced as <see cref="VmRemoved"/> (it may join again).</summary>
    internal void Retire(VmId vm)
    {
        lock (_gate)
        {
            Sync();
            int v = ActiveVm(vm, "Retire");
            try
            {
                _sim.Leave(v); // raises VmLeft: the VmRemoved event
            }
            catch (InvalidOperationException ex)
            {
                throw new HypervisorException(HypervisorErrorKind.Conflict, ex.Message, Name, "Retire");
            }
        }
    }
}
