using VmEcosystem.Hypervisor;
using Xunit;

namespace VmEcosystem.Conformance;

/// <summary>CPU shares/quota, memory reservation/limit, disk and network limits.</summary>
[ConformanceSuite]
public abstract class ResourceControlConformance(IHypervisorFixture fixture) : ConformanceSuiteBase(fixture)
{
    [Fact]
    public async Task Cpu_shares_read_back()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.CpuShares);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        var applied = await provider.SetResourceControlsAsync(vm, new ResourceControls { CpuShares = 512 });
        Assert.Equal(512, applied.CpuShares);
        Assert.Equal(512, (await provider.GetResourceControlsAsync(vm)).CpuShares);
    }

    [Fact]
    public async Task Cpu_quota_reads_back()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.CpuQuota);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        await provider.SetResourceControlsAsync(vm, new ResourceControls { CpuQuota = 0.5 });
        Assert.Equal(0.5, (await provider.GetResourceControlsAsync(vm)).CpuQuota!.Value, 3);
    }

    [Fact]
    public async Task Memory_reservation_and_limit_read_back()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.MemoryReservation | HypervisorCapabilities.MemoryLimit);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        await provider.SetResourceControlsAsync(vm, new ResourceControls { MemoryReservationMiB = 64, MemoryLimitMiB = 4096 });
        var read = await provider.GetResourceControlsAsync(vm);
        Assert.Equal(64, read.MemoryReservationMiB!.Value, 0);
        Assert.Equal(4096, read.MemoryLimitMiB!.Value, 0);
    }

    [Fact]
    public async Task Disk_and_network_limits_read_back()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.DiskIopsLimit | HypervisorCapabilities.NetworkBandwidthLimit);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        await provider.SetResourceControlsAsync(vm, new ResourceControls { DiskIopsLimit = 500, NetworkBandwidthLimitMbps = 100 });
        var read = await provider.GetResourceControlsAsync(vm);
        Assert.Equal(500, read.DiskIopsLimit!.Value, 0);
        Assert.Equal(100, read.NetworkBandwidthLimitMbps!.Value, 0);
    }

    [Fact]
    public async Task Reservation_above_limit_is_rejected()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.MemoryReservation | HypervisorCapabilities.MemoryLimit);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument,
            () => provider.SetResourceControlsAsync(vm, new ResourceControls { MemoryReservationMiB = 2048, MemoryLimitMiB = 1024 }));
    }
}
