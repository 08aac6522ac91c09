namespace VmEcosystem.Planning;

/// <summary>
/// What VMs use besides CPU, as the provider measured it (0 where it reports nothing): memory in use, network and
/// disk I/O, and the rate at which the guest dirties memory (what a live migration has to copy again). Planning
/// filters and scorers use them where they are known; a provider that reports none leaves planning as on CPU and
/// allocated memory alone.
/// </summary>
public sealed partial class PlanningState
{
    internal double[] VmMemoryUsedMiB = [];
    internal double[] VmNetworkMbps = [];
    internal double[] VmDiskIops = [];
    internal double[] VmDirtyMiBps = [];
    internal double[] HostDiskIops = [];

    /// <summary>Memory the VM uses now, MiB (0: not reported).</summary>
    public double MemoryUsedMiB(int vm) => VmMemoryUsedMiB[vm];

    /// <summary>Network the VM uses now, receive plus transmit, Mbit/s (0: not reported).</summary>
    public double NetworkMbps(int vm) => VmNetworkMbps[vm];

    /// <summary>Disk operations per second of the VM, reads plus writes (0: not reported).</summary>
    public double DiskIops(int vm) => VmDiskIops[vm];

    /// <summary>Memory the guest dirties per second, MiB/s (0: not reported).</summary>
    public double DirtyMiBps(int vm) => VmDirtyMiBps[vm];

    /// <summary>Sets what a VM uses besides CPU (after <see cref="SetVm"/>, which clears it).</summary>
    public void SetVmUsage(int vm, double memoryUsedMiB, double networkMbps, double diskIops, double dirtyMiBps)
    {
        VmMemoryUsedMiB[vm] = Math.Max(0, memoryUsedMiB);
        VmNetworkMbps[vm] = Math.Max(0, networkMbps);
        VmDiskIops[vm] = Math.Max(0, diskIops);
        VmDirtyMiBps[vm] = Math.Max(0, dirtyMiBps);
    }

    /// <summary>Sets a host's disk capacity in operations per second (0: unknown, not checked).</summary>
    public void SetHostDiskCapacity(int host, double iops) => HostDiskIops[host] = Math.Max(0, iops);

    /// <summary>Disk capacity of a host, operations per second (0: unknown).</summary>
    public double DiskCapacityIops(int host) => HostDiskIops[host];

    /// <summary>Memory allocated to the VMs on a host (including VMs migrating in), MiB.</summary>
    public double MemoryAllocatedOn(int host)
    {
        double sum = 0;
        foreach (int v in HostVms[host])
        {
            sum += VmMemoryMiB[v];
        }

        return sum;
    }

    /// <summary>Network use of the VMs on a host (including VMs migrating in), Mbit/s.</summary>
    public double NetworkUsedOn(int host)
    {
        double sum = 0;
        foreach (int v in HostVms[host])
        {
            sum += VmNetworkMbps[v];
        }

        return sum;
    }

    /// <summary>Disk operations per second of the VMs on a host (including VMs migrating in).</summary>
    public double DiskIopsOn(int host)
    {
        double sum = 0;
        foreach (int v in HostVms[host])
        {
            sum += VmDiskIops[v];
        }

        return sum;
    }

    private void AllocateUsage(int vms)
    {
        VmMemoryUsedMiB = new double[vms];
        VmNetworkMbps = new double[vms];
        VmDiskIops = new double[vms];
        VmDirtyMiBps = new double[vms];
    }

    private void ClearUsage(int vm)
    {
        VmMemoryUsedMiB[vm] = 0;
        VmNetworkMbps[vm] = 0;
        VmDiskIops[vm] = 0;
        VmDirtyMiBps[vm] = 0;
    }
}
