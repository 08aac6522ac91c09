using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>
/// Failures against real libvirtd: an unreachable destination, a migration stream that cannot connect, a domain that
/// vanished, and a connection the daemon closed. Each gives a typed error and leaves the inventory consistent.
/// </summary>
public sealed class QemuFailureTests(QemuHosts hosts)
{
    private static readonly VmId Vm = new(QemuHosts.Vm);

    [Fact]
    public async Task Migrating_to_an_unreachable_host_fails_with_Unavailable_and_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var nowhere = new LibvirtHostOptions { Name = "hostc", Uri = $"qemu+unix:///system?socket={hosts.Base}/no-such-host/libvirt-sock" };
        await using var provider = hosts.CreateProvider(nowhere);
        var (home, _) = await QemuHosts.LocateVmAsync(provider); // hostc is left out of the inventory: it was never reachable

        var ex = await Assert.ThrowsAsync<HypervisorException>(() => provider.StartMigrationAsync(new MigrationRequest(Vm, new HostId("hostc")), ct));
        TestContext.Current.TestOutputHelper?.WriteLine($"{ex.Kind}: {ex.Message}");
        Assert.Equal(HypervisorErrorKind.Unavailable, ex.Kind);
        Assert.Contains("hostc", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.NativeCode);
        Assert.IsType<LibvirtException>(ex.InnerException);

