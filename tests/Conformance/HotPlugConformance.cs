using VmEcosystem.Hypervisor;
using Xunit;

namespace VmEcosystem.Conformance;

/// <summary>Hot-plug of vCPUs and memory.</summary>
[ConformanceSuite]
public abstract class HotPlugConformance(IHypervisorFixture fixture) : ConformanceSuiteBase(fixture)
{
    [Fact]
    public async Task Adding_a_vcpu_is_visible_in_the_inventory()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.HotPlugCpu);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        var before = await provider.GetInventoryAsync();
        Assert.True(before.TryGetVm(vm, out var info));
        int vcpus = (int)info.Allocation.CpuCores;
        Assert.SkipWhen(vcpus >= info.MaxAllocation.CpuCores, $"VM '{vm}' already has its maximum of {vcpus} vCPUs.");
        var updated = await provider.HotPlugAsync(vm, new HotPlugRequest(Vcpus: vcpus + 1));
        Assert.Equal(vcpus + 1, updated.Allocation.CpuCores);
        var after = await provider.GetInventoryAsync();
        Assert.True(after.TryGetVm(vm, out var now));
        Assert.Equal(vcpus + 1, now.Allocation.CpuCores);
    }

    [Fact]
    public async Task Changing_memory_is_visible_in_the_inventory()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.HotPlugMemory);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        var inventory = await provider.GetInventoryAsync();
        Assert.True(inventory.TryGetVm(vm, out var info));
        // Grow when the VM may (vSphere cannot take memory from a running VM); otherwise shrink (balloon).
        double grown = Math.Ceiling(info.Allocation.MemoryMiB * 1.25 / 4) * 4;
        double target = grown <= info.MaxAllocation.MemoryMiB ? grown : Math.Floor(info.Allocation.MemoryMiB * 0.75);
        var updated = await provider.HotPlugAsync(vm, new HotPlugRequest(MemoryMiB: target));
        Assert.Equal(target, updated.Allocation.MemoryMiB, 0);
        var after = await provider.GetInventoryAsync();
        Assert.True(after.TryGetVm(vm, out var now));
        Assert.Equal(target, now.Allocation.MemoryMiB, 0);
    }

    [Fact]
    public async Task Growing_beyond_the_maximum_fails_with_InvalidArgument()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.HotPlugCpu);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        var inventory = await provider.GetInventoryAsync();
        Assert.True(inventory.TryGetVm(vm, out var info));
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument,
            () => provider.HotPlugAsync(vm, new HotPlugRequest(Vcpus: (int)info.MaxAllocation.CpuCores + 64)));
    }

    [Fact]
    public async Task Repeating_a_hot_plug_is_idempotent()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.HotPlugCpu);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        var inventory = await provider.GetInventoryAsync();
        Assert.True(inventory.TryGetVm(vm, out var info));
        int vcpus = (int)info.Allocation.CpuCores;
        var first = await provider.HotPlugAsync(vm, new HotPlugRequest(Vcpus: vcpus));
        var second = await provider.HotPlugAsync(vm, new HotPlugRequest(Vcpus: vcpus));
        Assert.Equal(first.Allocation, second.Allocation);
    }
}
