using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;
using VmEcosystem.Sqlite;

namespace VmEcosystem.IntegrationTests.Runtime;

/// <summary>
/// The fault test extended (issue 14): calls that reach the provider and whose answers are lost (starts among them),
/// calls that fail or hang, anti-affinity rules, and a process killed mid-day and replaced by a new one on the same
/// SQLite trail. Checked against the test's own record of what the provider really did, not the runtime's counters.
/// </summary>
public sealed class RuntimeCrashTests : IDisposable
{
    private static readonly AuditKind[] Outcomes =
        [AuditKind.MigrationSucceeded, AuditKind.MigrationFailed, AuditKind.MigrationCancelled, AuditKind.ActionSucceeded, AuditKind.ActionFailed, AuditKind.DecisionSkipped];

    private readonly string _directory = Directory.CreateTempSubdirectory("vmeco-crash-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // A store the dead process can no longer write to (the new process opens its own on the same file).
    private sealed class KillableAudit(IAuditStore inner) : IAuditStore
    {
        public volatile bool Dead;

        public ValueTask<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default) =>
            Dead ? throw new IOException("the process is dead") : inner.AppendAsync(record, cancellationToken);

        public IAsyncEnumerable<AuditRecord> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => inner.QueryAsync(query, cancellationToken);
    }

    private static readonly RuntimeOptions Limits = RuntimeFaultTests.FaultDayLimits();

    private static EcosystemRuntime Runtime(IHypervisor provider, IAuditStore audit, PlacementConstraints rules, TimeProvider clock) =>
        new(provider, PredictivePolicy.Create(new PredictiveOptions { EnforceMemory = false }), Options.Create(Limits), clock,
            new RuntimeComponents { Audit = audit, Constraints = rules });

    [Fact]
    public async Task Lost_answers_and_a_killed_process_execute_nothing_twice_and_every_intent_is_resolved()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var services = RuntimeDayTests.Services(clock);
        var simulator = services.GetRequiredService<IHypervisor>();
        var simulation = services.GetRequiredService<ISimulatedCluster>();
        var start = clock.GetUtcNow();

        // Anti-affine pairs among VMs that start on different hosts.
        var rules = new PlacementConstraints();
        var initial = await simulator.GetInventoryAsync(ct);
        var hostOf = initial.Placements.ToDictionary(p => p.Vm, p => p.Host);
        var vms = initial.Vms.Select(v => v.Id).ToList();
        for (int i = 0; i + 1 < vms.Count && rules.Count < 60; i += 2)
        {
            if (hostOf[vms[i]] != hostOf[vms[i + 1]])
            {
                rules.AddAntiAffinity(vms[i], vms[i + 1]);
            }
        }

        string path = Path.Combine(_directory, "audit.db");

        // The first process: a fifth of its calls fail or hang, a tenth reach the provider and lose their answer.
        var first = new FaultyHypervisor(simulator, faultShare: 0.2, seed: 11, clock, lostAnswerShare: 0.1, rules);
        using var firstStore = new SqliteAuditStore(path);
        var firstAudit = new KillableAudit(firstStore);
        var dying = Runtime(first, firstAudit, rules, clock);
        await dying.StartAsync(ct);
        // Killed by the first migration the provider starts after ten hours, before its answer comes back: the move
        // runs on in the hypervisor, the dead process hears and writes nothing more.
        DateTimeOffset? killedAt = null;
        first.AfterStart = _ =>
        {
            if (killedAt is null && clock.GetUtcNow() >= start + TimeSpan.FromHours(10))
            {
                killedAt = clock.GetUtcNow();
                first.Sever();
                firstAudit.Dead = true;
            }
        };
        await SimulatedRuntime.AdvanceAsync(dying, clock, start + TimeSpan.FromHours(10), ct);
        while (killedAt is null && clock.GetUtcNow() < start + TimeSpan.FromHours(20))
        {
            await SimulatedRuntime.AdvanceAsync(dying, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(30), ct);
        }

