using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>
/// Migrations a process started and then died in the middle of, on real daemons: the process is a <c>virsh migrate</c>
/// killed with SIGKILL once the copy runs (1 MiB/s keeps it running for minutes). A peer-to-peer move goes on in the
/// source daemon, and a new provider instance finds it and follows it to its real end; a client-driven move is
/// aborted by libvirt when its client dies, and nothing is found.
/// </summary>
public sealed class QemuFoundMigrationTests(QemuHosts hosts)
{
    private static readonly VmId Vm = new(QemuHosts.Vm);

    [Fact]
    public async Task A_migration_left_running_by_a_dead_process_is_found_and_followed_to_its_end()
    {
        var ct = TestContext.Current.CancellationToken;
        var (home, away) = await hosts.LeaveRunningMigrationAsync(peerToPeer: true);
        await using var provider = hosts.CreateProvider();

        var operation = await provider.FindRunningMigrationAsync(Vm, ct);
        Assert.NotNull(operation);
        Assert.Equal((Vm, home, away), (operation.Vm, operation.Source, operation.Target));
        Assert.Equal(1, provider.MigrationsInFlight);
        var again = await provider.StartMigrationAsync(new MigrationRequest(Vm, away) { ExpectedSource = home }, ct);
        Assert.Same(operation, again); // a start request for the same move joins it instead of starting another
        await foreach (var p in operation.WatchProgressAsync(ct))
        {
            if (p.BytesTransferred > 0)
            {
                break;
            }
        }

        Assert.Equal(0, (await hosts.VirshAsync(home.Value, "migrate-setspeed", Vm.Value, "1000")).Code);
        var result = await operation.Completion.WaitAsync(TimeSpan.FromMinutes(2), ct);
        Assert.Equal(MigrationOutcome.Succeeded, result.Outcome);
        Assert.Equal(away, result.FinalHost);
        Assert.True(result.BytesTransferred > 0);
        Assert.Equal(0, provider.MigrationsInFlight);
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.Equal(away, inventory.Placements.Single(p => p.Vm == Vm).Host);
        Assert.True(inventory.TryGetVm(Vm, out var info));
        Assert.Equal(VmPowerState.Running, info.State);
        Assert.Null(await provider.FindRunningMigrationAsync(Vm, ct));
    }

    [Fact]
    public async Task A_found_migration_can_be_cancelled_and_the_vm_stays_on_the_source()
    {
        var ct = TestContext.Current.CancellationToken;
        var (home, away) = await hosts.LeaveRunningMigrationAsync(peerToPeer: true);
        await using var provider = hosts.CreateProvider();

        var operation = await provider.FindRunningMigrationAsync(Vm, ct);
        Assert.NotNull(operation);
        Assert.Equal(away, operation.Target);
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

    [Fact]
    public async Task A_client_driven_migration_dies_with_its_client_and_nothing_is_found()
    {
        var ct = TestContext.Current.CancellationToken;
        var (home, _) = await hosts.LeaveRunningMigrationAsync(peerToPeer: false);
        await using var provider = hosts.CreateProvider();

        // libvirt aborts the job once it notices the client is gone; until then the job may still be found.
        var until = DateTime.UtcNow.AddSeconds(30);
        IMigrationOperation? found;
        while ((found = await provider.FindRunningMigrationAsync(Vm, ct)) is not null && DateTime.UtcNow < until)
        {
            await found.Completion.WaitAsync(TimeSpan.FromSeconds(30), ct);
        }

        Assert.Null(found);
        Assert.Equal(home, (await provider.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == Vm).Host);
        await hosts.WaitUntilActiveOnlyOnAsync(home); // the destination drops its paused copy once it notices the client is gone
    }
}
