using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>Safety defect 3: a migration past its timeout whose cancel the provider never confirms is released, not waited for forever.</summary>
public sealed class StuckMigrationTests
{
    /// <summary>Migrations start and then hang: no progress, no result, cancel ignored.</summary>
    private sealed class StuckMigrations(IHypervisor inner) : DelegatingHypervisor(inner)
    {
        public int Started;

        public override Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Started);
            return Task.FromResult<IMigrationOperation>(new Stuck(request));
        }

        private sealed class Stuck(MigrationRequest request) : IMigrationOperation
        {
            public string Id => $"stuck-{request.Vm}";

            public VmId Vm => request.Vm;

            public HostId Source => new("unknown");

            public HostId Target => request.Target;

            public MigrationProgress Progress => default!;

            public Task<MigrationResult> Completion { get; } = new TaskCompletionSource<MigrationResult>().Task;

            public async IAsyncEnumerable<MigrationProgress> WatchProgressAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
                yield break;
            }

            public Task CancelAsync(CancellationToken cancellationToken = default) => Task.CompletedTask; // acknowledged, never done
        }
    }

    [Fact]
    public async Task A_timed_out_migration_whose_cancel_is_never_confirmed_is_released_and_audited()
    {
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 }, HostCount = 30 }, clock);
        var provider = new StuckMigrations(simulator);
        var audit = new InMemoryAuditStore();
        await using var runtime = new EcosystemRuntime(provider, PredictivePolicy.Create(), Options.Create(new RuntimeOptions
        {
            Mode = ExecutionMode.Automatic,
            PlanOnForecastAbove = null,
            MigrationTimeout = TimeSpan.FromMinutes(10),
            CallTimeout = TimeSpan.FromSeconds(30),
        }), clock, new RuntimeComponents { Audit = audit });
        var ct = TestContext.Current.CancellationToken;
        await runtime.StartAsync(ct);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(10), ct);
        var host = (await provider.GetInventoryAsync(ct)).Placements.GroupBy(p => p.Host).OrderByDescending(g => g.Count()).First().Key;
        await runtime.EnterMaintenanceAsync(host);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(5), ct);
        Assert.True(provider.Started > 0);
        Assert.True(runtime.Status.MigrationsRunning > 0);

        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(12), ct);
        await runtime.WhenIdleAsync(ct);

        var status = runtime.Status;
        Assert.Equal(0, status.MigrationsRunning);
        Assert.Equal(status.Migrations.Started, status.Migrations.Failed);
        Assert.DoesNotContain(runtime.Reservations, r => r.Kind == ReservationKind.MigrationInFlight);
        var failed = await runtime.Audit.ListAsync(new AuditQuery { Kinds = [AuditKind.MigrationFailed] }); // waits for the records appended before it
        Assert.Equal(status.Migrations.Failed, failed.Count);
        Assert.All(failed, r => Assert.Contains("did not confirm its cancel within 00:00:30", r.Message, StringComparison.Ordinal));
        await SimulatedRuntime.StopAsync(runtime, clock);
    }
}
