using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Conformance;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Simulation;

/// <summary>The simulator behind the public entry point, on a virtual clock, with a small deterministic cluster.</summary>
public sealed class SimulatorFixture : IHypervisorFixture
{
    private readonly ConditionalWeakTable<HypervisorProvider, VirtualClock> _clocks = [];

    public TimeSpan MigrationTimeout => TimeSpan.FromMinutes(10);

    public static SimulationScenario SmallScenario()
    {
        var hosts = Enumerable.Range(0, 4).Select(i => new HostInfo(new HostId($"h{i}"), new ResourceVector(2, 4000, 8192, 1000, 5000))
        {
            PowerModel = new LinearPowerModel(100, 200),
            Location = new TopologyLocation("z1", $"r{i / 2}"),
        }).ToArray();
        var traces = SyntheticWorkload.Generate(new SyntheticWorkloadOptions { VmCount = 8, Seed = 7 });
        var vms = traces.Select((t, i) => new SimulatedVm(
            new VmInfo(new VmId($"vm{i}"), new ResourceVector(1, 1000, 1024, 100, 500)) { MaxAllocation = new ResourceVector(4, 4000, 4096, 100, 500) },
            t)).ToArray();
        return new SimulationScenario("small", hosts, vms, SimulationModel.Default);
    }

    public Task<HypervisorProvider> CreateProviderAsync()
    {
        var clock = new VirtualClock();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddVmEcosystem(b => b.UseSimulator(o => o.Scenario = SmallScenario));
        var provider = (HypervisorProvider)services.BuildServiceProvider().GetRequiredService<IHypervisor>();
        _clocks.Add(provider, clock);
        return Task.FromResult(provider);
    }

    public async Task LetTimePassAsync(HypervisorProvider provider, TimeSpan duration)
    {
        Assert.True(_clocks.TryGetValue(provider, out var clock));
        clock!.Advance(duration);
        await Task.Yield();
    }

    public async Task<(VmId Vm, HostId Target)> PickMigrationAsync(HypervisorProvider provider)
    {
        var inventory = await provider.GetInventoryAsync();
        var vm = inventory.Vms[0].Id;
        Assert.True(inventory.TryGetHostOf(vm, out var source));
        var target = inventory.Hosts.Select(h => h.Id).Where(h => h != source)
            .OrderBy(h => inventory.VmsOn(h).Count()).ThenBy(h => h.Value, StringComparer.Ordinal).First();
        return (vm, target);
    }
}

public sealed class SimulatorInventoryConformance(SimulatorFixture f) : InventoryConformance(f), IClassFixture<SimulatorFixture>;

public sealed class SimulatorMetricsConformance(SimulatorFixture f) : MetricsConformance(f), IClassFixture<SimulatorFixture>;

public sealed class SimulatorHotPlugConformance(SimulatorFixture f) : HotPlugConformance(f), IClassFixture<SimulatorFixture>;

public sealed class SimulatorResourceControlConformance(SimulatorFixture f) : ResourceControlConformance(f), IClassFixture<SimulatorFixture>;

public sealed class SimulatorMigrationConformance(SimulatorFixture f) : MigrationConformance(f), IClassFixture<SimulatorFixture>;

public sealed class SimulatorConformanceCoverage : ConformanceCoverage;
