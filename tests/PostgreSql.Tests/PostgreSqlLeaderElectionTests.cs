using VmEcosystem.Runtime.Audit;
using VmEcosystem.Runtime.Leadership;

namespace VmEcosystem.PostgreSql.Tests;

/// <summary>The election and the store's fence on their own, against the real server: terms, takeovers, refusals.</summary>
public sealed class PostgreSqlLeaderElectionTests(PostgresServer server)
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);

    private PostgreSqlStoreOptions Options(string schema) => new() { ConnectionString = server.ConnectionString, Schema = schema };

    [Fact]
    public async Task One_holder_at_a_time_and_every_new_term_has_a_greater_token()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var options = Options(PostgresServer.NewSchema());
        await using var a = new PostgreSqlLeaderElection(options);
        await using var b = new PostgreSqlLeaderElection(options);

        var first = await a.TryAcquireAsync("cluster", "a", T0, Lease, ct);
        Assert.Equal(("a", 1L), (first!.Holder, first.Token));
        Assert.Equal(first with { Expires = first.Expires }, await b.TryAcquireAsync("cluster", "b", T0, Lease, ct) is { } seen ? seen with { Expires = first.Expires } : null);
        var renewed = await a.TryAcquireAsync("cluster", "a", T0 + TimeSpan.FromSeconds(5), Lease, ct);
        Assert.Equal((1L, T0 + TimeSpan.FromSeconds(20)), (renewed!.Token, renewed.Expires)); // a renewal keeps the term

        // Another scope is led on its own.
        Assert.Equal("b", (await b.TryAcquireAsync("set-2", "b", T0, Lease, ct))!.Holder);

        // Released: the other instance leads at its next try, in a new term.
        await a.ReleaseAsync(renewed, ct);
        var taken = await b.TryAcquireAsync("cluster", "b", T0 + TimeSpan.FromSeconds(6), Lease, ct);
        Assert.Equal(("b", 2L), (taken!.Holder, taken.Token));
        Assert.Equal("b", (await a.TryAcquireAsync("cluster", "a", T0 + TimeSpan.FromSeconds(7), Lease, ct))!.Holder);
    }

    [Fact]
    public async Task A_holder_that_stops_renewing_is_cut_off_after_its_lease_and_a_killed_one_at_once()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var options = Options(PostgresServer.NewSchema());
        await using var a = new PostgreSqlLeaderElection(options);
        await using var b = new PostgreSqlLeaderElection(options);
        Assert.Equal(1L, (await a.TryAcquireAsync("cluster", "a", T0, Lease, ct))!.Token);

        // a stops renewing but keeps its session (and the lock): before its lease lapses b waits, after it b ends a's session.
        Assert.Equal("a", (await b.TryAcquireAsync("cluster", "b", T0 + TimeSpan.FromSeconds(14), Lease, ct))!.Holder);
        var taken = await b.TryAcquireAsync("cluster", "b", T0 + TimeSpan.FromSeconds(16), Lease, ct);
        Assert.Equal(("b", 2L), (taken!.Holder, taken.Token));
        await Assert.ThrowsAnyAsync<Exception>(async () => await a.TryAcquireAsync("cluster", "a", T0 + TimeSpan.FromSeconds(17), Lease, ct)); // its session is gone
        Assert.Equal("b", (await a.TryAcquireAsync("cluster", "a", T0 + TimeSpan.FromSeconds(18), Lease, ct))!.Holder); // reconnected: follows

        // b's lock connection is killed: a takes over long before b's lease would lapse (at 31 s). The server frees the
        // lock once the terminated backend has exited, a moment after pg_terminate_backend returns, so a tries at
        // successive heartbeats that all lie inside b's lease.
        await server.ScalarAsync($"SELECT pg_terminate_backend(holder_pid) FROM {options.Schema}.lease WHERE scope = 'cluster'");
        LeaderLease? after = null;
        for (int beat = 19; beat < 30 && after?.Holder != "a"; beat++)
        {
            after = await a.TryAcquireAsync("cluster", "a", T0 + TimeSpan.FromSeconds(beat), Lease, ct);
            await Task.Delay(after?.Holder == "a" ? 0 : 100, ct);
        }

        Assert.Equal(("a", 3L), (after!.Holder, after.Token));
    }

    [Fact]
    public async Task A_restarted_instance_with_the_same_name_never_leads_under_its_earlier_incarnations_lease()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var options = Options(PostgresServer.NewSchema());
        var before = new PostgreSqlLeaderElection(options);
        Assert.Equal(1L, (await before.TryAcquireAsync("cluster", "a", T0, Lease, ct))!.Token);

        // The new process, same name, while the old one's session still holds the lock: not the leader, none reported.
        await using var after = new PostgreSqlLeaderElection(options);
        Assert.Null(await after.TryAcquireAsync("cluster", "a", T0 + TimeSpan.FromSeconds(1), Lease, ct));

        // The old process is gone: the new one leads in a new term (at a later heartbeat: the server frees the lock
        // when the closed session's backend has exited, a moment after the close).
        await before.DisposeAsync();
        LeaderLease? lease = null;
        for (int beat = 2; beat < 40 && lease is null; beat++)
        {
            lease = await after.TryAcquireAsync("cluster", "a", T0 + TimeSpan.FromSeconds(beat), Lease, ct);
            await Task.Delay(lease is null ? 50 : 0, ct);
        }

        Assert.Equal(("a", 2L), (lease!.Holder, lease.Token));
    }

    [Fact]
    public async Task The_store_refuses_a_record_of_an_older_term_and_keeps_the_token_of_those_it_writes()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var options = Options(PostgresServer.NewSchema());
        await using var a = new PostgreSqlLeaderElection(options);
        await using var b = new PostgreSqlLeaderElection(options);
        await using var store = new PostgreSqlAuditStore(options);
        var term1 = (await a.TryAcquireAsync("cluster", "a", T0, Lease, ct))!;
        await a.ReleaseAsync(term1, ct);
        var term2 = (await b.TryAcquireAsync("cluster", "b", T0, Lease, ct))!;
        Assert.Equal(2L, term2.Token);

        static AuditRecord Intent(long token) => new(0, T0, AuditKind.ActionIntended, "plan-t1-000001", new("vm-1"), new("h1"), new("h2"), "migrate intended")
        {
            FencingScope = "cluster",
            FencingToken = token,
        };

        var refused = await Assert.ThrowsAsync<StaleFencingTokenException>(async () => await store.AppendAsync(Intent(1), ct));
        Assert.Contains("newer term", refused.Message, StringComparison.Ordinal);
        var written = await store.AppendAsync(Intent(2), ct);
        await store.AppendAsync(new AuditRecord(0, T0, AuditKind.PlanCreated, "plan-x", null, null, null, "unfenced records are not checked"), ct);
        var read = new List<AuditRecord>();
        await foreach (var r in store.QueryAsync(new AuditQuery(), ct))
        {
            read.Add(r);
        }

        Assert.Equal(2, read.Count);
        Assert.Equal(written, read[0]);
        Assert.Equal(("cluster", 2L), (read[0].FencingScope, read[0].FencingToken));
        Assert.Null(read[1].FencingToken);
    }
}
