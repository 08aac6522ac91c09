using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.Tests;

/// <summary>Registration, option validation, unreachable hosts and reconnection on the test driver.</summary>
public sealed class ProviderBehaviourTests
{
    [Fact]
    public async Task Invalid_options_fail_at_start_naming_each_setting_without_echoing_uris()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddVmEcosystem(b => b.UseLibvirt(o =>
        {
            o.Hosts.Add(new LibvirtHostOptions { Name = "a", Uri = "qemu+ssh://admin:s3cret@" });
            o.Hosts.Add(new LibvirtHostOptions { Name = "a", Uri = "not a uri", NetworkMbps = 0 });
            o.MigrationProgressInterval = TimeSpan.Zero;
        }));
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        string all = string.Join("\n", ex.Failures);
        Assert.Contains("Hosts[1]:Name 'a' is used by two hosts", all, StringComparison.Ordinal);
        Assert.Contains("Hosts[1]:Uri", all, StringComparison.Ordinal);
        Assert.Contains("Hosts[1]:NetworkMbps", all, StringComparison.Ordinal);
        Assert.Contains("MigrationProgressInterval", all, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hosts_and_settings_bind_from_the_libvirt_configuration_section()
    {
        TestDriverFixture.RequireLibvirt();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VmEcosystem:Runtime:Mode"] = "DryRun",
            ["VmEcosystem:Libvirt:KeepAliveInterval"] = "00:00:07",
            ["VmEcosystem:Libvirt:PeerToPeerMigration"] = "true",
            ["VmEcosystem:Libvirt:Hosts:0:Name"] = "host-a",
            ["VmEcosystem:Libvirt:Hosts:0:Uri"] = TestDriverFixture.HostA.Uri,
            ["VmEcosystem:Libvirt:Hosts:0:HostSet"] = "tenant-1",
            ["VmEcosystem:Libvirt:Hosts:1:Name"] = "host-b",
            ["VmEcosystem:Libvirt:Hosts:1:Uri"] = TestDriverFixture.HostB.Uri,
        });
        builder.Services.AddVmEcosystem(builder.Configuration.GetSection("VmEcosystem"), b => b.UseLibvirt());
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);

        var options = host.Services.GetRequiredService<IOptions<LibvirtOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(7), options.KeepAliveInterval);
        Assert.True(options.PeerToPeerMigration);
        Assert.Equal(["host-a", "host-b"], options.Hosts.Select(h => h.Name));
        var inventory = await host.Services.GetRequiredService<IHypervisor>().GetInventoryAsync(TestContext.Current.CancellationToken);
        Assert.Equal(["host-a", "host-b"], inventory.Hosts.Select(h => h.Id.Value).Order());
        Assert.Contains(inventory.HostSets, set => set.Id.Value == "tenant-1");
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_misspelled_libvirt_setting_fails_at_start()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["VmEcosystem:Libvirt:KeepAlive"] = "5" });
        builder.Services.AddVmEcosystem(builder.Configuration.GetSection("VmEcosystem"), b => b.UseLibvirt());
        using var host = builder.Build();
        var ex = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("KeepAlive", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_hosts_is_a_validation_error()
    {
        var result = new LibvirtOptionsValidator().Validate(null, new LibvirtOptions());
        Assert.True(result.Failed);
        Assert.Contains("Hosts must list at least one host", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_test_driver_declares_only_what_it_supports()
    {
        TestDriverFixture.RequireLibvirt();
        using var _ = new DisposeGuard(TestDriverFixture.Create());
        Assert.Equal(LibvirtHypervisor.TestDriverCapabilities, _.Provider.Capabilities);
        var qemu = LibvirtHypervisor.QemuCapabilities(new LibvirtOptions());
        Assert.True(qemu.HasFlag(HypervisorCapabilities.LiveMigration | HypervisorCapabilities.MigrationProgress | HypervisorCapabilities.CpuShares));
        Assert.False(qemu.HasFlag(HypervisorCapabilities.HotUnplugCpu));
        Assert.True(LibvirtHypervisor.QemuCapabilities(new LibvirtOptions { AllowVcpuUnplug = true }).HasFlag(HypervisorCapabilities.HotUnplugCpu));
    }

    [Fact]
    public async Task An_unreachable_host_is_left_out_of_inventory_and_metrics_and_migrating_to_it_fails_with_Unavailable()
    {
        var ct = TestContext.Current.CancellationToken;
        var nowhere = new LibvirtHostOptions { Name = "host-x", Uri = "qemu+tcp://admin:s3cret@127.0.0.1:1/system" };
        await using var provider = TestDriverFixture.Create(null, TestDriverFixture.HostA, nowhere);
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.Equal(["host-a"], inventory.Hosts.Select(h => h.Id.Value));
        Assert.Equal(new HostId("host-a"), inventory.Placements.Single(p => p.Vm == new VmId("web1")).Host);

        // Metrics of the reachable host still come back.
        Assert.Equal(["web1"], (await provider.GetVmMetricsAsync(null, ct)).Select(m => m.Vm.Value));
        Assert.Equal(["host-a"], (await provider.GetHostMetricsAsync(ct)).Select(m => m.Host.Value));

        var ex = await Assert.ThrowsAsync<HypervisorException>(() => provider.StartMigrationAsync(new MigrationRequest(new VmId("web1"), new HostId("host-x")), ct));
        Assert.Equal(HypervisorErrorKind.Unavailable, ex.Kind);
        Assert.Contains("host-x", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", ex.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, provider.MigrationsInFlight);
        Assert.Equal(new HostId("host-a"), (await provider.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == new VmId("web1")).Host);
    }

    [Fact]
    public async Task A_dropped_connection_is_reopened_and_watchers_are_told_to_resync()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = TestDriverFixture.Create();
        await provider.GetInventoryAsync(ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var resync = Task.Run(async () =>
        {
            await foreach (var change in provider.WatchInventoryAsync(cts.Token))
            {
                if (change is InventoryResyncRequired r)
                {
                    return r;
                }
            }

            return null;
        }, ct);
        await Task.Delay(50, ct);
        provider.DropConnection(new HostId("host-a"));
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.True(inventory.TryGetVm(new VmId("web1"), out _));
        var evt = await resync.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.NotNull(evt);
        Assert.Contains("host-a", evt.Reason, StringComparison.Ordinal);
        await cts.CancelAsync();
    }

    [Fact]
    public async Task Host_options_shape_the_inventorys_hosts()
    {
        var ct = TestContext.Current.CancellationToken;
        var a = TestDriverFixture.HostA;
        a.HostSet = "pool-1";
        a.Zone = "z1";
        a.Rack = "r7";
        a.NetworkMbps = 25_000;
        a.Labels["gpu"] = "none";
        var b = TestDriverFixture.HostB;
        b.HostSet = "pool-1";
        await using var provider = TestDriverFixture.Create(null, a, b);
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.True(inventory.TryGetHost(new HostId("host-a"), out var hostA));
        Assert.Equal(new HostSetId("pool-1"), hostA.HostSet);
        Assert.Equal(new TopologyLocation("z1", "r7"), hostA.Location);
        Assert.Equal("none", hostA.Labels["gpu"]);
        Assert.Equal(8, hostA.Capacity.CpuCores); // host-a.xml: 8 CPUs at 2400 MHz, 16 GiB
        Assert.Equal(8 * 2400, hostA.Capacity.CpuMhz);
        Assert.Equal(16 * 1024, hostA.Capacity.MemoryMiB);
        Assert.Equal(25_000, hostA.Capacity.NetworkMbps);
        var set = Assert.Single(inventory.HostSets);
        Assert.Equal(["host-a", "host-b"], set.Hosts.Select(h => h.Value).Order());
    }

    [Fact]
    public async Task Stopped_domains_are_listed_but_cannot_be_hot_plugged()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = TestDriverFixture.Create();
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.True(inventory.TryGetVm(new VmId("db1"), out var db1));
        Assert.Equal(VmPowerState.Stopped, db1.State);
        var ex = await Assert.ThrowsAsync<HypervisorException>(() => provider.HotPlugAsync(new VmId("db1"), new HotPlugRequest(MemoryMiB: 1024), ct));
        Assert.Contains(ex.Kind, new[] { HypervisorErrorKind.Conflict, HypervisorErrorKind.InvalidArgument });
        Assert.NotNull(ex.NativeCode);
    }

    private sealed class DisposeGuard(LibvirtHypervisor provider) : IDisposable
    {
        public LibvirtHypervisor Provider => provider;

        public void Dispose() => provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
