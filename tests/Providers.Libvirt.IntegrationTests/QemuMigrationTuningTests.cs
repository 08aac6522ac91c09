using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>A running migration's bandwidth changed through the provider, read back from the source daemon while the job runs.</summary>
public sealed class QemuMigrationTuningTests(QemuHosts hosts)
{
    private static readonly VmId Vm = new(QemuHosts.Vm);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_slow_migration_is_sped_up_while_it_runs(bool peerToPeer)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProviderWith(o => o.PeerToPeerMigration = peerToPeer);
        var (from, to) = await QemuHosts.LocateVmAsync(provider);

        // 8 Mbit/s is 1 MiB/s: the 256 MiB guest would need minutes.
        var operation = await provider.StartMigrationAsync(new MigrationRequest(Vm, to, new MigrationOptions { BandwidthMbps = 8 }), ct);
        await WaitForSpeedAsync(from.Value, "1", ct);
        Assert.Contains("Memory", (await hosts.VirshAsync(from.Value, "domjobinfo", QemuHosts.Vm)).Output, StringComparison.Ordinal); // a job is running

        await operation.SetBandwidthAsync(400, ct); // 400 Mbit/s = 47.7 MiB/s, rounded to 48
        await WaitForSpeedAsync(from.Value, "48", ct);
        var result = await operation.Completion.WaitAsync(TimeSpan.FromSeconds(90), ct);
        Assert.True(result.Outcome == MigrationOutcome.Succeeded, $"{result.Outcome} {result.Error?.Message}");
        Assert.True(result.Duration < TimeSpan.FromSeconds(90), $"took {result.Duration}");
        Assert.Equal(to, (await provider.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == Vm).Host);

        var ended = await Assert.ThrowsAsync<HypervisorException>(() => operation.SetBandwidthAsync(400, ct));
        Assert.Equal(HypervisorErrorKind.Conflict, ended.Kind);
    }

    [Fact]
    public async Task A_cap_asked_for_in_the_instant_the_move_starts_is_not_lost_to_the_jobs_own_start_parameter()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = hosts.CreateProvider();
        var (from, to) = await QemuHosts.LocateVmAsync(provider);
        var operation = await provider.StartMigrationAsync(new MigrationRequest(Vm, to, new MigrationOptions { BandwidthMbps = 8 }), ct);
        await operation.SetBandwidthAsync(400, ct); // possibly before virDomainMigrate3 has started the job at 1 MiB/s
        await WaitForSpeedAsync(from.Value, "48", ct);
        var result = await operation.Completion.WaitAsync(TimeSpan.FromSeconds(90), ct);
        Assert.True(result.Outcome == MigrationOutcome.Succeeded, $"{result.Outcome} {result.Error?.Message}");
        Assert.True(result.Duration < TimeSpan.FromSeconds(30), $"took {result.Duration}: the 1 MiB/s start parameter won");
    }

    // The source daemon's view of the job's bandwidth cap (MiB/s), polled until it shows the value.
    private async Task WaitForSpeedAsync(string host, string expected, CancellationToken ct)
    {
        string last = string.Empty;
        for (int i = 0; i < 50; i++)
        {
            var (code, output) = await hosts.VirshAsync(host, "migrate-getspeed", QemuHosts.Vm);
            last = output.Trim();
            if (code == 0 && last == expected)
            {
                return;
            }

            await Task.Delay(100, ct);
        }

        Assert.Fail($"migrate-getspeed on {host} shows '{last}', expected {expected}.");
    }
}
