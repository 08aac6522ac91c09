using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// A provider that offers only the <see cref="IHypervisor"/> contract of another (no <see cref="IPlanningStateSource"/>
/// side: what a libvirt or vSphere provider offers); tests override what they need to break.
/// </summary>
internal class DelegatingHypervisor(IHypervisor inner) : IHypervisor
{
    public string Name => inner.Name;

    public HypervisorCapabilities Capabilities => inner.Capabilities;

    public virtual Task<InventorySnapshot> GetInventoryAsync(CancellationToken cancellationToken = default) => inner.GetInventoryAsync(cancellationToken);

    public virtual IAsyncEnumerable<InventoryChange> WatchInventoryAsync(CancellationToken cancellationToken = default) => inner.WatchInventoryAsync(cancellationToken);

    public virtual Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default) =>
        inner.GetVmMetricsAsync(vms, cancellationToken);

    public Task<IReadOnlyList<HostMetricSample>> GetHostMetricsAsync(CancellationToken cancellationToken = default) => inner.GetHostMetricsAsync(cancellationToken);

    public Task<VmInfo> HotPlugAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken = default) => inner.HotPlugAsync(vm, request, cancellationToken);

    public Task<ResourceControls> GetResourceControlsAsync(VmId vm, CancellationToken cancellationToken = default) => inner.GetResourceControlsAsync(vm, cancellationToken);

    public virtual Task<ResourceControls> SetResourceControlsAsync(VmId vm, ResourceControls controls, CancellationToken cancellationToken = default) =>
        inner.SetResourceControlsAsync(vm, controls, cancellationToken);

    public virtual Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default) =>
        inner.StartMigrationAsync(request, cancellationToken);

    public Task<IMigrationOperation?> FindRunningMigrationAsync(VmId vm, CancellationToken cancellationToken = default) =>
        inner.FindRunningMigrationAsync(vm, cancellationToken);
}
