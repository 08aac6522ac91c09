using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;
using VmEcosystem.Sqlite;

namespace VmEcosystem.IntegrationTests.Runtime;

/// <summary>
/// The SQLite audit store held by another process (issue 14, defect 5): the loops are not stalled, no record is lost,
/// the trail stays in order; queries read in pages and retention deletes old records.
/// </summary>
public sealed class SqliteAuditLockTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vmeco-audit-lock-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_database_locked_by_another_process_neither_stalls_the_runtime_nor_loses_a_record()
    {
        var ct = TestContext.Current.CancellationToken;
        string path = Path.Combine(_directory, "audit.db");
        var clock = new VirtualClock();
        await using var provider = RuntimeDayTests.Services(clock, o => o.RecheckCapacity = false, b => b.UseSqliteAudit(path));
        var runtime = provider.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(ct);

        // Another process takes the write lock for a few seconds of real time while the day runs on.
        await using (var locker = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await locker.OpenAsync(ct);
            await using (var begin = locker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE;";
                await begin.ExecuteNonQueryAsync(ct);
            }

            long passes = runtime.Status.PlanningPasses;
            // The lock is held until a write failed on it and three planning passes ran meanwhile (or a minute passed:
            // then planning stalled on the store).
            var released = Task.Run(async () =>
            {
                var until = DateTime.UtcNow + TimeSpan.FromMinutes(1);
                while ((runtime.Status.PlanningPasses - passes < 3 || runtime.Status.AuditFailures == 0) && DateTime.UtcNow < until)
                {
                    await Task.Delay(20, ct);
                }

                long whileLocked = runtime.Status.PlanningPasses - passes;
                locker.Close();
                return whileLocked;
            }, ct);
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(30), ct);
            long passesWhileLocked = await released;
            Assert.True(passesWhileLocked >= 3, $"planning stalled while the audit store was locked ({passesWhileLocked} passes in a minute)");
        }

        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(2), ct);
        await SimulatedRuntime.StopAsync(runtime, clock, ct);
        var status = runtime.Status;
        Assert.True(status.AuditFailures > 0, "the lock was never hit");
        Assert.Equal(0, status.AuditLost);
        Assert.Equal(0, status.AuditPending);

        // Read back through a new store: complete, in order, every intent closed by exactly one outcome.
        using var reopened = new SqliteAuditStore(path);
        var trail = new List<AuditRecord>();
        await foreach (var r in reopened.QueryAsync(new AuditQuery(), ct))
        {
            trail.Add(r);
        }

        Assert.True(trail.Count > 300, $"only {trail.Count} records");
        Assert.True(trail.Zip(trail.Skip(1)).All(p => p.First.Timestamp <= p.Second.Timestamp), "the trail is out of order");
        Assert.Equal(AuditKind.RuntimeStopped, trail[^1].Kind);
        AuditKind[] outcomes = [AuditKind.MigrationSucceeded, AuditKind.MigrationFailed, AuditKind.MigrationCancelled, AuditKind.DecisionSkipped];
        foreach (var intent in trail.Where(r => r.Kind == AuditKind.ActionIntended))
        {
            Assert.Single(trail, r => outcomes.Contains(r.Kind) && r.PlanId == intent.PlanId && r.Vm == intent.Vm && r.Sequence > intent.Sequence);
        }
    }

    [Fact]
    public async Task Queries_read_in_pages_and_retention_deletes_what_is_older_than_it()
    {
        var ct = TestContext.Current.CancellationToken;
        string path = Path.Combine(_directory, "paged.db");
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using (var store = new SqliteAuditStore(path, new SqliteAuditOptions { PageSize = 10 }))
        {
            for (int i = 0; i < 1000; i++)
            {
                await store.AppendAsync(new AuditRecord(0, start + TimeSpan.FromMinutes(i), AuditKind.DecisionPlanned, $"plan-{i % 7}", null, null, null, $"r{i}"), ct);
            }

            var all = await ToListAsync(store.QueryAsync(new AuditQuery(), ct));
            Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"r{i}"), all.Select(r => r.Message));
            Assert.Equal(all.Where(r => r.PlanId == "plan-3").Take(25), await ToListAsync(store.QueryAsync(new AuditQuery { PlanId = "plan-3", Limit = 25 }, ct)));
            Assert.Equal(all.Skip(501).Take(15), await ToListAsync(store.QueryAsync(new AuditQuery { AfterSequence = all[500].Sequence, Limit = 15 }, ct)));
        }

        // Reopened with a retention of 10 hours: only the last 10 hours of records (601 of them) remain.
        using var kept = new SqliteAuditStore(path, new SqliteAuditOptions { Retention = TimeSpan.FromHours(10) });
        var left = await ToListAsync(kept.QueryAsync(new AuditQuery(), ct));
        Assert.Equal(Enumerable.Range(399, 601).Select(i => $"r{i}"), left.Select(r => r.Message));

        var bad = Assert.Throws<ArgumentException>(() => new SqliteAuditStore(path, new SqliteAuditOptions { BusyTimeout = TimeSpan.Zero }));
        Assert.Contains("VmEcosystem:Audit:Sqlite:BusyTimeout", bad.Message, StringComparison.Ordinal);
    }

    private static async Task<List<AuditRecord>> ToListAsync(IAsyncEnumerable<AuditRecord> records)
    {
        var list = new List<AuditRecord>();
        await foreach (var r in records)
        {
            list.Add(r);
        }

        return list;
    }
}
