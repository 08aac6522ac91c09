using VmEcosystem.Hypervisor;
using Xunit;

namespace VmEcosystem.Conformance;

/// <summary>VM and host metric samples.</summary>
[ConformanceSuite]
public abstract class MetricsConformance(IHypervisorFixture fixture) : ConformanceSuiteBase(fixture)
{
    [Fact]
    public async Task Vm_metrics_cover_every_vm_with_finite_non_negative_values()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.VmMetrics);
        await Fixture.LetTimePassAsync(provider, TimeSpan.FromMinutes(10));
        var inventory = await provider.GetInventoryAsync();
        var samples = await provider.GetVmMetricsAsync();
        var running = inventory.Vms.Where(v => v.State == Cluster.VmPowerState.Running).Select(v => v.Id).ToHashSet();
        Assert.Subset(samples.Select(s => s.Vm).ToHashSet(), running);
        Assert.Equal(samples.Count, samples.Select(s => s.Vm).Distinct().Count());
        var now = (await provider.GetInventoryAsync()).Timestamp;
        foreach (var s in samples)
        {
            foreach (var value in new[] { s.CpuMhz, s.CpuUtilization, s.MemoryMiB, s.NetworkRxMbps, s.NetworkTxMbps, s.DiskReadIops, s.DiskWriteIops })
            {
                Assert.True(double.IsFinite(value) && value >= 0, $"VM '{s.Vm}' reported {value}.");
            }

            Assert.True(s.Timestamp <= now.AddSeconds(5), $"VM '{s.Vm}' sample is from the future ({s.Timestamp:O}).");
        }
    }

    [Fact]
    public async Task Metrics_of_selected_vms_come_back_for_exactly_those_vms()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.VmMetrics);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        var samples = await provider.GetVmMetricsAsync([vm]);
        Assert.Single(samples);
        Assert.Equal(vm, samples[0].Vm);
    }

    [Fact]
    public async Task Host_metrics_cover_every_host_with_utilization_in_range()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.HostMetrics);
        var inventory = await provider.GetInventoryAsync();
        var samples = await provider.GetHostMetricsAsync();
        Assert.Equal(inventory.Hosts.Select(h => h.Id).Order(), samples.Select(s => s.Host).Order());
        Assert.All(samples, s => Assert.InRange(s.CpuUtilization, 0, 1));
    }
}
