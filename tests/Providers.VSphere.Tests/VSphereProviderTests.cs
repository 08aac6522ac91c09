using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere.Tests;

/// <summary>What the conformance suites cannot show: sessions, paging, outside changes, deletions, drops, credentials.</summary>
public sealed class VSphereProviderTests(VcsimBinaries binaries)
{
    [Fact]
    public async Task An_expired_session_is_renewed_by_logging_in_again()
    {
        await using var sut = VSphereUnderTest.Create(await binaries.StartAsync());
        var provider = sut.Provider;
        int vms = (await provider.GetInventoryAsync()).Vms.Count;
        Assert.Equal(1, provider.Session.Logins);

        // End the session on the server, as an idle timeout or an administrator would.
        var content = await provider.Session.ContentAsync(default);
        await provider.Session.Soap.CallAsync(E("Logout", This(content.SessionManager)), idempotent: false, default);

        Assert.Equal(vms, (await provider.GetInventoryAsync()).Vms.Count);
        Assert.Equal(2, provider.Session.Logins);
        var (vm, _) = await new VcsimFixture(binaries).PickMigrationAsync(provider); // a task call after re-login
        await provider.SetResourceControlsAsync(vm, new ResourceControls { CpuShares = 700 });
        Assert.Equal(700, (await provider.GetResourceControlsAsync(vm)).CpuShares);
    }

