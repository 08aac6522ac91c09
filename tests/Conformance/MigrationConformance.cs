using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using Xunit;

namespace VmEcosystem.Conformance;

/// <summary>Live migration: progress, results, idempotency, conflicts, cancellation and failures.</summary>
[ConformanceSuite]
public abstract class MigrationConformance(IHypervisorFixture fixture) : ConformanceSuiteBase(fixture)
{
    [Fact]
    public async Task Live_migration_moves_the_vm_and_reports_progress()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration);
        var (vm, target) = await Fixture.PickMigrationAsync(provider);
        var source = HostOf(await provider.GetInventoryAsync(), vm);
        var operation = await provider.StartMigrationAsync(new MigrationRequest(vm, target));
        Assert.Equal(vm, operation.Vm);
        Assert.Equal(source, operation.Source);
        Assert.Equal(target, operation.Target);
        var reports = new List<MigrationProgress>();
        var watcher = Task.Run(async () =>
        {
            await foreach (var p in operation.WatchProgressAsync())
            {
                lock (reports)
                {
                    reports.Add(p);
                }
            }
        });

        var result = await CompleteAsync(provider, operation);
        await watcher.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(MigrationOutcome.Succeeded, result.Outcome);
        Assert.Equal(target, result.FinalHost);
        Assert.True(result.FinishedAt >= result.StartedAt);
        var inventory = await provider.GetInventoryAsync();
        AssertEveryVmOnExactlyOneHost(inventory);
        Assert.Equal(target, HostOf(inventory, vm));
        if (provider.Capabilities.HasFlag(HypervisorCapabilities.MigrationProgress))
        {
            Assert.NotEmpty(reports);
            Assert.Equal(MigrationPhase.Completed, reports[^1].Phase);
            Assert.Equal(100, reports[^1].Percent, 3);
            for (int i = 1; i < reports.Count; i++)
            {
                Assert.True(reports[i].Percent >= reports[i - 1].Percent - 1e-9, "Progress went backwards.");
            }
        }
    }

    [Fact]
    public async Task Starting_the_same_migration_twice_returns_the_same_operation()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration);
        var (vm, target) = await Fixture.PickMigrationAsync(provider);
        var first = await provider.StartMigrationAsync(new MigrationRequest(vm, target));
        var second = await provider.StartMigrationAsync(new MigrationRequest(vm, target));
        Assert.Same(first, second);
        Assert.Equal(MigrationOutcome.Succeeded, (await CompleteAsync(provider, first)).Outcome);
    }

    [Fact]
    public async Task A_running_migration_is_found_and_none_once_it_ended()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration);
        var (vm, target) = await Fixture.PickMigrationAsync(provider);
        Assert.Null(await provider.FindRunningMigrationAsync(vm)); // finding starts nothing
        var operation = await provider.StartMigrationAsync(new MigrationRequest(vm, target));
        var found = await provider.FindRunningMigrationAsync(vm);
        if (!operation.Completion.IsCompleted || found is not null)
        {
            Assert.Same(operation, found);
        }

        Assert.Equal(MigrationOutcome.Succeeded, (await CompleteAsync(provider, operation)).Outcome);
        Assert.Null(await provider.FindRunningMigrationAsync(vm));
    }

    [Fact]
    public async Task A_second_migration_to_another_host_is_a_conflict()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration);
        var (vm, target) = await Fixture.PickMigrationAsync(provider);
        var inventory = await provider.GetInventoryAsync();
        var source = HostOf(inventory, vm);
        var other = inventory.Hosts.Select(h => h.Id).FirstOrDefault(h => h != target && h != source);
        Assert.SkipWhen(other == default, "Needs three hosts.");
        var first = await provider.StartMigrationAsync(new MigrationRequest(vm, target));
        await AssertFailsAsync(HypervisorErrorKind.Conflict, () => provider.StartMigrationAsync(new MigrationRequest(vm, other)));
        Assert.Equal(MigrationOutcome.Succeeded, (await CompleteAsync(provider, first)).Outcome);
    }

    [Fact]
    public async Task A_move_whose_vm_is_not_on_the_expected_host_is_refused_and_changes_nothing()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration);
        var (vm, target) = await Fixture.PickMigrationAsync(provider);
        var inventory = await provider.GetInventoryAsync();
        var source = HostOf(inventory, vm);
        var elsewhere = inventory.Hosts.Select(h => h.Id).First(h => h != source);
        var ex = await Assert.ThrowsAsync<HypervisorException>(() => provider.StartMigrationAsync(new MigrationRequest(vm, target) { ExpectedSource = elsewhere }));
        Assert.Equal(HypervisorErrorKind.Conflict, ex.Kind);
        Assert.Contains(source.Value, ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, provider.MigrationsInFlight);
        Assert.Equal(source, HostOf(await provider.GetInventoryAsync(), vm));

        var operation = await provider.StartMigrationAsync(new MigrationRequest(vm, target) { ExpectedSource = source });
        Assert.Equal(MigrationOutcome.Succeeded, (await CompleteAsync(provider, operation)).Outcome);
    }

    [Fact]
    public async Task Migrating_to_the_current_host_is_rejected()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        var source = HostOf(await provider.GetInventoryAsync(), vm);
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument, () => provider.StartMigrationAsync(new MigrationRequest(vm, source)));
    }

    [Fact]
    public async Task Migrating_to_an_unknown_host_fails_and_changes_nothing()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration);
        var (vm, _) = await Fixture.PickMigrationAsync(provider);
        var before = await provider.GetInventoryAsync();
        var ex = await Assert.ThrowsAsync<HypervisorException>(() => provider.StartMigrationAsync(new MigrationRequest(vm, Fixture.UnknownHost)));
        Assert.Contains(ex.Kind, new[] { HypervisorErrorKind.NotFound, HypervisorErrorKind.Unavailable });
        var after = await provider.GetInventoryAsync();
        AssertEveryVmOnExactlyOneHost(after);
        Assert.Equal(HostOf(before, vm), HostOf(after, vm));
        Assert.Equal(0, provider.MigrationsInFlight);
    }

    [Fact]
    public async Task Cancelling_a_migration_leaves_the_vm_on_exactly_one_host()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration | HypervisorCapabilities.MigrationCancellation);
        var (vm, target) = await Fixture.PickMigrationAsync(provider);
        var source = HostOf(await provider.GetInventoryAsync(), vm);
        var operation = await provider.StartMigrationAsync(new MigrationRequest(vm, target));
        await operation.CancelAsync();
        var result = await CompleteAsync(provider, operation);
        var inventory = await provider.GetInventoryAsync();
        AssertEveryVmOnExactlyOneHost(inventory);
        Assert.Equal(result.FinalHost, HostOf(inventory, vm));
        if (result.Outcome == MigrationOutcome.Cancelled)
        {
            Assert.Equal(source, result.FinalHost);
            Assert.NotNull(result.Error);
        }
        else
        {
            Assert.Equal(MigrationOutcome.Succeeded, result.Outcome); // too late to cancel is allowed
        }
    }

    [Fact]
    public async Task A_running_migrations_bandwidth_changes_where_the_provider_can_and_never_after_it_ended()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration);
        bool tunable = provider.Capabilities.HasFlag(HypervisorCapabilities.MigrationTuning);
        var (vm, target) = await Fixture.PickMigrationAsync(provider);

        // Where it can be tuned, the move starts at 8 Mbit/s (slow enough to still run) and is then sped up.
        var request = new MigrationRequest(vm, target, tunable ? new MigrationOptions { BandwidthMbps = 8 } : null);
        var operation = await provider.StartMigrationAsync(request);
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument, () => operation.SetBandwidthAsync(0));
        await AssertFailsAsync(HypervisorErrorKind.InvalidArgument, () => operation.SetBandwidthAsync(double.NaN));
        if (tunable)
        {
            await operation.SetBandwidthAsync(400);
        }
        else
        {
            // NotSupported while it runs; a provider whose moves are near-instant (vcsim) may already have ended it,
            // and then an ended migration's Conflict is the answer.
            var refused = await Assert.ThrowsAsync<HypervisorException>(() => operation.SetBandwidthAsync(400));
            Assert.True(refused.Kind == HypervisorErrorKind.NotSupported || (refused.Kind == HypervisorErrorKind.Conflict && operation.Completion.IsCompleted),
                $"{refused.Kind}: {refused.Message}");
        }

        Assert.Equal(MigrationOutcome.Succeeded, (await CompleteAsync(provider, operation)).Outcome);
        await AssertFailsAsync(HypervisorErrorKind.Conflict, () => operation.SetBandwidthAsync(400));
    }

    [Fact]
    public async Task A_completed_migration_is_announced_as_an_inventory_event()
    {
        await using var provider = await Fixture.CreateProviderAsync();
        Require(provider, HypervisorCapabilities.LiveMigration | HypervisorCapabilities.InventoryEvents);
        var (vm, target) = await Fixture.PickMigrationAsync(provider);
        using var cts = new CancellationTokenSource();
        var seen = new TaskCompletionSource<VmMoved>(TaskCreationOptions.RunContinuationsAsynchronously);
        var enumerator = provider.WatchInventoryAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var pump = Task.Run(async () =>
        {
            try
            {
                while (await enumerator.MoveNextAsync())
                {
                    if (enumerator.Current is VmMoved moved && moved.Vm == vm)
                    {
                        seen.TrySetResult(moved);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        await Fixture.LetTimePassAsync(provider, TimeSpan.FromMilliseconds(10)); // let the subscription attach
        var operation = await provider.StartMigrationAsync(new MigrationRequest(vm, target));
        Assert.Equal(MigrationOutcome.Succeeded, (await CompleteAsync(provider, operation)).Outcome);
        var evt = await seen.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(target, evt.To);
        await cts.CancelAsync();
        await pump.WaitAsync(TimeSpan.FromSeconds(10));
        await enumerator.DisposeAsync();
    }
}
