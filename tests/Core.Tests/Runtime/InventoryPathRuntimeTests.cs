using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>The runtime observes a provider that offers only the contract (inventory, samples, events) like any real one.</summary>
public sealed class InventoryPathRuntimeTests
{
    [Fact]
    public async Task Maintenance_evacuates_a_host_observed_through_inventory_and_samples()
    {
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 }, HostCount = 30 }, clock);
        var provider = new DelegatingHypervisor(simulator);
        Assert.False(((object)provider) is IPlanningStateSource);
        await using var runtime = new EcosystemRuntime(provider, PredictivePolicy.Create(),
            Options.Create(new RuntimeOptions { Mode = ExecutionMode.Automatic, PlanOnForecastAbove = null, MaxConcurrentMigrationsPerHost = 2 }), clock);
        var ct = TestContext.Current.CancellationToken;
        await runtime.StartAsync(ct);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(10), ct);
        var host = (await provider.GetInventoryAsync(ct)).Placements.GroupBy(p => p.Host).OrderByDescending(g => g.Count()).First().Key;

        await runtime.EnterMaintenanceAsync(host);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(2), ct);

        Assert.DoesNotContain((await provider.GetInventoryAsync(ct)).Placements, p => p.Host == host);
        Assert.True(runtime.Status.Observations >= 20);
        Assert.True(runtime.Status.Migrations.Succeeded > 0);
        Assert.Equal(0, runtime.Status.Migrations.Failed);
        Assert.True(runtime.Status.PeakConcurrency.PerHost <= 2);
        await SimulatedRuntime.StopAsync(runtime, clock);
    }
}
