using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// Safety defect 4: intent before action; a start whose answer is lost is resolved by asking the provider; a process
/// killed mid-migration leaves intents that the next runtime reconciles against the provider before it plans.
/// </summary>
public sealed class IntentTests
{
    /// <summary>Start calls reach the provider (the migration runs) but the first <c>lose</c> answers per VM never come back; <c>Sever</c> kills the process's link.</summary>
    private sealed class LostAnswers(IHypervisor inner, int lose) : DelegatingHypervisor(inner)
    {
        private readonly Dictionary<VmId, int> _calls = [];
        private readonly HashSet<string> _operations = [];
        private volatile bool _severed;

        public int Operations
        {
            get
            {
                lock (_operations)
                {
                    return _operations.Count;
                }
            }
        }

        public void Sever() => _severed = true;

        public override async Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default)
        {
            if (_severed)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var operation = await base.StartMigrationAsync(request, cancellationToken);
            int call;
            lock (_operations)
            {
                _operations.Add(operation.Id);
                call = _calls[request.Vm] = _calls.GetValueOrDefault(request.Vm) + 1;
            }

            if (call <= lose || _severed)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken); // accepted, answer lost
            }

            return operation;
        }
    }

    /// <summary>An audit store a killed process can no longer write to.</summary>
    private sealed class SeverableAudit(IAuditStore inner) : IAuditStore
    {
        public volatile bool Severed;

        public ValueTask<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default) =>
            Severed ? throw new IOException("the process is dead") : inner.AppendAsync(record, cancellationToken);

        public IAsyncEnumerable<AuditRecord> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => inner.QueryAsync(query, cancellationToken);
    }

    private static EcosystemRuntime Runtime(IHypervisor provider, IAuditStore audit, VirtualClock clock, TimeSpan callTimeout) =>
        new(provider, PredictivePolicy.Create(), Options.Create(new RuntimeOptions
        {
            Mode = ExecutionMode.Automatic,
            PlanOnForecastAbove = null,
            CallTimeout = callTimeout,
            CallRetries = 0,
        }), clock, new RuntimeComponents { Audit = audit });

    // A first process whose start answers never come back runs for a while, then dies: no stop, no more calls, no
    // more writes. What it started runs on in the provider.
    private static async Task<LostAnswers> KillAfterAsync(SimulatorHypervisor simulator, IAuditStore store, VirtualClock clock, TimeSpan after)
    {
        var first = new LostAnswers(simulator, lose: int.MaxValue);
        var firstAudit = new SeverableAudit(store);
        var dying = Runtime(first, firstAudit, clock, TimeSpan.FromHours(1));
        await dying.StartAsync(TestContext.Current.CancellationToken);
        await SimulatedRuntime.AdvanceAsync(dying, clock, clock.GetUtcNow() + after, TestContext.Current.CancellationToken);
        Assert.True(first.Operations > 0, "the first process should have started migrations");
        first.Sever();
        firstAudit.Severed = true;
        return first;
    }

    private static Task<List<AuditRecord>> Trail(IAuditStore audit) => audit.ListAsync();

    private static readonly AuditKind[] Outcomes = [AuditKind.MigrationSucceeded, AuditKind.MigrationFailed, AuditKind.MigrationCancelled];

    private static void EveryIntentHasExactlyOneOutcome(List<AuditRecord> trail)
    {
        var intents = trail.Where(r => r.Kind == AuditKind.ActionIntended).ToList();
        Assert.NotEmpty(intents);
        Assert.Equal(intents.Count, intents.Select(r => (r.PlanId, r.Vm)).Distinct().Count());
        foreach (var intent in intents)
        {
            Assert.Single(trail, r => Outcomes.Contains(r.Kind) && r.PlanId == intent.PlanId && r.Vm == intent.Vm && r.Sequence > intent.Sequence);
        }
    }

    [Fact]
    public async Task A_start_whose_answer_is_lost_is_tracked_from_the_provider_not_recorded_as_not_started()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 }, HostCount = 30 }, clock);
        var provider = new LostAnswers(simulator, lose: 1);
        var audit = new InMemoryAuditStore();
        await using var runtime = Runtime(provider, audit, clock, TimeSpan.FromSeconds(20));
        await runtime.StartAsync(ct);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(30), ct);
        await SimulatedRuntime.StopAsync(runtime, clock);

        var trail = await Trail(audit);
        var status = runtime.Status;
        Assert.True(provider.Operations > 0);
        Assert.Equal(provider.Operations, status.Migrations.Started);   // every migration the provider ran is known to the runtime
        Assert.Equal(provider.Operations, status.Migrations.Succeeded);
        Assert.DoesNotContain(trail, r => r.Message.Contains("could not start", StringComparison.Ordinal));
        Assert.Contains(trail, r => r.Kind == AuditKind.MigrationStarted && r.Message.Contains("first start call timed out", StringComparison.Ordinal));
        EveryIntentHasExactlyOneOutcome(trail);
        Assert.DoesNotContain(runtime.Reservations, r => r.Kind == ReservationKind.MigrationInFlight);
    }

    [Fact]
    public async Task Intents_a_killed_process_left_are_reconciled_against_the_provider_before_the_next_plans()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 }, HostCount = 30 }, clock);
        var store = new InMemoryAuditStore();

        int ran = (await KillAfterAsync(simulator, store, clock, TimeSpan.FromMinutes(6))).Operations;
        var open = (await Trail(store)).Where(r => r.Kind == AuditKind.ActionIntended).ToList();
        Assert.Equal(ran, open.Count);

        // The migrations it started complete in the provider meanwhile.
        while (clock.NextDue is { } due && due <= clock.GetUtcNow() + TimeSpan.FromMinutes(2))
        {
            clock.AdvanceToNextTimer();
        }

        var second = new LostAnswers(simulator, lose: 0);
        await using var runtime = Runtime(second, store, clock, TimeSpan.FromSeconds(20));
        await runtime.StartAsync(ct);
        var trail = await Trail(store);
        var reconciled = trail.Where(r => r.Message.StartsWith("reconciled at start", StringComparison.Ordinal)).ToList();
        Assert.Equal(open.Count, reconciled.Count);
        var inventory = await simulator.GetInventoryAsync(ct);
        foreach (var r in reconciled)
        {
            var intent = open.Single(i => i.PlanId == r.PlanId && i.Vm == r.Vm);
            bool onTarget = inventory.Placements.Single(p => p.Vm == r.Vm).Host == intent.Target;
            Assert.Equal(onTarget ? AuditKind.MigrationSucceeded : AuditKind.MigrationFailed, r.Kind);
        }

        Assert.Contains(reconciled, r => r.Kind == AuditKind.MigrationSucceeded);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(20), ct);
        await SimulatedRuntime.StopAsync(runtime, clock);
        trail = await Trail(store);
        long restart = trail.Last(r => r.Kind == AuditKind.RuntimeStarted && r.Message.StartsWith("runtime started", StringComparison.Ordinal)).Sequence;
        Assert.All(trail.Where(r => r.Kind == AuditKind.PlanCreated && r.Sequence > restart), p => Assert.True(p.Sequence > reconciled.Max(x => x.Sequence)));
        EveryIntentHasExactlyOneOutcome(trail);
        Assert.Equal(trail.Count(r => r.PlanId is not null && r.Kind == AuditKind.PlanCreated), trail.Where(r => r.Kind == AuditKind.PlanCreated).Select(r => r.PlanId).Distinct().Count());
        inventory = await simulator.GetInventoryAsync(ct);
        Assert.Equal(inventory.Vms.Count, inventory.Placements.Select(p => p.Vm).Distinct().Count()); // every VM on exactly one host
    }

    [Fact]
    public async Task A_move_still_running_when_the_new_process_starts_is_followed_to_its_real_end()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 }, HostCount = 30 }, clock);
        var store = new InMemoryAuditStore();
        await KillAfterAsync(simulator, store, clock, TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(2)); // the first pass's moves are copying
        Assert.True(simulator.MigrationsInFlight > 0, "the moves should still be copying when the new process starts");

        // The new process starts at once: the provider still runs the moves, so they are followed, not written off.
        var runtime = Runtime(new LostAnswers(simulator, lose: 0), store, clock, TimeSpan.FromSeconds(20));
        await runtime.StartAsync(ct);
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(10), ct);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }

        var trail = await Trail(store);
        Assert.Contains(trail, r => r.Kind == AuditKind.MigrationStarted && r.Message.Contains("still runs; followed", StringComparison.Ordinal));
        EveryIntentHasExactlyOneOutcome(trail);
        Assert.DoesNotContain(trail, r => r.Kind == AuditKind.MigrationFailed && r.Message.StartsWith("reconciled at start", StringComparison.Ordinal));
        Assert.Equal(0, simulator.MigrationsInFlight);
        Assert.DoesNotContain(runtime.Reservations, r => r.Kind == VmEcosystem.Planning.ShadowSlots.ReservationKind.MigrationInFlight);
    }
}
