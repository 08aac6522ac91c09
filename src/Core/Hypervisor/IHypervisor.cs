using VmEcosystem.Cluster;

namespace VmEcosystem.Hypervisor;

/// <summary>
/// The contract every hypervisor provider implements (simulator, libvirt, Hyper-V, vSphere). Implement it by
/// deriving from <see cref="HypervisorProvider"/>, which validates arguments, checks capabilities, keeps
/// migrations idempotent and translates every failure into a <see cref="HypervisorException"/>.
/// </summary>
public interface IHypervisor
{
    /// <summary>Provider name for logs and errors (<c>simulator</c>, <c>libvirt</c>, ...).</summary>
    string Name { get; }

    /// <summary>What this provider supports.</summary>
    HypervisorCapabilities Capabilities { get; }

    /// <summary>Lists hosts, VMs and placements.</summary>
    Task<InventorySnapshot> GetInventoryAsync(CancellationToken cancellationToken = default);

    /// <summary>Streams inventory changes published from this call on, until cancelled, disposed, or the provider is disposed.</summary>
    IAsyncEnumerable<InventoryChange> WatchInventoryAsync(CancellationToken cancellationToken = default);

    /// <summary>Samples resource use of the given VMs (all running VMs when null).</summary>
    Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(
        IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default);

    /// <summary>Samples every host.</summary>
    Task<IReadOnlyList<HostMetricSample>> GetHostMetricsAsync(CancellationToken cancellationToken = default);

    /// <summary>Changes vCPUs and/or memory of a running VM; returns the VM as it is afterwards.</summary>
    Task<VmInfo> HotPlugAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken = default);

    /// <summary>Reads a VM's resource controls.</summary>
    Task<ResourceControls> GetResourceControlsAsync(VmId vm, CancellationToken cancellationToken = default);

    /// <summary>Applies resource controls (null properties are left as they are); returns the controls afterwards.</summary>
    Task<ResourceControls> SetResourceControlsAsync(
        VmId vm, ResourceControls controls, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a live migration and returns once the provider accepted it. Idempotent: while a migration of the
    /// VM to the same target runs, the same operation is returned; to another target, a
    /// <see cref="HypervisorErrorKind.Conflict"/> error is thrown.
    /// </summary>
    Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The migration of <paramref name="vm"/> the provider is running now, or null when it knows of none. A runtime
    /// that restarts uses it to follow a move its previous process started to its real end. Starts nothing.
    /// </summary>
    Task<IMigrationOperation?> FindRunningMigrationAsync(VmId vm, CancellationToken cancellationToken = default) =>
        Task.FromResult<IMigrationOperation?>(null);
}
