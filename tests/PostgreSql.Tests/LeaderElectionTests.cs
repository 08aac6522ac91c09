using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.PostgreSql.Tests;

/// <summary>
/// Three runtime instances on one simulated cluster and one PostgreSQL database (issue 22): one leader at a time; its
/// lock connection killed, then its heartbeats frozen, and another instance leads within the lease time; the frozen
/// leader's late action is refused by its fencing token; over the whole trail no action ran twice and none was lost.
/// </summary>
public sealed class LeaderElectionTests(PostgresServer server)
{
    private static readonly AuditKind[] Outcomes =
        [AuditKind.MigrationSucceeded, AuditKind.MigrationFailed, AuditKind.MigrationCancelled, AuditKind.ActionSucceeded, AuditKind.ActionFailed, AuditKind.DecisionSkipped];

    [Fact]
    public async Task One_leader_at_a_time_takeovers_within_the_lease_and_no_action_twice_or_lost()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        string schema = PostgresServer.NewSchema();
        await using var harness = new ReplicaHarness(server.ConnectionString, schema, instances: 3);
        await harness.StartAsync(ct);

        // Exactly one instance leads (among those whose heartbeats reach the database), and it is the lease row's holder.
        var leaderless = TimeSpan.Zero;
        var longestLeaderless = TimeSpan.Zero;
        var lastStep = harness.Clock.GetUtcNow();
        void Check()
        {
            var live = harness.Leaders.Where(r => !r.Election.Frozen).ToList();
            Assert.True(live.Count <= 1, $"{live.Count} instances lead at {harness.Clock.GetUtcNow():O}: {string.Join(", ", live.Select(r => r.Name))}");
            var now = harness.Clock.GetUtcNow();
            leaderless = live.Count == 0 ? leaderless + (now - lastStep) : TimeSpan.Zero;
            longestLeaderless = leaderless > longestLeaderless ? leaderless : longestLeaderless;
            lastStep = now;
        }

        // 1. The leader's lock connection is killed while its migrations run: another instance leads within the lease
        // time, follows those migrations to their end and records their outcomes (the old leader's are refused).
        Assert.True(await harness.AdvanceUntilAsync(() => harness.Leaders.Any(r => r.Runtime.RunningMigrations.Count > 0), TimeSpan.FromHours(6), Check, ct),
            "no migration ran to kill the leader during");
        var first = Assert.Single(harness.Leaders);
        Assert.Equal(first.Name, await server.ScalarAsync($"SELECT holder FROM {schema}.lease WHERE scope = 'cluster'"));
        long firstTerm = first.Runtime.Status.Leadership!.Token;
        int runningAtKill = first.Runtime.RunningMigrations.Count;
        await server.ScalarAsync($"SELECT pg_terminate_backend(holder_pid) FROM {schema}.lease WHERE scope = 'cluster'");
        var killedAt = harness.Clock.GetUtcNow();
        await harness.AdvanceAsync(ReplicaHarness.LeaseTime, Check, ct);
        var second = Assert.Single(harness.Leaders);
        Assert.NotEqual(first.Name, second.Name);
        Assert.True(second.Runtime.Status.Leadership!.Token > firstTerm);
        await harness.AdvanceAsync(TimeSpan.FromHours(2), Check, ct);

        // 2. The leader's heartbeats stop reaching the database (its session, and its lock, stay open): once its lease
        // lapsed another instance ends that session and leads, within the lease time and two heartbeats.
        var secondTerm = second.Runtime.Status.Leadership!.Token;
        second.Election.Frozen = true;
        var frozenAt = harness.Clock.GetUtcNow();
        await harness.AdvanceAsync(ReplicaHarness.LeaseTime + (2 * ReplicaHarness.RenewInterval), Check, ct);
        var third = Assert.Single(harness.Leaders, r => r != second);
        Assert.True(third.Runtime.Status.Leadership!.Token > secondTerm);
        Assert.True(second.Runtime.Status.Leadership!.IsLeader, "the frozen instance still believes it leads");