        Assert.NotNull(killedAt);
        await SimulatedRuntime.AdvanceAsync(dying, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(10), ct);

        // The new process, on the same file: it reconciles before it plans, then runs the rest of the day.
        var second = new FaultyHypervisor(simulator, faultShare: 0.2, seed: 12, clock, lostAnswerShare: 0.1, rules);
        using var secondStore = new SqliteAuditStore(path);
        await using var runtime = Runtime(second, secondStore, rules, clock);
        await runtime.StartAsync(ct);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromHours(24), ct);
        await SimulatedRuntime.StopAsync(runtime, clock, ct);

        var trail = new List<AuditRecord>();
        await foreach (var r in secondStore.QueryAsync(new AuditQuery(), ct))
        {
            trail.Add(r);
        }

        // Every intent resolved, by exactly one outcome; those the kill left open were reconciled at start.
        var intents = trail.Where(r => r.Kind == AuditKind.ActionIntended).ToList();
        Assert.NotEmpty(intents);
        foreach (var intent in intents)
        {
            Assert.Single(trail, r => Outcomes.Contains(r.Kind) && r.PlanId == intent.PlanId && r.Vm == intent.Vm && r.Sequence > intent.Sequence);
        }

        Assert.Contains(trail, r => r.Message.StartsWith("reconciled at start", StringComparison.Ordinal));
        Assert.True(first.LostAnswers + second.LostAnswers > 5, $"only {first.LostAnswers + second.LostAnswers} answers were lost");
        Assert.True(first.Started.Count > 20, $"only {first.Started.Count} migrations started before the kill");

        // Nothing executed twice: the provider started at most one migration per intent, within its window.
        var started = first.Started.Concat(second.Started).ToList();
        Assert.Equal(started.Count, started.Select(s => s.Operation).Distinct().Count());
        foreach (var intent in intents.Where(i => i.Target is not null))
        {
            var end = trail.First(r => Outcomes.Contains(r.Kind) && r.PlanId == intent.PlanId && r.Vm == intent.Vm && r.Sequence > intent.Sequence).Timestamp;
            Assert.True(started.Count(s => s.Vm == intent.Vm && s.At >= intent.Timestamp && s.At <= end) <= 1, $"{intent.Vm} ({intent.PlanId}) was started more than once");
        }

        // Every migration the provider ran is known: started in the trail, or reconciled.
        Assert.True(started.Count <= intents.Count(i => i.Target is not null));

        // Every VM on exactly one host; nothing left in flight or reserved; limits and anti-affinity held as the
        // provider saw them, at every start.
        var inventory = await simulator.GetInventoryAsync(ct);
        Assert.Equal(inventory.Vms.Count, inventory.Placements.Count);
        Assert.Equal(inventory.Vms.Count, inventory.Placements.Select(p => p.Vm).Distinct().Count());
        Assert.Empty(runtime.RunningMigrations);
        Assert.DoesNotContain(runtime.Reservations, r => r.Kind == ReservationKind.MigrationInFlight);
        foreach (var faulty in new[] { first, second })
        {
            Assert.InRange(faulty.PeakPerHost, 0, Limits.MaxConcurrentMigrationsPerHost);
            Assert.InRange(faulty.PeakInCluster, 0, Limits.MaxConcurrentMigrationsInCluster);
            Assert.Empty(faulty.AntiAffinityBreaks);
        }

        Assert.Equal(0, runtime.Status.AuditLost);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"killed at {killedAt:O}; provider started {first.Started.Count} + {second.Started.Count} migrations; answers lost {first.LostAnswers} + {second.LostAnswers}; "
            + $"{intents.Count} intents, {trail.Count(r => r.Message.StartsWith("reconciled at start", StringComparison.Ordinal))} reconciled at start");
        _ = simulation;
    }
}
