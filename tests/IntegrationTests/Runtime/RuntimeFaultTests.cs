using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Experiments;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.IntegrationTests.Runtime;

/// <summary>A simulated day on a provider that fails or hangs a fifth of its calls.</summary>
public sealed class RuntimeFaultTests
{
    /// <summary>The limits of a faulty day (shared by the crash test): tight enough that the limits are really tested.</summary>
    internal static RuntimeOptions FaultDayLimits() => new()
    {
        Mode = ExecutionMode.Automatic,
        MaxConcurrentMigrationsPerHost = 2,
        MaxConcurrentMigrationsInCluster = 12,
        MaxMigrationsPerWindow = 150,
        RateWindow = TimeSpan.FromHours(1),
        CallTimeout = TimeSpan.FromSeconds(20),
        CallRetries = 1,
        FailureBackoff = TimeSpan.FromMinutes(30),
        EventDebounce = TimeSpan.FromMinutes(1),

        // The planner here over-commits memory the way CloudSim does (EnforceMemory = false), so the executor's
        // re-check must not refuse what the planner deliberately allows.
        RecheckCapacity = false,
    };

    [Fact]
    public async Task A_day_on_a_provider_failing_a_fifth_of_its_calls_loses_nothing_and_keeps_running()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var provider = RuntimeDayTests.Services(clock);
        var simulator = provider.GetRequiredService<IHypervisor>();
        var simulation = provider.GetRequiredService<ISimulatedCluster>();
        var faulty = new FaultyHypervisor(simulator, faultShare: 0.2, seed: 7, clock);
        var options = FaultDayLimits();
        var audit = new InMemoryAuditStore(capacity: 1_000_000);
        await using var runtime = new EcosystemRuntime(faulty, PredictivePolicy.Create(new PredictiveOptions { EnforceMemory = false }),
            Options.Create(options), clock, new RuntimeComponents { Audit = audit });

        RuntimeStatus? last = null;
        var summary = await SimulatedRuntime.RunAsync(runtime, clock, simulation, p => last = p.Status, ct);

        // The faults really happened, and the runtime kept working through them.
        Assert.True(faulty.FailedCalls > 50, $"only {faulty.FailedCalls} calls failed");
        Assert.True(faulty.HungCalls > 50, $"only {faulty.HungCalls} calls hung");
        Assert.True(faulty.AbortedMigrations > 10, $"only {faulty.AbortedMigrations} migrations were aborted");
        var status = runtime.Status;
        Assert.True(status.Migrations.Succeeded > 100, $"only {status.Migrations.Succeeded} migrations succeeded");
        Assert.True(status.LoopErrors.Values.Sum() > 0);

        // No VM lost or on two hosts: the VMs the traces keep are all there, each on exactly one host.
        var inventory = await simulator.GetInventoryAsync(ct);
        var batch = ConsolidationExperiment.Run(simulation.Scenario, PredictivePolicy.Create(new PredictiveOptions { EnforceMemory = false }),
            InitialPlacementStrategy.PowerAwareBestFit, seed: 42).Summary;
        Assert.Equal(batch.VmsAtEnd, summary.VmsAtEnd);
        Assert.Equal(summary.VmsAtEnd, inventory.Vms.Count);
        var placed = inventory.Placements.GroupBy(p => p.Vm).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(inventory.Vms, vm => Assert.Equal(1, placed.GetValueOrDefault(vm.Id)));
        Assert.Equal(inventory.Vms.Count, inventory.Placements.Count);

        // No reservation leaked: nothing is in flight at the end, so the only in-flight reservations left are the holds
        // of moves that landed within the hold after switch-over (60 s) before the end.
        Assert.Empty(runtime.RunningMigrations);
        var records = new List<AuditRecord>();
        await foreach (var r in audit.QueryAsync(new AuditQuery(), ct))
        {
            records.Add(r);
        }

        foreach (var slot in runtime.Reservations.Where(r => r.Kind == ReservationKind.MigrationInFlight))
        {
            var end = records.Last(r => r.Vm?.Value == slot.Owner && r.Kind is AuditKind.MigrationSucceeded or AuditKind.MigrationFailed or AuditKind.MigrationCancelled);
            Assert.True(end.Kind == AuditKind.MigrationSucceeded && clock.GetUtcNow() - end.Timestamp <= options.Reservations.HoldAfterSwitchOver,
                $"{slot.Owner} holds {slot.Amount} after {end.Kind} at {end.Timestamp:O}");
        }

        // No limit exceeded, as seen by the provider itself (not by the runtime's own counters).
        Assert.InRange(faulty.PeakPerHost, 1, options.MaxConcurrentMigrationsPerHost);
        Assert.InRange(faulty.PeakInCluster, 1, options.MaxConcurrentMigrationsInCluster);
        var starts = faulty.MigrationStarts.Order().ToArray();
        for (int i = 0, j = 0; i < starts.Length; i++)
        {
            while (starts[i] - starts[j] >= options.RateWindow)
            {
                j++;
            }

            Assert.True(i - j + 1 <= options.MaxMigrationsPerWindow, $"{i - j + 1} migrations started within an hour of {starts[i]:O}");
        }

        // Every failure is in the audit trail: each failed or aborted migration and each failed loop iteration.
        var counts = new Dictionary<AuditKind, int>();
        int couldNotStart = 0;
        await foreach (var r in audit.QueryAsync(new AuditQuery(), ct))
        {
            counts[r.Kind] = counts.GetValueOrDefault(r.Kind) + 1;
            couldNotStart += r.Kind is AuditKind.MigrationFailed or AuditKind.MigrationCancelled && r.Message.StartsWith("could not start", StringComparison.Ordinal) ? 1 : 0;
        }

        Assert.Equal(status.Migrations.Failed, counts.GetValueOrDefault(AuditKind.MigrationFailed) + counts.GetValueOrDefault(AuditKind.MigrationCancelled));
        Assert.True(counts.GetValueOrDefault(AuditKind.MigrationCancelled) >= faulty.AbortedMigrations - 1,
            $"{faulty.AbortedMigrations} aborted migrations, {counts.GetValueOrDefault(AuditKind.MigrationCancelled)} audited as cancelled");
        Assert.Equal(status.Migrations.Started, counts.GetValueOrDefault(AuditKind.MigrationStarted));
        Assert.Equal(status.LoopErrors.Values.Sum(), counts.GetValueOrDefault(AuditKind.LoopError));
        Assert.True(couldNotStart > 0);
        Assert.Equal(status.Migrations.Started, status.Migrations.Succeeded + status.Migrations.Failed - couldNotStart);

        // The loops were still running at the end (the driver's last report comes just before it stops them).
        Assert.NotNull(last);
        Assert.True(last.Running);
        Assert.Equal(["collection", "execution", "inventory", "planning", "reservations"], last.LoopsAlive);
        Assert.False(status.Running);
    }
}
