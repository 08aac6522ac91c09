using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using Xunit;

namespace VmEcosystem.Conformance;

/// <summary>Helpers shared by the suites.</summary>
public abstract class ConformanceSuiteBase(IHypervisorFixture fixture)
{
    protected IHypervisorFixture Fixture { get; } = fixture;

    /// <summary>Skips the test unless the provider has every capability in <paramref name="needed"/>.</summary>
    protected static void Require(IHypervisor provider, HypervisorCapabilities needed)
    {
        var missing = needed & ~provider.Capabilities;
        Assert.SkipWhen(missing != HypervisorCapabilities.None, $"Provider '{provider.Name}' does not support {missing}.");
    }

    /// <summary>Asserts that <paramref name="call"/> throws a <see cref="HypervisorException"/> of the given kind naming the provider.</summary>
    protected static async Task<HypervisorException> AssertFailsAsync(HypervisorErrorKind kind, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<HypervisorException>(call);
        Assert.Equal(kind, ex.Kind);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        return ex;
    }

    /// <summary>Lets provider time pass until the migration completes or the fixture's timeout elapses.</summary>
    protected async Task<MigrationResult> CompleteAsync(HypervisorProvider provider, IMigrationOperation operation)
    {
        var step = TimeSpan.FromTicks(Math.Max(Fixture.MigrationTimeout.Ticks / 200, TimeSpan.FromMilliseconds(100).Ticks));
        var waited = TimeSpan.Zero;
        while (!operation.Completion.IsCompleted && waited < Fixture.MigrationTimeout)
        {
            await Fixture.LetTimePassAsync(provider, step);
            waited += step;
        }

        Assert.True(operation.Completion.IsCompleted, $"Migration {operation.Id} did not finish within {Fixture.MigrationTimeout}.");
        return await operation.Completion;
    }

    /// <summary>The hosts each VM appears on; every VM must appear exactly once.</summary>
    protected static void AssertEveryVmOnExactlyOneHost(InventorySnapshot inventory)
    {
        var counts = inventory.Placements.GroupBy(p => p.Vm).ToDictionary(g => g.Key, g => g.Count());
        foreach (var vm in inventory.Vms)
        {
            Assert.True(counts.TryGetValue(vm.Id, out int n) && n == 1, $"VM '{vm.Id}' is placed {n} times.");
        }
    }

    protected static HostId HostOf(InventorySnapshot inventory, VmId vm)
    {
        Assert.True(inventory.TryGetHostOf(vm, out var host), $"VM '{vm}' is not in the inventory.");
        return host;
    }
}