        await AssertRunsOnlyOnAsync(provider, home);
        Assert.Equal(0, provider.MigrationsInFlight);
    }

    [Fact]
    public async Task A_migration_whose_stream_cannot_connect_fails_and_the_vm_keeps_running_on_the_source()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProvider();
        var (home, away) = await QemuHosts.LocateVmAsync(provider);
        await using var broken = hosts.CreateProviderWithMigrationUri(away.Value, "tcp://127.0.0.2"); // nothing listens there

        var operation = await broken.StartMigrationAsync(new MigrationRequest(Vm, away), ct);
        var result = await operation.Completion.WaitAsync(TimeSpan.FromMinutes(2), ct);
        Assert.Equal(MigrationOutcome.Failed, result.Outcome);
        Assert.Equal(home, result.FinalHost);
        Assert.NotNull(result.Error);
        TestContext.Current.TestOutputHelper?.WriteLine($"{result.Error.Kind}: {result.Error.Message}");
        Assert.Contains(home.Value, result.Error.Message, StringComparison.Ordinal);
        Assert.IsType<LibvirtException>(result.Error.InnerException);
        await AssertRunsOnlyOnAsync(broken, home);
        await AssertRunsOnlyOnAsync(provider, home);
    }

    [Fact]
    public async Task A_vanished_domain_is_NotFound_and_leaves_the_inventory()
    {
        var ct = TestContext.Current.CancellationToken;
        string xml = Path.Combine(hosts.Base, "vm-gone.xml");
        await File.WriteAllTextAsync(xml,
            "<domain type='qemu'><name>vm-gone</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>" +
            "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>", ct);
        await hosts.VirshAsync("hosta", "undefine", "vm-gone");
        Assert.Equal(0, (await hosts.VirshAsync("hosta", "define", xml)).Code);
        await using var provider = hosts.CreateProvider();
        var gone = new VmId("vm-gone");
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.True(inventory.TryGetVm(gone, out var info));
        Assert.Equal(VmPowerState.Stopped, info.State);

        using var watch = new QemuProviderTests.InventoryWatch(provider);
        await Task.Delay(200, ct);
        Assert.Equal(0, (await hosts.VirshAsync("hosta", "undefine", "vm-gone")).Code); // someone else removes it

        foreach (var call in new Func<Task>[]
        {
            () => provider.GetResourceControlsAsync(gone, ct),
            () => provider.HotPlugAsync(gone, new HotPlugRequest(Vcpus: 2), ct),
            () => provider.StartMigrationAsync(new MigrationRequest(gone, new HostId("hostb")), ct),
            () => provider.GetVmMetricsAsync([gone], ct),
        })
        {
            var ex = await Assert.ThrowsAsync<HypervisorException>(call);
            Assert.Equal(HypervisorErrorKind.NotFound, ex.Kind);
            Assert.Contains("vm-gone", ex.Message, StringComparison.Ordinal);
        }

        await watch.WaitForAsync<VmRemoved>(r => r.Vm == gone, TimeSpan.FromSeconds(30));
        inventory = await provider.GetInventoryAsync(ct);
        Assert.False(inventory.TryGetVm(gone, out _));
        Assert.True(inventory.TryGetVm(Vm, out _));
    }

    [Fact]
    public async Task A_connection_closed_by_the_daemon_is_reported_and_reopened()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProvider();
        var (home, _) = await QemuHosts.LocateVmAsync(provider);
        using var watch = new QemuProviderTests.InventoryWatch(provider);

        // Disconnect every client of the host's daemon, as a daemon restart or a network cut would.
        var (_, clients) = await QemuHosts.RunAsync("virt-admin", ["-c", hosts.AdminUriOf(home.Value), "srv-clients-list", "libvirtd"], TimeSpan.FromSeconds(30));
        var ids = clients.Split('\n').Select(l => l.Trim().Split(' ', 2)[0]).Where(id => id.Length > 0 && id.All(char.IsAsciiDigit)).ToArray();
        Assert.NotEmpty(ids);
        foreach (var id in ids)
        {
            await QemuHosts.RunAsync("virt-admin", ["-c", hosts.AdminUriOf(home.Value), "client-disconnect", "libvirtd", id], TimeSpan.FromSeconds(30));
        }

        // The next call either fails with a transient, typed error or already runs on a reopened connection.
        InventorySnapshot? inventory = null;
        for (int attempt = 0; attempt < 3 && inventory is null; attempt++)
        {
            try
            {
                inventory = await provider.GetInventoryAsync(ct);
                if (!inventory.TryGetHost(home, out var host) || host.State != HostState.Online)
                {
                    inventory = null; // reported Offline for this call; the next one reconnects
                }
            }
            catch (HypervisorException ex)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"attempt {attempt}: {ex.Kind}: {ex.Message}");
                Assert.Equal(HypervisorErrorKind.Unavailable, ex.Kind);
            }
        }

        Assert.NotNull(inventory);
        Assert.Equal(home, inventory.Placements.Single(p => p.Vm == Vm).Host);
        await watch.WaitForAsync<InventoryResyncRequired>(_ => true, TimeSpan.FromSeconds(30));
        Assert.NotNull(await provider.GetResourceControlsAsync(Vm, ct));
    }

    [Fact]
    public async Task The_event_stream_keeps_working_across_a_daemon_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProvider();
        var (home, away) = await QemuHosts.LocateVmAsync(provider);
        using var watch = new QemuProviderTests.InventoryWatch(provider);
        await Task.Delay(200, ct);

        // The destination's daemon really restarts (stopped, started again on its state).
        var (code, output) = await QemuHosts.RunAsync("bash", [Path.Combine(AppContext.BaseDirectory, "setup-libvirt.sh"), "restart", away.Value], TimeSpan.FromMinutes(3));
        Assert.True(code == 0, output);
        await watch.WaitForAsync<InventoryResyncRequired>(r => r.Reason.Contains(away.Value, StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        // A watcher resyncs by reading the inventory, which reopens the connection (and its event registration).
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.True(inventory.TryGetHost(away, out var host) && host.State == HostState.Online, "the restarted host is not back");

        // A move made outside the library after the restart is announced by the restarted daemon's events.
        (code, output) = await hosts.VirshAsync(home.Value, "migrate", "--live", "--unsafe", "--persistent", "--undefinesource",
            QemuHosts.Vm, hosts.UriOf(away.Value), "--migrateuri", "tcp://127.0.0.1", "--listen-address", "127.0.0.1");
        Assert.True(code == 0, output);
        var moved = await watch.WaitForAsync<VmMoved>(m => m.Vm == Vm, TimeSpan.FromSeconds(30));
        Assert.Equal((home, away), (moved.From, moved.To));
        Assert.Equal(0, provider.EventErrors);
    }

    private static async Task AssertRunsOnlyOnAsync(IHypervisor provider, HostId host)
    {
        var inventory = await provider.GetInventoryAsync();
        Assert.Single(inventory.Placements, p => p.Vm == Vm);
        Assert.Equal(host, inventory.Placements.Single(p => p.Vm == Vm).Host);
        Assert.True(inventory.TryGetVm(Vm, out var info));
        Assert.Equal(VmPowerState.Running, info.State);
    }
}
