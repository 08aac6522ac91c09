namespace VmEcosystem.Hypervisor;

/// <summary>A hot-plug request: the new absolute vCPU count and/or memory size of a running VM.</summary>
/// <param name="Vcpus">New number of vCPUs, or null to leave it.</param>
/// <param name="MemoryMiB">New memory size in MiB, or null to leave it.</param>
public sealed record HotPlugRequest(int? Vcpus = null, double? MemoryMiB = null);

/// <summary>
/// Resource controls of a VM. Every property is optional: <c>null</c> means "leave as it is" when setting and
/// "not set / not reported" when reading; <see cref="double.PositiveInfinity"/> removes a limit.
/// </summary>
public sealed record ResourceControls
{
    /// <summary>Relative CPU weight (libvirt <c>cpu_shares</c>, Hyper-V weight, vSphere shares).</summary>
    public int? CpuShares { get; init; }

    /// <summary>Hard CPU cap as a share of the VM's vCPUs (1.0 = all its vCPUs busy).</summary>
    public double? CpuQuota { get; init; }

    /// <summary>Memory guaranteed to the VM, MiB.</summary>
    public double? MemoryReservationMiB { get; init; }

    /// <summary>Memory hard limit, MiB.</summary>
    public double? MemoryLimitMiB { get; init; }

    /// <summary>Disk IOPS limit.</summary>
    public double? DiskIopsLimit { get; init; }

    /// <summary>Network bandwidth limit, Mbit/s.</summary>
    public double? NetworkBandwidthLimitMbps { get; init; }

    /// <summary>Relative disk I/O weight under contention, 100 to 1000 (libvirt <c>blkiotune</c> weight, vSphere disk shares).</summary>
    public int? DiskWeight { get; init; }

    /// <summary>The controls of <paramref name="update"/> applied on top of these.</summary>
    public ResourceControls Apply(ResourceControls update) => new()
    {
        CpuShares = update.CpuShares ?? CpuShares,
        CpuQuota = update.CpuQuota ?? CpuQuota,
        MemoryReservationMiB = update.MemoryReservationMiB ?? MemoryReservationMiB,
        MemoryLimitMiB = update.MemoryLimitMiB ?? MemoryLimitMiB,
        DiskIopsLimit = update.DiskIopsLimit ?? DiskIopsLimit,
        NetworkBandwidthLimitMbps = update.NetworkBandwidthLimitMbps ?? NetworkBandwidthLimitMbps,
        DiskWeight = update.DiskWeight ?? DiskWeight,
    };
}
