using VmEcosystem.Cluster;

namespace VmEcosystem.Adjustment;

/// <summary>What a VM uses, in the units resizing sizes by.</summary>
/// <param name="CpuCores">CPU in use, cores.</param>
/// <param name="MemoryMiB">Memory in use, MiB.</param>
/// <param name="DiskIops">Disk operations per second (null: the provider's sample).</param>
/// <param name="NetworkMbps">Network throughput, Mbit/s, received plus sent (null: the provider's sample).</param>
public readonly record struct ResourceUse(double CpuCores, double MemoryMiB, double? DiskIops = null, double? NetworkMbps = null);

/// <summary>
/// Where the resizing controller reads a VM's use when the provider's samples are not the measure to size by (an
/// in-guest agent that knows the memory the application holds, an application's own demand series). Register one in
/// the container; without one, the provider's samples are used.
/// </summary>
public interface IResizingUsageSource
{
    /// <summary>The VM's use now, or null to use the provider's sample.</summary>
    ValueTask<ResourceUse?> GetUseAsync(VmInfo vm, CancellationToken cancellationToken);
}
