using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Audit;
using Xunit;

namespace VmEcosystem.Conformance;

/// <summary>
/// What every audit store (in memory, SQLite, PostgreSQL) must do: sequences assigned by the store, unique and
/// increasing across concurrent writers; every field read back as written; every filter and paging; checkpoints
/// replaced by name; and, for durable stores, the same trail seen by a second instance on the same backing.
/// Derive once per store.
/// </summary>
public abstract class AuditStoreContract
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.FromHours(2));

    /// <summary>A new, empty store; <paramref name="shareWith"/> (when the store is durable) opens a second instance on its backing.</summary>
    protected abstract IAuditStore Create(IAuditStore? shareWith = null);

    /// <summary>True when a second instance on the same backing sees the first one's records (durable stores).</summary>
    protected abstract bool Durable { get; }

    private static AuditRecord Record(int i, AuditKind kind = AuditKind.DecisionPlanned, string? vm = null, string? source = null, string? target = null,
        string? plan = null, string? controller = null, string? detail = null) =>
        new(0, T0.AddMinutes(i), kind, plan, vm is null ? null : new VmId(vm), source is null ? null : new HostId(source),
            target is null ? null : new HostId(target), $"record {i}", detail) { Controller = controller };

    private static async Task<List<AuditRecord>> List(IAuditStore store, AuditQuery query)
    {
        var list = new List<AuditRecord>();
        await foreach (var r in store.QueryAsync(query, TestContext.Current.CancellationToken))
        {
            list.Add(r);
        }

        return list;
    }

    private static async Task Dispose(IAuditStore store)
    {
        switch (store)
        {
            case IAsyncDisposable a:
                await a.DisposeAsync();
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }
    }

    [Fact]
    public async Task Every_field_reads_back_as_written_with_a_sequence_from_the_store()
    {
        var store = Create();
        try
        {
            var written = Record(1, AuditKind.MigrationStarted, "vm-1", "h-1", "h-2", "plan-1", "planning", """{"why":"x"}""");
            var appended = await store.AppendAsync(written, TestContext.Current.CancellationToken);
            Assert.True(appended.Sequence > 0);
            var bare = await store.AppendAsync(Record(2, AuditKind.RuntimeStarted), TestContext.Current.CancellationToken);
            Assert.True(bare.Sequence > appended.Sequence);
            var all = await List(store, new AuditQuery());
            Assert.Equal(2, all.Count);
            Assert.Equal(written with { Sequence = appended.Sequence }, all[0]);
            Assert.Equal(T0.AddMinutes(1), all[0].Timestamp);
            Assert.Equal(TimeSpan.FromHours(2), all[0].Timestamp.Offset);
            Assert.Null(all[1].Vm);
            Assert.Null(all[1].Detail);
            Assert.Null(all[1].Controller);
        }
        finally
        {
            await Dispose(store);
        }
    }

    [Fact]
    public async Task Every_filter_and_paging_select_exactly_their_records()
    {
        var store = Create();
        try
        {
            var ct = TestContext.Current.CancellationToken;
            for (int i = 0; i < 45; i++)
            {
                await store.AppendAsync(Record(i, i % 3 == 0 ? AuditKind.MigrationSucceeded : AuditKind.DecisionPlanned, $"vm-{i % 5}",
                    $"h-{i % 4}", $"h-{(i + 1) % 4}", $"plan-{i / 10}", i % 2 == 0 ? "planning" : "requests"), ct);
            }

            var all = await List(store, new AuditQuery());
            Assert.Equal(45, all.Count);
            Assert.Equal(all.OrderBy(r => r.Sequence).Select(r => r.Sequence), all.Select(r => r.Sequence));
            Assert.Equal(9, (await List(store, new AuditQuery { Vm = new VmId("vm-2") })).Count);
            var onHost = await List(store, new AuditQuery { Host = new HostId("h-1") });
            Assert.Equal(all.Count(r => r.Source?.Value == "h-1" || r.Target?.Value == "h-1"), onHost.Count);
            Assert.Equal(10, (await List(store, new AuditQuery { PlanId = "plan-2" })).Count);
            Assert.Equal(23, (await List(store, new AuditQuery { Controller = "planning" })).Count);
            Assert.Equal(15, (await List(store, new AuditQuery { Kinds = [AuditKind.MigrationSucceeded] })).Count);
            Assert.Equal(45, (await List(store, new AuditQuery { Kinds = [AuditKind.MigrationSucceeded, AuditKind.DecisionPlanned] })).Count);
            var window = await List(store, new AuditQuery { From = T0.AddMinutes(10), To = T0.AddMinutes(20) });
            Assert.Equal(Enumerable.Range(10, 10).Select(i => $"record {i}"), window.Select(r => r.Message));
            var combined = await List(store, new AuditQuery { Vm = new VmId("vm-0"), Kinds = [AuditKind.MigrationSucceeded], Controller = "planning" });
            Assert.Equal(all.Where(r => r.Vm?.Value == "vm-0" && r.Kind == AuditKind.MigrationSucceeded && r.Controller == "planning").Select(r => r.Sequence),
                combined.Select(r => r.Sequence));

            // Paging by sequence: pages of 7 return every record once, in order.
            var paged = new List<AuditRecord>();
            long? after = null;
            while (true)
            {
                var page = await List(store, new AuditQuery { AfterSequence = after, Limit = 7 });
                paged.AddRange(page);
                if (page.Count < 7)
                {
                    break;
                }

                after = page[^1].Sequence;
            }

            Assert.Equal(all.Select(r => r.Sequence), paged.Select(r => r.Sequence));
            Assert.Empty(await List(store, new AuditQuery { Limit = 0 }));
        }
        finally
        {
            await Dispose(store);
        }
    }

    [Fact]
    public async Task Concurrent_writers_get_unique_increasing_sequences_and_lose_nothing()
    {
        var store = Create();
        try
        {
            var ct = TestContext.Current.CancellationToken;
            var appended = await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                var mine = new List<long>();
                for (int i = 0; i < 50; i++)
                {
                    mine.Add((await store.AppendAsync(Record(i, vm: $"writer-{w}"), ct)).Sequence);
                }

                return mine;
            }, ct)));
            Assert.All(appended, mine => Assert.Equal(mine.Order(), mine)); // each writer's own records in order
            var sequences = appended.SelectMany(s => s).ToList();
            Assert.Equal(400, sequences.Distinct().Count());
            Assert.Equal(sequences.Order(), (await List(store, new AuditQuery())).Select(r => r.Sequence));
        }
        finally
        {
            await Dispose(store);
        }
    }

    [Fact]
    public async Task Checkpoints_are_replaced_by_name()
    {
        var store = Create();
        try
        {
            var ct = TestContext.Current.CancellationToken;
            var checkpoints = Assert.IsAssignableFrom<IRuntimeCheckpointStore>(store);
            Assert.Null(await checkpoints.LoadCheckpointAsync("forecasters", ct));
            await checkpoints.SaveCheckpointAsync(new RuntimeCheckpoint("forecasters", T0, new byte[] { 1, 2, 3 }), ct);
            await checkpoints.SaveCheckpointAsync(new RuntimeCheckpoint("other", T0, new byte[] { 9 }), ct);
            await checkpoints.SaveCheckpointAsync(new RuntimeCheckpoint("forecasters", T0.AddHours(1), new byte[] { 4, 5 }), ct);
            var loaded = await checkpoints.LoadCheckpointAsync("forecasters", ct);
            Assert.NotNull(loaded);
            Assert.Equal(T0.AddHours(1), loaded.Timestamp);
            Assert.Equal(new byte[] { 4, 5 }, loaded.Data.ToArray());
            Assert.Equal(new byte[] { 9 }, (await checkpoints.LoadCheckpointAsync("other", ct))!.Data.ToArray());
        }
        finally
        {
            await Dispose(store);
        }
    }

    [Fact]
    public async Task A_second_instance_on_the_same_backing_sees_and_extends_the_same_trail()
    {
        Assert.SkipUnless(Durable, "the store keeps its records in its own memory");
        var ct = TestContext.Current.CancellationToken;
        var first = Create();
        var second = Create(shareWith: first);
        try
        {
            var a = await first.AppendAsync(Record(1, vm: "from-first"), ct);
            var b = await second.AppendAsync(Record(2, vm: "from-second"), ct);
            Assert.True(b.Sequence > a.Sequence);
            Assert.Equal([a.Sequence, b.Sequence], (await List(first, new AuditQuery())).Select(r => r.Sequence));
            Assert.Equal([a.Sequence, b.Sequence], (await List(second, new AuditQuery())).Select(r => r.Sequence));
            await ((IRuntimeCheckpointStore)first).SaveCheckpointAsync(new RuntimeCheckpoint("shared", T0, new byte[] { 7 }), ct);
            Assert.Equal(new byte[] { 7 }, (await ((IRuntimeCheckpointStore)second).LoadCheckpointAsync("shared", ct))!.Data.ToArray());
        }
        finally
        {
            await Dispose(second);
            await Dispose(first);
        }
    }
}
