using VmEcosystem.Hypervisor;
using Xunit;

namespace VmEcosystem.Conformance;

/// <summary>Inventory, identity, argument checking and error translation.</summary>
[ConformanceSuite]
public abstract class InventoryConformance(IHypervisorFixture fixture) : ConformanceSuiteBase(fixture)
{
    [Fact]
    public async Task Provider_declares_a_name_and_the_inventory_capability()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Assert.False(string.IsNullOrWhiteSpace(provider.Name));
        Assert.True(provider.Capabilities.HasFlag(HypervisorCapabilities.Inventory));
    }

    [Fact]
    public async Task Inventory_is_internally_consistent()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        var inventory = await provider.GetInventoryAsync();
        Assert.NotEmpty(inventory.Hosts);
        Assert.NotEmpty(inventory.Vms);
        AssertEveryVmOnExactlyOneHost(inventory);
        foreach (var p in inventory.Placements)
        {
            Assert.True(inventory.TryGetHost(p.Host, out _), $"Placement names unknown host '{p.Host}'.");
        }

        var again = await provider.GetInventoryAsync();
        Assert.Equal(inventory.Hosts.Select(h => h.Id).Order(), again.Hosts.Select(h => h.Id).Order());
        Assert.True(again.Version >= inventory.Version);
    }

    [Fact]
    public async Task Operations_on_an_unknown_vm_fail_with_NotFound()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        var (_, target) = await Fixture.PickMigrationAsync(provider);
        await AssertFailsAsync(HypervisorErrorKind.NotFound, () => provider.GetResourceControlsAsync(Fixture.UnknownVm));
        if (provider.Capabilities.HasFlag(HypervisorCapabilities.VmMetrics))
        {
            await AssertFailsAsync(HypervisorErrorKind.NotFound, () => provider.GetVmMetricsAsync([Fixture.UnknownVm]));
        }

        if (provider.Capabilities.HasFlag(HypervisorCapabilities.LiveMigration))
        {
            await AssertFailsAsync(HypervisorErrorKind.NotFound, () => provider.StartMigrationAsync(new MigrationRequest(Fixture.UnknownVm, target)));
        }
    }

    [Fact]
    public async Task Invalid_arguments_are_rejected_with_InvalidArgument()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument, () => provider.HotPlugAsync(vm, new HotPlugRequest()));
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument, () => provider.HotPlugAsync(vm, new HotPlugRequest(Vcpus: 0)));
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument, () => provider.HotPlugAsync(vm, new HotPlugRequest(MemoryMiB: double.NaN)));
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument,
            () => provider.SetResourceControlsAsync(vm, new ResourceControls { MemoryLimitMiB = -1 }));
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument,
            () => provider.SetResourceControlsAsync(vm, new ResourceControls { CpuShares = 0 }));
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument,
            () => provider.StartMigrationAsync(new MigrationRequest(vm, new Cluster.HostId("x"), new MigrationOptions { Timeout = TimeSpan.Zero })));
    }

    [Fact]
    public async Task Missing_capabilities_fail_with_NotSupported()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        var (vm, target) = await Fixture.PickMigrationAsync(provider);
        var caps = provider.Capabilities;
        int checkedCount = 0;
        if (!caps.HasFlag(HypervisorCapabilities.HotPlugCpu))
        {
            checkedCount++;
            await AssertFailsAsync(HypervisorErrorKind.NotSupported, () => provider.HotPlugAsync(vm, new HotPlugRequest(Vcpus: 2)));
        }

        if (!caps.HasFlag(HypervisorCapabilities.CpuQuota))
        {
            checkedCount++;
            await AssertFailsAsync(HypervisorErrorKind.NotSupported, () => provider.SetResourceControlsAsync(vm, new ResourceControls { CpuQuota = 0.5 }));
        }

        if (!caps.HasFlag(HypervisorCapabilities.NetworkBandwidthLimit))
        {
            checkedCount++;
            await AssertFailsAsync(HypervisorErrorKind.NotSupported,
                () => provider.SetResourceControlsAsync(vm, new ResourceControls { NetworkBandwidthLimitMbps = 100 }));
        }

        if (!caps.HasFlag(HypervisorCapabilities.MigrationTuning))
        {
            checkedCount++;
            await AssertFailsAsync(HypervisorErrorKind.NotSupported,
                () => provider.StartMigrationAsync(new MigrationRequest(vm, target, new MigrationOptions { BandwidthMbps = 100 })));
        }

        if (!caps.HasFlag(HypervisorCapabilities.InventoryEvents))
        {
            checkedCount++;
            Assert.Throws<HypervisorException>(() => provider.WatchInventoryAsync());
        }

        Assert.SkipWhen(checkedCount == 0, $"Provider '{provider.Name}' supports every optional capability checked here.");
    }

    [Fact]
    public async Task Calls_after_dispose_throw_ObjectDisposedException()
    {
        var provider = await Fixture.CreateProviderAsync();
        await provider.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => provider.GetInventoryAsync());
    }
}
