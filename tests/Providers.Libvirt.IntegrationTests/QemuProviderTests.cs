using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>The provider against real QEMU guests: metrics, hot-plug, CPU controls and live migration both ways.</summary>
public sealed class QemuProviderTests(QemuHosts hosts)
{
    private static readonly VmId Vm = new(QemuHosts.Vm);

    [Fact]
    public async Task Reads_vm_and_host_metrics_from_the_running_guest()
    {
        await using var provider = hosts.CreateProvider();
        var inventory = await provider.GetInventoryAsync();
        Assert.True(inventory.TryGetVm(Vm, out var info));
        Assert.Equal(VmPowerState.Running, info.State);
        Assert.Equal(4, info.MaxAllocation.CpuCores);
        Assert.Equal(256, info.MaxAllocation.MemoryMiB, 0);

        var sample = Assert.Single(await provider.GetVmMetricsAsync([Vm], TestContext.Current.CancellationToken));
        Assert.InRange(sample.CpuUtilization, 0, 1);
        Assert.True(sample.CpuUtilization > 0, "A booted TCG guest uses some CPU.");
        Assert.InRange(sample.MemoryMiB, 64, 256);

        // The guest reads its disk every 2 s: a 3 s window sees read requests.
        await Task.Delay(3000, TestContext.Current.CancellationToken);
        sample = Assert.Single(await provider.GetVmMetricsAsync([Vm], TestContext.Current.CancellationToken));
        Assert.True(sample.DiskReadIops > 0 && sample.DiskReadBytesPerSecond > 0, $"disk reads: {sample.DiskReadIops} IOPS, {sample.DiskReadBytesPerSecond} B/s");

        // The first read started a 1 s dirty-rate measurement in QEMU; this one reports its result (MiB/s).
        Assert.True(sample.DirtyMiBPerSecond is >= 0 and < 256, $"dirty rate: {sample.DirtyMiBPerSecond}");

        var hostSamples = await provider.GetHostMetricsAsync(TestContext.Current.CancellationToken);
        Assert.Equal(["hosta", "hostb"], hostSamples.Select(s => s.Host.Value).Order());
        Assert.All(hostSamples, s => Assert.InRange(s.CpuUtilization, 0, 1));
        Assert.All(hostSamples, s => Assert.True(s.MemoryUsedMiB > 0));
    }

