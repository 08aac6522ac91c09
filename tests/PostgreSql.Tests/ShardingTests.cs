using VmEcosystem.Runtime.Audit;
using VmEcosystem.Cluster;

namespace VmEcosystem.PostgreSql.Tests;

/// <summary>
/// Three instances sharding twelve host sets (issue 22): each set led by one instance, four each; an instance leaves
/// and its sets move to the others within the lease time; every migration the provider ran was started by the leader
/// of both its source's and its target's host set at that moment.
/// </summary>
public sealed class ShardingTests(PostgresServer server)
{
    [Fact]
    public async Task Twelve_host_sets_spread_over_three_instances_and_move_when_one_leaves()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        string schema = PostgresServer.NewSchema();
        await using var harness = new ReplicaHarness(server.ConnectionString, schema, instances: 3, vms: 60, hostSets: 12, hosts: 48);
        await harness.StartAsync(ct);
        var setOf = (await harness.Inventory(ct)).Hosts.ToDictionary(h => h.Id, h => "cluster/" + h.HostSet!.Value.Value);

        // Who leads each set, sampled after every step; no set ever has two leaders.
        var leaderAt = new List<(DateTimeOffset At, Dictionary<string, string> Leaders)>();
        void Check()
        {
            var leaders = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var r in harness.Replicas.Where(r => r.Running && !r.Election.Frozen)) // a frozen one only believes it leads
            {
                foreach (var scope in r.Runtime.Status.Leadership!.Scopes)
                {
                    Assert.True(leaders.TryAdd(scope, r.Name), $"{scope} is led by {leaders.GetValueOrDefault(scope)} and {r.Name} at {harness.Clock.GetUtcNow():O}");
                }
            }

            leaderAt.Add((harness.Clock.GetUtcNow(), leaders));
        }

        // Spread: four sets each, within a few heartbeats of the start.
        Assert.True(await harness.AdvanceUntilAsync(() => harness.Replicas.All(r => r.Runtime.Status.Leadership!.Scopes.Count == 4), TimeSpan.FromMinutes(2), Check, ct),
            string.Join("; ", harness.Replicas.Select(r => $"{r.Name}: {string.Join(",", r.Runtime.Status.Leadership!.Scopes)}")));
        Assert.Equal(12, harness.Replicas.SelectMany(r => r.Runtime.Status.Leadership!.Scopes).Distinct().Count());
        await harness.AdvanceAsync(TimeSpan.FromHours(1), Check, ct);

        // One leaves: its sets are led by the others within the lease time, six each.
        var leaving = harness.Replicas[2];
        var itsSets = leaving.Runtime.Status.Leadership!.Scopes;
        var leftAt = harness.Clock.GetUtcNow();
        await harness.StopAsync(leaving, ct); // stopping awaits its running migrations, the clock moving on
        Assert.True(await harness.AdvanceUntilAsync(() => harness.Replicas.Take(2).All(r => r.Runtime.Status.Leadership!.Scopes.Count == 6), ReplicaHarness.LeaseTime, Check, ct),
            string.Join("; ", harness.Replicas.Take(2).Select(r => $"{r.Name}: {string.Join(",", r.Runtime.Status.Leadership!.Scopes)}")));
        var movedAt = leaderAt.First(l => l.At >= leftAt && itsSets.All(s => l.Leaders.ContainsKey(s))).At;
        Assert.True(movedAt - leftAt <= ReplicaHarness.LeaseTime, $"its sets were led again only after {movedAt - leftAt}");
        await harness.AdvanceAsync(TimeSpan.FromHours(1), Check, ct);

        // Another one dies without a word: its process frozen (no heartbeat reaches the database, it still believes it
        // leads) and its connections cut. Once its leases lapse the last instance leads all twelve sets, and nothing the
        // dead one still tries runs: its intents carry its old tokens.
        var dead = harness.Replicas[1];
        dead.Election.Frozen = true;
        await server.ScalarAsync($"SELECT count(pg_terminate_backend(holder_pid)) FROM {schema}.lease WHERE holder = '{dead.Name}'");
        var diedAt = harness.Clock.GetUtcNow();
        int deadStarts = harness.Starts.Count(x => x.Instance == dead.Name);
        Assert.True(await harness.AdvanceUntilAsync(() => harness.Replicas[0].Runtime.Status.Leadership!.Scopes.Count == 12,
            ReplicaHarness.LeaseTime + (2 * ReplicaHarness.RenewInterval), Check, ct), $"after {harness.Clock.GetUtcNow() - diedAt}: {string.Join(",", harness.Replicas[0].Runtime.Status.Leadership!.Scopes)}");
        var takenWithin = harness.Clock.GetUtcNow() - diedAt;
        await harness.AdvanceAsync(TimeSpan.FromHours(1), Check, ct);
        Assert.Equal(deadStarts, harness.Starts.Count(x => x.Instance == dead.Name));

        // Every start came from the leader of its source's set at that moment; a move into a set another instance led
        // ran only after that instance accepted the claim on it (two phases: the claim under the source's term, the
        // acceptance under the target's), never by one leader alone.
        var starts = harness.Starts.ToList();
        Assert.NotEmpty(starts);
        await using var store = new PostgreSqlAuditStore(new PostgreSqlStoreOptions { ConnectionString = server.ConnectionString, Schema = schema });
        var accepted = new List<AuditRecord>();
        await foreach (var r in store.QueryAsync(new AuditQuery { Kinds = [AuditKind.MoveClaimDecided] }, ct))
        {
            accepted.Add(r);
        }

        int crossing = 0;
        foreach (var s in starts)
        {
            var leaders = leaderAt.Last(l => l.At <= s.At).Leaders;
            Assert.Equal(s.Instance, leaders.GetValueOrDefault(setOf[s.Source!.Value]));
            string? target = leaders.GetValueOrDefault(setOf[s.Target]);
            if (target != s.Instance)
            {
                crossing++;
                Assert.True(accepted.Any(r => r.Vm == s.Vm && r.Target == s.Target && r.Timestamp <= s.At
                    && r.Message.StartsWith($"{target} accepted {s.Instance}'s claim", StringComparison.Ordinal)),
                    $"{s} into {setOf[s.Target]} led by {target}; claims {await server.ScalarAsync($"SELECT count(*) FROM {schema}.claim")}; {accepted.Count} decided");
            }
        }

        Assert.True(crossing > 0, "no move crossed into a set another instance led");
        string claims = $"{await server.ScalarAsync($"SELECT count(*) FROM {schema}.claim")} claims, "
            + $"{await server.ScalarAsync($"SELECT count(*) FROM {schema}.claim WHERE state = 'Accepted'")} accepted, "
            + $"{await server.ScalarAsync($"SELECT count(*) FROM {schema}.claim WHERE state = 'Refused'")} refused";

        Assert.True(starts.Select(s => s.Instance).Distinct().Count() >= 2, "only one instance executed");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{starts.Count} migrations ({crossing} into sets another instance led, each after its claim was accepted; {claims}) by {string.Join(", ", starts.GroupBy(s => s.Instance).Select(g => $"{g.Key} {g.Count()}"))}; its sets led again {movedAt - leftAt} after it began to stop; a dead one's sets taken over in {takenWithin}");
    }
}
