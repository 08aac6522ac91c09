namespace VmEcosystem.Cluster;

/// <summary>
/// An amount of every resource the library reasons about. Used for capacities (hosts), allocations (VMs),
/// demands (metric samples) and reservations (shadow slots). Immutable; arithmetic is element-wise.
/// </summary>
/// <param name="CpuCores">Logical CPUs: physical cores (PEs) of a host, vCPUs of a VM.</param>
/// <param name="CpuMhz">CPU capacity or demand in MHz (MIPS in CloudSim's terms), summed over all cores.</param>
/// <param name="MemoryMiB">Memory in MiB.</param>
/// <param name="NetworkMbps">Network bandwidth in Mbit/s (receive plus transmit).</param>
/// <param name="DiskIops">Disk I/O operations per second (read plus write).</param>
/// <param name="GpuMemoryGiB">GPU memory in GiB.</param>
public readonly record struct ResourceVector(
    double CpuCores,
    double CpuMhz,
    double MemoryMiB,
    double NetworkMbps = 0,
    double DiskIops = 0,
    double GpuMemoryGiB = 0)
{
    /// <summary>No resources at all.</summary>
    public static ResourceVector Zero => default;

    /// <summary>Number of dimensions, for code that iterates over them.</summary>
    public const int Dimensions = 6;

    /// <summary>Gets one dimension by index (0 = cores, 1 = MHz, 2 = memory, 3 = network, 4 = disk, 5 = GPU memory).</summary>
    public double this[int dimension] => dimension switch
    {
        0 => CpuCores,
        1 => CpuMhz,
        2 => MemoryMiB,
        3 => NetworkMbps,
        4 => DiskIops,
        5 => GpuMemoryGiB,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "A resource vector has dimensions 0..5."),
    };

    /// <summary>Element-wise sum.</summary>
    public static ResourceVector operator +(ResourceVector a, ResourceVector b) => new(
        a.CpuCores + b.CpuCores, a.CpuMhz + b.CpuMhz, a.MemoryMiB + b.MemoryMiB,
        a.NetworkMbps + b.NetworkMbps, a.DiskIops + b.DiskIops, a.GpuMemoryGiB + b.GpuMemoryGiB);

    /// <summary>Element-wise difference (may be negative).</summary>
    public static ResourceVector operator -(ResourceVector a, ResourceVector b) => new(
        a.CpuCores - b.CpuCores, a.CpuMhz - b.CpuMhz, a.MemoryMiB - b.MemoryMiB,
        a.NetworkMbps - b.NetworkMbps, a.DiskIops - b.DiskIops, a.GpuMemoryGiB - b.GpuMemoryGiB);

    /// <summary>Scales every dimension.</summary>
    public static ResourceVector operator *(ResourceVector a, double factor) => new(
        a.CpuCores * factor, a.CpuMhz * factor, a.MemoryMiB * factor,
        a.NetworkMbps * factor, a.DiskIops * factor, a.GpuMemoryGiB * factor);

    /// <summary>Element-wise maximum.</summary>
    public static ResourceVector Max(ResourceVector a, ResourceVector b) => new(
        Math.Max(a.CpuCores, b.CpuCores), Math.Max(a.CpuMhz, b.CpuMhz), Math.Max(a.MemoryMiB, b.MemoryMiB),
        Math.Max(a.NetworkMbps, b.NetworkMbps), Math.Max(a.DiskIops, b.DiskIops), Math.Max(a.GpuMemoryGiB, b.GpuMemoryGiB));

    /// <summary>Element-wise minimum.</summary>
    public static ResourceVector Min(ResourceVector a, ResourceVector b) => new(
        Math.Min(a.CpuCores, b.CpuCores), Math.Min(a.CpuMhz, b.CpuMhz), Math.Min(a.MemoryMiB, b.MemoryMiB),
        Math.Min(a.NetworkMbps, b.NetworkMbps), Math.Min(a.DiskIops, b.DiskIops), Math.Min(a.GpuMemoryGiB, b.GpuMemoryGiB));

    /// <summary>Negative components clamped to zero.</summary>
    public ResourceVector ClampNegative() => Max(this, Zero);

    /// <summary>True when every dimension of this vector is at most the same dimension of <paramref name="capacity"/>.</summary>
    /// <remarks>The CPU-core dimension is ignored: vCPUs are over-committed, MHz are what is shared.</remarks>
    public bool FitsWithin(ResourceVector capacity) =>
        CpuMhz <= capacity.CpuMhz && MemoryMiB <= capacity.MemoryMiB && NetworkMbps <= capacity.NetworkMbps
        && DiskIops <= capacity.DiskIops && GpuMemoryGiB <= capacity.GpuMemoryGiB;

    /// <summary>
    /// The largest share of <paramref name="capacity"/> this vector uses in any dimension that has capacity
    /// (0 when nothing is used; can exceed 1 when over-committed).
    /// </summary>
    public double DominantShareOf(ResourceVector capacity)
    {
        double share = 0;
        for (int d = 1; d < Dimensions; d++)
        {
            double cap = capacity[d];
            if (cap > 0)
            {
                share = Math.Max(share, this[d] / cap);
            }
        }

        return share;
    }

    /// <summary>True when every dimension is finite and non-negative.</summary>
    public bool IsValidAmount()
    {
        for (int d = 0; d < Dimensions; d++)
        {
            double v = this[d];
            if (!double.IsFinite(v) || v < 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Names of the dimensions, index-aligned with the indexer.</summary>
    public static IReadOnlyList<string> DimensionNames { get; } =
        ["cpuCores", "cpuMhz", "memoryMiB", "networkMbps", "diskIops", "gpuMemoryGiB"];
}
