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
    /// <summary>The simulator without its <see cref="IPlanningStateSource"/> side: what a libvirt or vSphere provider offers.</summary>
    private sealed class ContractOnly(IHypervisor inner) : IHypervisor
    {
        public string Name => inner.Name;

        public HypervisorCapabilities Capabilities => inner.Capabilities;

        public Task<InventorySnapshot> GetInventoryAsync(CancellationToken cancellationToken = default) => inner.GetInventoryAsync(cancellationToken);

        public IAsyncEnumerable<InventoryChange> WatchInventoryAsync(CancellationToken cancellationToken = default) => inner.WatchInventoryAsync(cancellationToken);

        public Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default) =>
            inner.GetVmMetricsAsync(vms, cancellationToken);

        public Task<IReadOnlyList<HostMetricSample>> GetHostMetricsAsync(CancellationToken cancellationToken = default) => inner.GetHostMetricsAsync(cancellationToken);

        public Task<VmInfo> HotPlugAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken = default) => inner.HotPlugAsync(vm, request, cancellationToken);

        public Task<ResourceControls> GetResourceControlsAsync(VmId vm, CancellationToken cancellationToken = default) => inner.GetResourceControlsAsync(vm, cancellationToken);

        public Task<ResourceControls> SetResourceControlsAsync(VmId vm, ResourceControls controls, CancellationToken cancellationToken = default) =>
            inner.SetResourceControlsAsync(vm, controls, cancellationToken);

        public Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default) =>
            inner.StartMigrationAsync(request, cancellationToken);
    }

    [Fact]
    public async Task Maintenance_evacuates_a_host_observed_through_inventory_and_samples()
    {
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 }, HostCount = 30 }, clock);
        var provider = new ContractOnly(simulator);
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
