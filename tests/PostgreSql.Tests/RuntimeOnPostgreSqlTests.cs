using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.PostgreSql.Tests;

/// <summary>
/// The runtime on <c>UsePostgreSql</c>, as an application registers it: the trail and checkpoints written by one
/// runtime are what the next one (another process, another replica) restores from; the schema is migrated once and
/// a second start on a current schema changes nothing; bad settings are named.
/// </summary>
public sealed class RuntimeOnPostgreSqlTests(PostgresServer server)
{
    private static ServiceProvider Services(VirtualClock clock, string connection, string schema)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddVmEcosystem(b => b
            .UseSimulator(o => o.Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 })
            .ConfigureRuntime(o => { o.Mode = ExecutionMode.Automatic; o.PlanOnForecastAbove = null; })
            .UsePostgreSql(connection, o => o.Schema = schema));
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task A_runtime_restarted_on_the_same_database_restores_maintenance_and_reads_the_whole_trail()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        string schema = PostgresServer.NewSchema();
        var clock = new VirtualClock();
        var written = new List<AuditRecord>();
        HostId maintained;
        {
            await using var provider = Services(clock, server.ConnectionString, schema);
            var runtime = provider.GetRequiredService<EcosystemRuntime>();
            Assert.IsType<PostgreSqlAuditStore>(provider.GetRequiredService<IAuditStore>());
            await runtime.StartAsync(ct);
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(2), ct);
            maintained = runtime.Cluster!.Hosts.First(h => h.VmCount > 0).Host;
            await runtime.EnterMaintenanceAsync(maintained);
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(1), ct);
            await SimulatedRuntime.StopAsync(runtime, clock, ct);
            await foreach (var r in runtime.Audit.QueryAsync(new AuditQuery(), ct))
            {
                written.Add(r);
            }
        }

        Assert.Contains(written, r => r.Kind == AuditKind.MigrationSucceeded);
        Assert.Contains(written, r => r.Kind == AuditKind.MaintenanceEntered && r.Target == maintained);
        Assert.Equal((long)PostgreSqlAuditStore.SchemaVersion, await server.ScalarAsync($"SELECT count(*) FROM {schema}.schema_migrations"));

        // The next runtime (a restart, or another replica taking over) on the same database.
        {
            await using var provider = Services(clock, server.ConnectionString, schema);
            var runtime = provider.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            await runtime.WhenIdleAsync(ct);
            Assert.Contains(maintained, runtime.Status.HostsInMaintenance);
            var read = new List<AuditRecord>();
            await foreach (var r in runtime.Audit.QueryAsync(new AuditQuery { Limit = written.Count }, ct))
            {
                read.Add(r);
            }

            Assert.Equal(written, read);
            var checkpoint = await ((IRuntimeCheckpointStore)provider.GetRequiredService<IAuditStore>()).LoadCheckpointAsync("forecasters", ct);
            Assert.NotNull(checkpoint);
            await SimulatedRuntime.StopAsync(runtime, clock, ct);
        }

        Assert.Equal((long)PostgreSqlAuditStore.SchemaVersion, await server.ScalarAsync($"SELECT count(*) FROM {schema}.schema_migrations")); // migrated once
    }

    [Fact]
    public async Task Replicas_starting_together_migrate_the_schema_once()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        string schema = PostgresServer.NewSchema();
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgreSqlAuditStore(new PostgreSqlStoreOptions { ConnectionString = server.ConnectionString, Schema = schema })).ToList();
        try
        {
            await Task.WhenAll(stores.Select(s => s.MigrateAsync(ct)));
            Assert.Equal((long)PostgreSqlAuditStore.SchemaVersion, await server.ScalarAsync($"SELECT count(*) FROM {schema}.schema_migrations"));
            Assert.Equal(PostgreSqlAuditStore.SchemaVersion, await server.ScalarAsync($"SELECT max(version) FROM {schema}.schema_migrations"));
        }
        finally
        {
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public void Bad_settings_are_named()
    {
        var services = new ServiceCollection();
        var missing = Assert.Throws<ArgumentException>(() => services.AddVmEcosystem(b => b.UseSimulator().UsePostgreSql()));
        Assert.Contains("VmEcosystem:PostgreSql:ConnectionString is required", missing.Message, StringComparison.Ordinal);
        var schema = Assert.Throws<ArgumentException>(() => services.AddVmEcosystem(b => b.UseSimulator().UsePostgreSql("Host=x", o => o.Schema = "Robert'); DROP")));
        Assert.Contains("VmEcosystem:PostgreSql:Schema", schema.Message, StringComparison.Ordinal);
    }
}
