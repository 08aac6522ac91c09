using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Sqlite;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.IntegrationTests.Runtime;

/// <summary>The SQLite audit trail written by one runtime is read back completely by the next.</summary>
public sealed class AuditRestartTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vmeco-audit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_sqlite_audit_written_by_one_runtime_is_read_back_by_a_new_one()
    {
        var ct = TestContext.Current.CancellationToken;
        string path = Path.Combine(_directory, "audit.db");

        // First process: three simulated hours through the runtime, writing the trail to SQLite.
        var written = new List<AuditRecord>();
        DateTimeOffset stoppedAt;
        {
            var clock = new VirtualClock();
            await using var provider = RuntimeDayTests.Services(clock, more: b => b.UseSqliteAudit(path));
            var runtime = provider.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(3), ct);
            await SimulatedRuntime.StopAsync(runtime, clock, ct);
            Assert.Empty(runtime.RunningMigrations);
            stoppedAt = clock.GetUtcNow();
            await foreach (var r in runtime.Audit.QueryAsync(new AuditQuery(), ct))
            {
                written.Add(r);
            }
        }

        Assert.True(written.Count > 500, $"only {written.Count} records written");
        Assert.Contains(written, r => r.Kind == AuditKind.MigrationSucceeded);
        Assert.Contains(written, r => r.Kind == AuditKind.DecisionPlanned && r.Detail is not null);

        // Second process: a new store on the same file reads every record back, equal field by field.
        using var reopened = new SqliteAuditStore(path);
        var read = new List<AuditRecord>();
        await foreach (var r in reopened.QueryAsync(new AuditQuery(), ct))
        {
            read.Add(r);
        }

        Assert.Equal(written, read);

        // Queries by VM, host and time range give what filtering the full trail gives.
        var vm = written.First(r => r.Kind == AuditKind.MigrationSucceeded).Vm!.Value;
        var host = written.First(r => r.Kind == AuditKind.MigrationSucceeded).Target!.Value;
        var from = written[0].Timestamp + TimeSpan.FromMinutes(30);
        var to = from + TimeSpan.FromHours(1);
        Assert.Equal(written.Where(r => r.Vm == vm), await ToListAsync(reopened.QueryAsync(new AuditQuery { Vm = vm }, ct)));
        Assert.Equal(written.Where(r => r.Source == host || r.Target == host), await ToListAsync(reopened.QueryAsync(new AuditQuery { Host = host }, ct)));
        Assert.Equal(written.Where(r => r.Timestamp >= from && r.Timestamp < to), await ToListAsync(reopened.QueryAsync(new AuditQuery { From = from, To = to }, ct)));

        // The forecasters' warm state was saved at stop, beside the trail, and a save replaces it.
        var checkpoint = await reopened.LoadCheckpointAsync("forecasters", ct);
        Assert.NotNull(checkpoint);
        Assert.Equal(stoppedAt, checkpoint.Timestamp);
        Assert.True(checkpoint.Data.Length > 1000, $"checkpoint of {checkpoint.Data.Length} bytes");
        Assert.Null(await reopened.LoadCheckpointAsync("other", ct));

        // A new runtime appends after the old trail; nothing is overwritten.
        reopened.Dispose();
        {
            var clock = new VirtualClock(stoppedAt);
            await using var provider = RuntimeDayTests.Services(clock, more: b => b.UseSqliteAudit(path));
            var runtime = provider.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            await runtime.WhenIdleAsync(ct);
            await runtime.StopAsync(ct);
            var all = await ToListAsync(runtime.Audit.QueryAsync(new AuditQuery(), ct));
            Assert.Equal(written, all.Take(written.Count));
            Assert.Equal(AuditKind.RuntimeStarted, all[written.Count].Kind);
            Assert.True(all[written.Count].Sequence > written[^1].Sequence);
            Assert.Contains(all.Skip(written.Count), r => r.Kind == AuditKind.RuntimeStarted
                && System.Text.RegularExpressions.Regex.IsMatch(r.Message, "forecasters of [1-9][0-9]* VMs refitted from the checkpoint"));
        }
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