    [Fact]
    public async Task A_vmotion_made_with_govc_outside_the_provider_is_a_VmMoved_event()
    {
        await using var sut = VSphereUnderTest.Create(await binaries.StartAsync());
        var provider = sut.Provider;
        var inventory = await provider.GetInventoryAsync();
        var vm = inventory.Vms.Single(v => v.Name == "DC0_C0_RP0_VM1");
        var from = inventory.Placements.Single(p => p.Vm == vm.Id).Host;
        var to = inventory.Hosts.First(h => h.HostSet == inventory.Hosts.Single(x => x.Id == from).HostSet && h.Id != from);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var moved = new TaskCompletionSource<VmMoved>(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Task.Run(async () =>
        {
            try
            {
                await foreach (var change in provider.WatchInventoryAsync(cts.Token))
                {
                    if (change is VmMoved m && m.Vm == vm.Id)
                    {
                        moved.TrySetResult(m);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(3), cts.Token); // the watch's first answer is the starting point
        await sut.Server.GovcAsync("vm.migrate", "-host", to.Name, vm.Name);
        var evt = await moved.Task.WaitAsync(cts.Token);
        Assert.Equal(from, evt.From);
        Assert.Equal(to.Id, evt.To);
        await cts.CancelAsync();
        await watch;
    }

    [Fact]
    public async Task A_vm_deleted_mid_operation_is_NotFound_everywhere()
    {
        await using var sut = VSphereUnderTest.Create(await binaries.StartAsync());
        var provider = sut.Provider;
        var (vm, target) = await new VcsimFixture(binaries).PickMigrationAsync(provider);
        await provider.GetVmMetricsAsync([vm]);
        await sut.Server.GovcAsync("vm.destroy", "DC0_C0_RP0_VM0");

        foreach (var call in new Func<Task>[]
        {
            () => provider.HotPlugAsync(vm, new HotPlugRequest(Vcpus: 2)),
            () => provider.GetResourceControlsAsync(vm),
            () => provider.SetResourceControlsAsync(vm, new ResourceControls { CpuShares = 300 }),
            () => provider.GetVmMetricsAsync([vm]),
            () => provider.StartMigrationAsync(new MigrationRequest(vm, target)),
        })
        {
            var ex = await Assert.ThrowsAsync<HypervisorException>(call);
            Assert.Equal(HypervisorErrorKind.NotFound, ex.Kind);
        }

        Assert.DoesNotContain((await provider.GetInventoryAsync()).Vms, v => v.Id == vm);
    }

    [Fact]
    public async Task A_server_that_drops_the_connection_is_reported_in_time_not_waited_for()
    {
        await using var sut = VSphereUnderTest.Create(await binaries.StartAsync(), o => o.RequestTimeout = TimeSpan.FromSeconds(5));
        var provider = sut.Provider;
        var (vm, _) = await new VcsimFixture(binaries).PickMigrationAsync(provider);

        // Through the contract the target is checked first: NotFound, nothing started, the VM where it was.
        var before = (await provider.GetInventoryAsync()).Placements.Single(p => p.Vm == vm).Host;
        var refused = await Assert.ThrowsAsync<HypervisorException>(() => provider.StartMigrationAsync(new MigrationRequest(vm, new HostId("host-9999"))));
        Assert.Equal(HypervisorErrorKind.NotFound, refused.Kind);
        Assert.Equal(before, (await provider.GetInventoryAsync()).Placements.Single(p => p.Vm == vm).Host);

        // Sent anyway, vcsim panics on the relocate and closes the connection without an answer: reported at once,
        // and never repeated (a task call). The VM stays locked by the stuck task, so the next call about it times
        // out: reported as Timeout after RequestTimeout, not waited for.
        var started = DateTime.UtcNow;
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => provider.Session.CallAsync(_ => E("RelocateVM_Task", This(new Mor("VirtualMachine", vm.Value)),
            E("spec", Ref("host", new Mor("HostSystem", "host-9999")))), idempotent: false, default));
        Assert.True(ex is HttpRequestException or TimeoutException, ex.ToString());
        try
        {
            await provider.GetResourceControlsAsync(vm);
        }
        catch (HypervisorException stuck)
        {
            Assert.Contains(stuck.Kind, new[] { HypervisorErrorKind.Timeout, HypervisorErrorKind.Unavailable });
        }

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), $"took {DateTime.UtcNow - started}");
        Assert.Equal(0, provider.MigrationsInFlight);
    }

    [Fact]
    public async Task Bad_credentials_give_one_clear_error_and_no_secret_reaches_a_log_or_an_exception()
    {
        const string password = "s3cret-Zq81";
        var logs = new CollectingLoggerProvider();
        await using var wrong = VSphereUnderTest.Create(await binaries.StartAsync("admin", password), o => o.UserName = "admin", logs, password: "wrong-Pw-77");
        var ex = await Assert.ThrowsAsync<HypervisorException>(() => wrong.Provider.GetInventoryAsync());
        Assert.Equal(HypervisorErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("Login failure", ex.Message, StringComparison.Ordinal);
        Assert.Contains("VmEcosystem:VSphere:Password", ex.Message, StringComparison.Ordinal);

        await using var right = VSphereUnderTest.Create(await binaries.StartAsync("admin", password), o => o.UserName = "admin", logs, password: password);
        var provider = right.Provider;
        var (vm, target) = await new VcsimFixture(binaries).PickMigrationAsync(provider);
        await provider.GetVmMetricsAsync();
        var op = await provider.StartMigrationAsync(new MigrationRequest(vm, target));
        await op.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        var errors = new List<string> { ex.ToString() };
        foreach (var failing in new Func<Task>[]
        {
            () => provider.HotPlugAsync(vm, new HotPlugRequest(MemoryMiB: 8)),
            () => provider.GetResourceControlsAsync(new VmId("vm-424242")),
        })
        {
            errors.Add((await Assert.ThrowsAsync<HypervisorException>(failing)).ToString());
        }

        string cookie = provider.Session.Soap.SessionCookieForTests ?? throw new InvalidOperationException("no session cookie");
        foreach (string text in logs.Lines.Concat(errors))
        {
            Assert.DoesNotContain(password, text, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong-Pw-77", text, StringComparison.Ordinal);
            Assert.DoesNotContain(cookie, text, StringComparison.Ordinal);
        }

        Assert.NotEmpty(logs.Lines);
    }

    [Fact]
    public async Task Disk_and_network_controls_edit_every_device_keep_the_rest_of_it_and_infinity_removes_the_limit()
    {
        await using var sut = VSphereUnderTest.Create(await binaries.StartAsync());
        var provider = sut.Provider;
        var (vm, _) = await new VcsimFixture(binaries).PickMigrationAsync(provider);
        var reader = new PropertyReader(provider.Session, 10);
        var mor = new Mor("VirtualMachine", vm.Value);
        string DiskFile(VimObject o) => o.Value("config.hardware.device")!.Elements().First(d => d.Child("capacityInKB") is not null).Path("backing/fileName")!;
        var before = await reader.ReadOneAsync(mor, ["config.hardware.device"], default);

        var set = await provider.SetResourceControlsAsync(vm, new ResourceControls { DiskIopsLimit = 800, DiskWeight = 300, NetworkBandwidthLimitMbps = 250 });
        Assert.Equal(800, set.DiskIopsLimit);
        Assert.Equal(300, set.DiskWeight);
        Assert.Equal(250, set.NetworkBandwidthLimitMbps);
        var after = await reader.ReadOneAsync(mor, ["config.hardware.device"], default);
        Assert.Equal(before.Value("config.hardware.device")!.Elements().Count(), after.Value("config.hardware.device")!.Elements().Count());
        Assert.Equal(DiskFile(before), DiskFile(after));

        var cleared = await provider.SetResourceControlsAsync(vm, new ResourceControls { DiskIopsLimit = double.PositiveInfinity, NetworkBandwidthLimitMbps = double.PositiveInfinity });
        Assert.Null(cleared.DiskIopsLimit);
        Assert.Null(cleared.NetworkBandwidthLimitMbps);
        Assert.Equal(300, cleared.DiskWeight); // untouched
    }

    [Fact]
    public async Task A_certificate_that_does_not_match_the_pinned_thumbprint_is_refused()
    {
        await using var sut = VSphereUnderTest.Create(await binaries.StartAsync(), o => o.CertificateThumbprint = new string('A', 64));
        var ex = await Assert.ThrowsAsync<HypervisorException>(() => sut.Provider.GetInventoryAsync());
        Assert.Equal(HypervisorErrorKind.Unavailable, ex.Kind);
    }
}

/// <summary>Keeps every formatted log line and exception text.</summary>
internal sealed class CollectingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IEnumerable<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(_lines);

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{formatter(state, exception)} {exception}");
    }
}
