using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Hosting;

public sealed class RegistrationTests
{
    [Fact]
    public void Adding_twice_registers_each_service_once()
    {
        var services = new ServiceCollection();
        services.AddVmEcosystem(b => b.UseSimulator());
        int count = services.Count;
        services.AddVmEcosystem(b => b.UseSimulator());
        Assert.Equal(1, services.Count(d => d.ServiceType == typeof(IHypervisor)));
        Assert.Equal(1, services.Count(d => d.ServiceType == typeof(TimeProvider)));
        Assert.Equal(1, services.Count(d => d.ServiceType == typeof(RandomSource)));
        Assert.True(services.Count - count <= 3, "Only option configuration may be added again.");
    }

    [Fact]
    public void Two_different_providers_are_a_clear_error()
    {
        var services = new ServiceCollection();
        var ex = Assert.Throws<InvalidOperationException>(() => services.AddVmEcosystem(b =>
        {
            b.UseSimulator();
            b.UseProvider("other", _ => throw new NotSupportedException());
        }));
        Assert.Contains("'simulator'", ex.Message);
        Assert.Contains("'other'", ex.Message);
    }

    [Fact]
    public async Task Invalid_simulator_options_fail_at_start_naming_the_setting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddVmEcosystem(b => b.UseSimulator(o =>
        {
            o.TraceDirectory = "/definitely/not/here";
            o.HostCount = 0;
            o.MigrationFailureProbability = 2;
        }));
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("VmEcosystem:Simulator:TraceDirectory", ex.Message);
        Assert.Contains("VmEcosystem:Simulator:HostCount", ex.Message);
        Assert.Contains("VmEcosystem:Simulator:MigrationFailureProbability", ex.Message);
    }

    [Fact]
    public void Randomness_is_reproducible_per_seed_and_purpose()
    {
        var a = new RandomSource(5).Create("planner").Next();
        var b = new RandomSource(5).Create("planner").Next();
        var c = new RandomSource(5).Create("tuner").Next();
        var d = new RandomSource(6).Create("planner").Next();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.NotEqual(a, d);
    }

    [Fact]
    public async Task The_simulator_resolves_through_the_container_with_an_injected_clock()
    {
        var clock = new VirtualClock();
        var services = new ServiceCollection().AddSingleton<TimeProvider>(clock);
        services.AddVmEcosystem(b => b.UseSimulator(o => o.Synthetic = new SyntheticWorkloadOptions { VmCount = 30 }));
        await using var sp = services.BuildServiceProvider();
        var hypervisor = sp.GetRequiredService<IHypervisor>();
        Assert.Equal("simulator", hypervisor.Name);
        var inventory = await hypervisor.GetInventoryAsync();
        Assert.Equal(30, inventory.Vms.Count);
        Assert.Equal(clock.GetUtcNow(), inventory.Timestamp);
    }
}
