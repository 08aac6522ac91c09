namespace VmEcosystem.Hypervisor;

/// <summary>
/// What a provider can do. Callers check these before relying on an operation; the provider base class
/// rejects calls to missing capabilities with <see cref="HypervisorErrorKind.NotSupported"/>, and the
/// conformance suite skips the tests of missing capabilities.
/// </summary>
[Flags]
public enum HypervisorCapabilities : long
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>Hosts, VMs and placements can be listed.</summary>
    Inventory = 1 << 0,

    /// <summary>Inventory changes are pushed as events.</summary>
    InventoryEvents = 1 << 1,

    /// <summary>Per-VM CPU and memory samples.</summary>
    VmMetrics = 1 << 2,

    /// <summary>Per-VM disk samples (IOPS and bytes).</summary>
    DiskMetrics = 1 << 3,

    /// <summary>Per-VM network samples.</summary>
    NetworkMetrics = 1 << 4,

    /// <summary>Per-host samples.</summary>
    HostMetrics = 1 << 5,

    /// <summary>Application metrics (latency, throughput) in VM samples.</summary>
    ApplicationMetrics = 1 << 6,

    /// <summary>vCPUs can be added to a running VM.</summary>
    HotPlugCpu = 1 << 7,

    /// <summary>vCPUs can be removed from a running VM.</summary>
    HotUnplugCpu = 1 << 8,

    /// <summary>Memory of a running VM can be changed (balloon or DIMM).</summary>
    HotPlugMemory = 1 << 9,

    /// <summary>CPU shares (weight) can be set.</summary>
    CpuShares = 1 << 10,

    /// <summary>A CPU quota (hard cap) can be set.</summary>
    CpuQuota = 1 << 11,

    /// <summary>A memory reservation (soft guarantee) can be set.</summary>
    MemoryReservation = 1 << 12,

    /// <summary>A memory limit (hard cap) can be set.</summary>
    MemoryLimit = 1 << 13,

    /// <summary>A disk IOPS limit can be set.</summary>
    DiskIopsLimit = 1 << 14,

    /// <summary>A network bandwidth limit can be set.</summary>
    NetworkBandwidthLimit = 1 << 15,

    /// <summary>VMs can be live-migrated between hosts.</summary>
    LiveMigration = 1 << 16,

    /// <summary>Migrations report progress while they run.</summary>
    MigrationProgress = 1 << 17,

    /// <summary>A running migration can be cancelled.</summary>
    MigrationCancellation = 1 << 18,

    /// <summary>Migrations report the guest's dirty-page rate.</summary>
    DirtyPageRate = 1 << 19,

    /// <summary>Migration bandwidth and maximum downtime can be set per migration, and the bandwidth changed while it runs.</summary>
    MigrationTuning = 1 << 20,

    /// <summary>A relative disk I/O weight can be set.</summary>
    DiskWeight = 1 << 21,

    /// <summary>Every resource control.</summary>
    AllResourceControls = CpuShares | CpuQuota | MemoryReservation | MemoryLimit | DiskIopsLimit | NetworkBandwidthLimit | DiskWeight,

    /// <summary>Every metric kind.</summary>
    AllMetrics = VmMetrics | DiskMetrics | NetworkMetrics | HostMetrics | ApplicationMetrics,
}
