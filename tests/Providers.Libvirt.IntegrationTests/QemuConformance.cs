using VmEcosystem.Cluster;
using VmEcosystem.Conformance;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>
/// The provider-agnostic suites that are safe on the shared QEMU guest, run against real libvirtd as well as the
/// test driver: inventory, metrics and every migration test the driver cannot run. (Hot-plug and resource-control
/// suites run on the test driver; here they would shrink vCPUs or set a memory hard limit, which this sandbox
/// cannot migrate afterwards: see NOTES in the README's libvirt section.)
/// </summary>
public sealed class QemuFixture(QemuHosts hosts) : IHypervisorFixture
{
    public TimeSpan MigrationTimeout => TimeSpan.FromMinutes(2);

    public Task<HypervisorProvider> CreateProviderAsync() => Task.FromResult<HypervisorProvider>(hosts.CreateProvider());

    public Task LetTimePassAsync(HypervisorProvider provider, TimeSpan duration) =>
        Task.Delay(duration < TimeSpan.FromMilliseconds(500) ? duration : TimeSpan.FromMilliseconds(500));

    public async Task<(VmId Vm, HostId Target)> PickMigrationAsync(HypervisorProvider provider)
    {
        var (_, other) = await QemuHosts.LocateVmAsync(provider);
        return (new VmId(QemuHosts.Vm), other);
    }
}

public sealed class QemuInventoryConformance(QemuHosts hosts) : InventoryConformance(new QemuFixture(hosts));

public sealed class QemuMetricsConformance(QemuHosts hosts) : MetricsConformance(new QemuFixture(hosts));

public sealed class QemuMigrationConformance(QemuHosts hosts) : MigrationConformance(new QemuFixture(hosts));
