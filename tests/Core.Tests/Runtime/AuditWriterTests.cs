using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// The runtime's audit writer: a slow, locked or failing store never stalls the caller, records are written in order
/// and retried, and failures and losses are counted (issue 14, defect 5).
/// </summary>
public sealed class AuditWriterTests
{
    // A store that can be blocked (every append waits) or broken (every append throws).
    private sealed class ControlledStore : IAuditStore
    {
        private readonly InMemoryAuditStore _inner = new();
        private TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ControlledStore() => _open.SetResult();

        public volatile bool Broken;

        public int Count => _inner.Count;

        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Block() => _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Unblock() => _open.TrySetResult();

        public async ValueTask<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default)
        {
            Called.TrySetResult();
            await _open.Task.ConfigureAwait(false);
            return Broken ? throw new IOException("database is locked") : await _inner.AppendAsync(record, cancellationToken).ConfigureAwait(false);
        }

        public IAsyncEnumerable<AuditRecord> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => _inner.QueryAsync(query, cancellationToken);

        public async Task<List<string>> MessagesAsync()
        {
            var list = new List<string>();
            await foreach (var r in _inner.QueryAsync(new AuditQuery()))
            {
                list.Add(r.Message);
            }

            return list;
        }
    }

    private static RuntimeAudit Writer(IAuditStore store, TimeProvider time, int capacity = 1000, TimeSpan? intentTimeout = null) =>
        new(store, time, NullLogger.Instance, capacity, intentTimeout ?? TimeSpan.FromSeconds(5));

    private static Task Append(RuntimeAudit audit, string message) =>
        audit.AppendAsync(AuditKind.DecisionPlanned, "planning", "plan-1", null, null, null, message);

    [Fact]
    public async Task A_blocked_store_never_holds_up_the_caller_and_gets_every_record_in_order_once_it_answers()
    {
        var store = new ControlledStore();
        store.Block();
        await using var audit = Writer(store, TimeProvider.System);
        for (int i = 0; i < 500; i++)
        {
            var append = Append(audit, $"r{i}");
            Assert.True(append.IsCompleted, "an append waited for the store");
        }

        Assert.Equal(0, store.Count);
        Assert.Equal(500, audit.Pending);
        store.Unblock();
        await audit.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"r{i}"), await store.MessagesAsync());
        Assert.Equal((0L, 0L, 0L), (audit.Pending, audit.Failures, audit.Lost));
    }

    [Fact]
    public async Task A_failing_store_is_retried_with_backoff_in_order_and_every_failure_is_counted()
    {
        var time = new FakeTimeProvider();
        var store = new ControlledStore { Broken = true };
        await using var audit = Writer(store, time);
        for (int i = 0; i < 10; i++)
        {
            await Append(audit, $"r{i}");
        }

        await audit.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, audit.Failures);      // the first failure puts the rest aside without hammering the store
        Assert.Equal(10, audit.Pending);

        // An intent cannot wait for the store to come back: until the next retry it is refused at once (its action
        // is not taken), without another attempt on the store.
        Assert.False(await audit.TryAppendAsync(AuditKind.ActionIntended, "execution", "plan-2", null, null, null, "migrate intended"));
        Assert.Equal(1, audit.Failures);

        store.Broken = false;
        await Append(audit, "r10");
        await WaitUntil(() => audit.Pending == 0, time, TimeSpan.FromSeconds(1));
        Assert.Equal(Enumerable.Range(0, 11).Select(i => $"r{i}"), await store.MessagesAsync());
        Assert.Equal(0, audit.Lost);
        Assert.True(await audit.TryAppendAsync(AuditKind.ActionIntended, "execution", "plan-3", null, null, null, "migrate intended"));
    }

    [Fact]
    public async Task Beyond_its_capacity_the_queue_counts_what_it_loses_and_an_unanswered_intent_is_never_written_later()
    {
        var store = new ControlledStore();
        store.Block();
        var time = new FakeTimeProvider();
        await using var audit = Writer(store, time, capacity: 5, intentTimeout: TimeSpan.FromSeconds(2));
        var intent = audit.TryAppendAsync(AuditKind.ActionIntended, "execution", "plan-1", null, null, null, "intent");
        await store.Called.Task.WaitAsync(TestContext.Current.CancellationToken); // its write has begun
        for (int i = 0; i < 6; i++)
        {
            await Append(audit, $"r{i}");
        }

        Assert.Equal(2, audit.Lost);          // the intent and four records fit; r4 and r5 do not
        Assert.False(await audit.TryAppendAsync(AuditKind.ActionIntended, "execution", "plan-2", null, null, null, "refused: full"));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(await intent);

        store.Unblock();
        await audit.FlushAsync(TestContext.Current.CancellationToken);
        var written = await store.MessagesAsync();
        Assert.DoesNotContain("refused: full", written);
        Assert.Equal(["intent", "r0", "r1", "r2", "r3"], written); // its write had begun when the caller gave up
        Assert.Equal(0, audit.Pending);
    }

    // A store that refuses records fenced with a term below its current one, as the PostgreSQL store does.
    private sealed class FencingStore(ControlledStore inner) : IAuditStore
    {
        public long Current { get; set; } = 1;

        public ValueTask<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default) =>
            record.FencingToken is { } token && token < Current
                ? throw new VmEcosystem.Runtime.Leadership.StaleFencingTokenException($"term {token} is older than {Current}")
                : inner.AppendAsync(record, cancellationToken);

        public IAsyncEnumerable<AuditRecord> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => inner.QueryAsync(query, cancellationToken);
    }

    [Fact]
    public async Task A_record_refused_for_its_old_term_is_dropped_without_blocking_the_trail_and_demotes_the_runtime()
    {
        var time = new FakeTimeProvider();
        var inner = new ControlledStore();
        var store = new FencingStore(inner);
        var standing = new VmEcosystem.Runtime.Leadership.LeadershipState(new VmEcosystem.Runtime.Leadership.LeadershipOptions { Instance = "me" }, time);
        var lease = new VmEcosystem.Runtime.Leadership.LeaderLease("cluster", "me", 1, time.GetUtcNow() + TimeSpan.FromMinutes(1));
        standing.Lead(lease);
        await using var audit = new RuntimeAudit(store, time, NullLogger.Instance, 1000, TimeSpan.FromSeconds(5)) { Leadership = standing };
        var host = new VmEcosystem.Cluster.HostId("h1");
        Assert.True(await audit.TryAppendAsync(AuditKind.ActionIntended, "execution", "plan-1", new("vm-1"), host, new("h2"), "migrate intended"));

        // A newer term began while the store was failing: the outcome waiting for a retry is refused, the records
        // behind it are still written, and the runtime stops acting.
        inner.Broken = true;
        await audit.AppendAsync(AuditKind.MigrationSucceeded, "execution", "plan-1", new("vm-1"), host, new("h2"), "migration succeeded");
        await Append(audit, "after");
        await audit.FlushAsync(TestContext.Current.CancellationToken);
        store.Current = 2;
        inner.Broken = false;
        await WaitUntil(() => audit.Pending == 0, time, TimeSpan.FromSeconds(1));
        Assert.Equal(["migrate intended", "after"], await inner.MessagesAsync());
        Assert.False(standing.MayActOn(host));
        Assert.Equal(1, standing.RefusedOf("cluster"));
        Assert.False(await audit.TryAppendAsync(AuditKind.ActionIntended, "execution", "plan-2", new("vm-2"), host, new("h2"), "refused: not the leader"));
    }

    private static async Task WaitUntil(Func<bool> condition, FakeTimeProvider time, TimeSpan step)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            time.Advance(step);
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.True(condition());
    }
}