        // Its late action carries its old token and is refused: the provider never sees it, and it stops leading.
        int startsBefore = harness.Starts.Count(s => s.Instance == second.Name);
        var vm = second.Runtime.Cluster!.Vms.First().Vm;
        var request = await second.Runtime.RequestMigrationAsync(vm, reason: "late action of a stale leader", cancellationToken: ct);
        await harness.AdvanceAsync(TimeSpan.FromMinutes(1), Check, ct);
        Assert.Equal(startsBefore, harness.Starts.Count(s => s.Instance == second.Name));
        Assert.False(second.Runtime.Status.Leadership!.IsLeader);
        await using (var trail = new PostgreSqlAuditStore(new PostgreSqlStoreOptions { ConnectionString = server.ConnectionString, Schema = schema }))
        {
            Assert.DoesNotContain(await ListAsync(trail, ct), r => r.PlanId == request.Id && r.Kind == AuditKind.ActionIntended);
        }

        second.Election.Frozen = false;
        await harness.AdvanceAsync(TimeSpan.FromHours(2), Check, ct);
        foreach (var r in harness.Replicas.ToList())
        {
            await harness.StopAsync(r, ct);
        }

        // Over the whole trail: every intent has exactly one outcome, every migration the provider started was intended
        // under the term of the instance that started it, and none was started twice for one intent.
        await using var store = new PostgreSqlAuditStore(new PostgreSqlStoreOptions { ConnectionString = server.ConnectionString, Schema = schema });
        var records = await ListAsync(store, ct);
        var intents = records.Where(r => r.Kind == AuditKind.ActionIntended).ToList();
        Assert.True(intents.Count > 10, $"only {intents.Count} actions were intended");
        foreach (var intent in intents)
        {
            Assert.Single(records, r => Outcomes.Contains(r.Kind) && r.PlanId == intent.PlanId && r.Vm == intent.Vm && r.Sequence > intent.Sequence);
        }

        // Controls a reservation set on a landed VM are put back, by the leader that set them or by the next one
        // (the old leader's own restore is refused by its token once it no longer leads).
        foreach (var held in records.Where(r => r.Controller == "reservations" && r.Kind == AuditKind.ActionSucceeded
            && r.Message.Contains("held after switch-over", StringComparison.Ordinal)))
        {
            Assert.Contains(records, r => r.Vm == held.Vm && r.Sequence > held.Sequence && r.Kind == AuditKind.ActionSucceeded
                && r.Message.Contains("previous controls restored", StringComparison.Ordinal));
        }

        var starts = harness.Starts.ToList();
        Assert.True(starts.Count <= intents.Count(i => i.Target is not null), $"{starts.Count} starts for {intents.Count} intents");
        foreach (var group in starts.GroupBy(s => (s.Vm, s.At)))
        {
            Assert.Single(group); // one start per VM per instant: no action executed twice
        }

        Assert.Contains(records, r => r.Kind == AuditKind.LeadershipAcquired && r.Message.StartsWith(third.Name, StringComparison.Ordinal));
        Assert.Contains(records, r => r.Kind == AuditKind.MigrationStarted && r.Timestamp >= killedAt && r.Message.Contains("followed to its end", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Kind == AuditKind.LeadershipLost && r.Message.Contains("refused its fencing token", StringComparison.Ordinal));
        Assert.True(longestLeaderless <= ReplicaHarness.LeaseTime + (2 * ReplicaHarness.RenewInterval), $"no leader for {longestLeaderless}");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"leaders {first.Name} (term {firstTerm}), {second.Name} (term {secondTerm}), {third.Name}; killed at {killedAt:O} with {runningAtKill} migrations running, frozen at {frozenAt:O}; "
            + $"{intents.Count} intents, {starts.Count} starts, longest without a leader {longestLeaderless}; "
            + $"{records.Count(r => r.Message.Contains("held after switch-over", StringComparison.Ordinal))} holds, "
            + $"{records.Count(r => r.Message.Contains("earlier run ended: previous controls restored", StringComparison.Ordinal))} restored by a later leader");
    }

    private static async Task<List<AuditRecord>> ListAsync(IAuditStore store, CancellationToken ct)
    {
        var list = new List<AuditRecord>();
        await foreach (var r in store.QueryAsync(new AuditQuery(), ct))
        {
            list.Add(r);
        }

        return list;
    }
}