    [Fact]
    public async Task Reports_no_dirty_rate_when_measuring_is_off()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProviderWith(o => o.MeasureDirtyRate = false);
        _ = await provider.GetVmMetricsAsync([Vm], ct);
        await Task.Delay(1500, ct);
        var sample = Assert.Single(await provider.GetVmMetricsAsync([Vm], ct));
        Assert.Null(sample.DirtyMiBPerSecond);
    }

    [Fact]
    public async Task Hot_adds_a_vcpu_and_resizes_memory_visible_in_the_next_samples()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProvider();
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.True(inventory.TryGetVm(Vm, out var before));
        int vcpus = (int)before.Allocation.CpuCores;
        Assert.True(vcpus < 4, $"vm1 already has {vcpus} vCPUs.");

        var after = await provider.HotPlugAsync(Vm, new HotPlugRequest(Vcpus: vcpus + 1), ct);
        Assert.Equal(vcpus + 1, after.Allocation.CpuCores);
        Assert.True((await provider.GetInventoryAsync(ct)).TryGetVm(Vm, out var listed));
        Assert.Equal(vcpus + 1, listed.Allocation.CpuCores);

        // Shrink the balloon to 192 MiB: the next samples follow as the guest gives the memory back.
        await provider.HotPlugAsync(Vm, new HotPlugRequest(MemoryMiB: 192), ct);
        double memory = await WaitForMemoryAsync(provider, m => m <= 193, ct);
        Assert.InRange(memory, 150, 193);

        await provider.HotPlugAsync(Vm, new HotPlugRequest(MemoryMiB: 256), ct);
        memory = await WaitForMemoryAsync(provider, m => m >= 255, ct);
        Assert.InRange(memory, 255, 256.5);

        var tooMany = await Assert.ThrowsAsync<HypervisorException>(() => provider.HotPlugAsync(Vm, new HotPlugRequest(Vcpus: 9), ct));
        Assert.Equal(HypervisorErrorKind.InvalidArgument, tooMany.Kind);
        var shrink = await Assert.ThrowsAsync<HypervisorException>(() => provider.HotPlugAsync(Vm, new HotPlugRequest(Vcpus: 1), ct));
        Assert.Equal(HypervisorErrorKind.NotSupported, shrink.Kind); // unplug is off unless AllowVcpuUnplug
    }

    [Fact]
    public async Task Sets_cpu_shares_and_quota_and_reads_them_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProvider();
        var applied = await provider.SetResourceControlsAsync(Vm, new ResourceControls { CpuShares = 512, CpuQuota = 0.5 }, ct);
        Assert.Equal(512, applied.CpuShares);
        Assert.Equal(0.5, applied.CpuQuota!.Value, 3);

        var read = await provider.GetResourceControlsAsync(Vm, ct);
        Assert.Equal(512, read.CpuShares);
        Assert.Equal(0.5, read.CpuQuota!.Value, 3);

        var (source, _) = await QemuHosts.LocateVmAsync(provider);
        var (_, schedinfo) = await hosts.VirshAsync(source.Value, "schedinfo", QemuHosts.Vm);
        Assert.Contains("cpu_shares     : 512", schedinfo, StringComparison.Ordinal);

        var cleared = await provider.SetResourceControlsAsync(Vm, new ResourceControls { CpuShares = 1024, CpuQuota = double.PositiveInfinity }, ct);
        Assert.Equal(1024, cleared.CpuShares);
        Assert.Null(cleared.CpuQuota);
    }

    [Fact]
    public async Task Live_migrates_a_running_vm_to_the_other_host_and_back_with_progress()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProvider();
        var (home, away) = await QemuHosts.LocateVmAsync(provider);
        using var watch = new InventoryWatch(provider);
        await Task.Delay(100, ct);

        foreach (var (from, to) in new[] { (home, away), (away, home) })
        {
            var operation = await provider.StartMigrationAsync(new MigrationRequest(Vm, to, new MigrationOptions
            {
                MaxDowntime = TimeSpan.FromMilliseconds(300),
                BandwidthMbps = 4000,
                Timeout = TimeSpan.FromMinutes(2),
            }), ct);
            Assert.Equal(from, operation.Source);
            var reports = new List<MigrationProgress>();
            await foreach (var p in operation.WatchProgressAsync(ct))
            {
                reports.Add(p);
            }

            var result = await operation.Completion.WaitAsync(TimeSpan.FromMinutes(2), ct);
            Assert.True(result.Outcome == MigrationOutcome.Succeeded, $"{from} → {to}: {result.Outcome} {result.Error?.Message}");
            Assert.Equal(to, result.FinalHost);
            Assert.True(result.BytesTransferred > 0);
            Assert.NotEmpty(reports);
            Assert.Equal(MigrationPhase.Completed, reports[^1].Phase);
            for (int i = 1; i < reports.Count; i++)
            {
                Assert.True(reports[i].Percent >= reports[i - 1].Percent);
            }

            // The VM runs on the destination only, and the move was announced.
            var inventory = await provider.GetInventoryAsync(ct);
            Assert.Equal(to, inventory.Placements.Single(p => p.Vm == Vm).Host);
            Assert.True(inventory.TryGetVm(Vm, out var info));
            Assert.Equal(VmPowerState.Running, info.State);
            var moved = await watch.WaitForAsync<VmMoved>(m => m.Vm == Vm && m.To == to, TimeSpan.FromSeconds(30));
            Assert.Equal(from, moved.From);
            var (code, state) = await hosts.VirshAsync(to.Value, "domstate", QemuHosts.Vm);
            Assert.True(code == 0 && state.Trim() == "running", $"virsh domstate on {to}: {state}");
            Assert.NotEqual(0, (await hosts.VirshAsync(from.Value, "domstate", QemuHosts.Vm)).Code); // undefined on the source

            // CPU time restarted in the destination's QEMU process; the next sample is still a sane rate.
            var sample = Assert.Single(await provider.GetVmMetricsAsync([Vm], ct));
            Assert.InRange(sample.CpuUtilization, 0, 1);
        }
    }

    [Fact]
    public async Task Peer_to_peer_migration_moves_the_vm_there_and_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProviderWith(o => o.PeerToPeerMigration = true);
        var (home, away) = await QemuHosts.LocateVmAsync(provider);
        foreach (var to in new[] { away, home })
        {
            var operation = await provider.StartMigrationAsync(new MigrationRequest(Vm, to), ct);
            var result = await operation.Completion.WaitAsync(TimeSpan.FromMinutes(2), ct);
            Assert.True(result.Outcome == MigrationOutcome.Succeeded, $"→ {to}: {result.Outcome} {result.Error?.Message}");
            var inventory = await provider.GetInventoryAsync(ct);
            Assert.Equal(to, inventory.Placements.Single(p => p.Vm == Vm).Host);
            Assert.True(inventory.TryGetVm(Vm, out var info));
            Assert.Equal(VmPowerState.Running, info.State);
        }
    }

    [Fact]
    public async Task A_migration_started_outside_the_library_is_announced_as_a_move()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProvider();
        var (home, away) = await QemuHosts.LocateVmAsync(provider);
        using var watch = new InventoryWatch(provider);
        await Task.Delay(200, ct);
        var (code, output) = await hosts.VirshAsync(home.Value, "migrate", "--live", "--unsafe", "--persistent", "--undefinesource",
            QemuHosts.Vm, hosts.UriOf(away.Value), "--migrateuri", "tcp://127.0.0.1", "--listen-address", "127.0.0.1");
        Assert.True(code == 0, output);
        var moved = await watch.WaitForAsync<VmMoved>(m => m.Vm == Vm, TimeSpan.FromSeconds(30));
        Assert.Equal((home, away), (moved.From, moved.To));
        await Task.Delay(500, ct); // the source's "undefined" event must not turn the move into a removal
        await Assert.ThrowsAsync<Xunit.Sdk.FailException>(() => watch.WaitForAsync<VmRemoved>(r => r.Vm == Vm, TimeSpan.FromMilliseconds(200)));
        Assert.Equal(away, (await provider.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == Vm).Host);

        var back = await provider.StartMigrationAsync(new MigrationRequest(Vm, home), ct);
        Assert.Equal(MigrationOutcome.Succeeded, (await back.Completion.WaitAsync(TimeSpan.FromMinutes(2), ct)).Outcome);
    }

    [Fact]
    public async Task Priority_slo_and_labels_come_from_domain_metadata_or_the_configured_defaults()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProviderWith(o => o.VmDefaults.Add(new LibvirtVmDefaults { NamePattern = "vm?", Priority = 3, Slo = SloClass.Premium, Labels = { ["tier"] = "default" } }));
        var (home, _) = await QemuHosts.LocateVmAsync(provider);
        try
        {
            Assert.True((await provider.GetInventoryAsync(ct)).TryGetVm(Vm, out var byDefault));
            Assert.Equal((3, SloClass.Premium, "default"), (byDefault.Priority, byDefault.Slo, byDefault.Labels["tier"]));

            var (code, output) = await hosts.VirshAsync(home.Value, "metadata", Vm.Value, "--uri", LibvirtVmClassification.Namespace, "--key", "vmeco",
                "--set", "<vm><priority>10</priority><slo>critical</slo><label key=\"team\">payments</label></vm>", "--live");
            Assert.True(code == 0, output);
            Assert.True((await provider.GetInventoryAsync(ct)).TryGetVm(Vm, out var declared));
            Assert.Equal((10, SloClass.Critical), (declared.Priority, declared.Slo));
            Assert.Equal("payments", declared.Labels["team"]);
            Assert.Equal("default", declared.Labels["tier"]); // the defaults' labels stay unless the metadata sets the same key
        }
        finally
        {
            await hosts.VirshAsync(home.Value, "metadata", Vm.Value, "--uri", LibvirtVmClassification.Namespace, "--remove", "--live");
        }
    }

    [Fact]
    public async Task A_migration_can_be_cancelled_and_leaves_the_vm_running_on_the_source()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProvider();
        var (home, away) = await QemuHosts.LocateVmAsync(provider);

        // 1 MiB/s keeps the copy running long enough to abort it.
        var operation = await provider.StartMigrationAsync(new MigrationRequest(Vm, away, new MigrationOptions { BandwidthMbps = 8 }), ct);
        await foreach (var p in operation.WatchProgressAsync(ct))
        {
            if (p.BytesTransferred > 0)
            {
                break;
            }
        }

        await operation.CancelAsync(ct);
        var result = await operation.Completion.WaitAsync(TimeSpan.FromMinutes(1), ct);
        Assert.Equal(MigrationOutcome.Cancelled, result.Outcome);
        Assert.Equal(home, result.FinalHost);
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.Equal(home, inventory.Placements.Single(p => p.Vm == Vm).Host);
        Assert.True(inventory.TryGetVm(Vm, out var info));
        Assert.Equal(VmPowerState.Running, info.State);
        Assert.Equal(0, provider.MigrationsInFlight);
    }

    /// <summary>Collects inventory changes in the background.</summary>
    internal sealed class InventoryWatch : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<InventoryChange> _seen = [];
        private readonly Task _pump;

        public InventoryWatch(IHypervisor provider)
        {
            var stream = provider.WatchInventoryAsync(_stop.Token);
            _pump = Task.Run(async () =>
            {
                try
                {
                    await foreach (var change in stream)
                    {
                        lock (_seen)
                        {
                            _seen.Add(change);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
        }

        public async Task<T> WaitForAsync<T>(Func<T, bool> match, TimeSpan timeout)
            where T : InventoryChange
        {
            var until = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < until)
            {
                lock (_seen)
                {
                    if (_seen.OfType<T>().FirstOrDefault(match) is { } found)
                    {
                        return found;
                    }
                }

                await Task.Delay(50);
            }

            lock (_seen)
            {
                Assert.Fail($"No {typeof(T).Name} within {timeout}; saw: {string.Join(", ", _seen.Select(s => s.GetType().Name))}");
            }

            throw new InvalidOperationException("unreachable");
        }

        public void Dispose()
        {
            _stop.Cancel();
            _pump.Wait(TimeSpan.FromSeconds(5));
            _stop.Dispose();
        }
    }

    private static async Task<double> WaitForMemoryAsync(IHypervisor provider, Func<double, bool> done, CancellationToken ct)
    {
        double memory = double.NaN;
        var until = DateTime.UtcNow.AddSeconds(45);
        while (DateTime.UtcNow < until)
        {
            memory = Assert.Single(await provider.GetVmMetricsAsync([Vm], ct)).MemoryMiB;
            if (done(memory))
            {
                return memory;
            }

            await Task.Delay(500, ct);
        }

        return memory;
    }
}
