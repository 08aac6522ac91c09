using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Sqlite;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>The whole runtime (collection, planning, execution and inventory loops) on the real provider.</summary>
public sealed class RuntimeOnLibvirtTests(QemuHosts hosts)
{
    [Fact]
    public async Task The_runtime_collects_and_plans_against_real_libvirt_hosts_in_dry_run()
    {
        hosts.Require();
        var ct = TestContext.Current.CancellationToken;
        var services = new ServiceCollection();
        services.AddVmEcosystem(b => b
            .UseLibvirt(o =>
            {
                o.Hosts.Add(new LibvirtHostOptions { Name = "hosta", Uri = hosts.UriOf("hosta") });
                o.Hosts.Add(new LibvirtHostOptions { Name = "hostb", Uri = hosts.UriOf("hostb") });
            })
            .ConfigureRuntime(o =>
            {
                o.Mode = ExecutionMode.DryRun;
                o.MetricsInterval = TimeSpan.FromSeconds(1);
                o.PlanningInterval = TimeSpan.FromSeconds(1);
            }));
        await using var container = services.BuildServiceProvider();
        var runtime = container.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(ct);
        var until = DateTime.UtcNow.AddSeconds(60);
        while ((runtime.Status.Observations < 3 || runtime.Status.PlanningPasses < 2) && DateTime.UtcNow < until)
        {
            await Task.Delay(200, ct);
        }

        var status = runtime.Status;
        Assert.Equal(["collection", "execution", "inventory", "planning", "reservations"], status.LoopsAlive);
        await runtime.StopAsync(ct);
        Assert.True(status.Observations >= 3, $"{status.Observations} observations");
        Assert.True(status.PlanningPasses >= 2, $"{status.PlanningPasses} planning passes");
        Assert.Equal(0, status.Migrations.Started); // dry run: nothing is executed
        Assert.DoesNotContain(status.LoopErrors, e => e.Value > 0);
        int records = 0;
        await foreach (var _ in runtime.Audit.QueryAsync(new AuditQuery(), ct))
        {
            records++;
        }

        Assert.True(records > 0, "The dry run left no audit trail.");
    }

    [Fact]
    public async Task A_runtime_killed_mid_migration_is_replaced_and_the_new_one_follows_the_move_to_its_real_end()
    {
        hosts.Require();
        var ct = TestContext.Current.CancellationToken;
        string db = Path.Combine(Path.GetTempPath(), $"vmeco-libvirt-crash-{Guid.NewGuid():N}.db");
        var vm = new VmId(QemuHosts.Vm);
        try
        {
            // What a runtime killed while its peer-to-peer move copies leaves behind: the intent, durable in its
            // store, and the move still running in the source daemon (its client, killed, is gone).
            var (home, away) = await hosts.LeaveRunningMigrationAsync(peerToPeer: true);
            using (var store = new SqliteAuditStore(db))
            {
                await store.AppendAsync(new AuditRecord(0, DateTimeOffset.UtcNow, AuditKind.ActionIntended, "plan-7", vm, home, away,
                    $"migrate {vm} from {home} to {away} intended") { Controller = "execution" }, ct);
            }

            var services = new ServiceCollection();
            services.AddVmEcosystem(b => b
                .UseLibvirt(o =>
                {
                    o.Hosts.Add(new LibvirtHostOptions { Name = "hosta", Uri = hosts.UriOf("hosta") });
                    o.Hosts.Add(new LibvirtHostOptions { Name = "hostb", Uri = hosts.UriOf("hostb") });
                    o.PeerToPeerMigration = true;
                })
                .UseSqliteAudit(db)
                .ConfigureRuntime(o =>
                {
                    o.Mode = ExecutionMode.Automatic;
                    o.MetricsInterval = TimeSpan.FromSeconds(1);
                    o.PlanningInterval = TimeSpan.FromHours(1); // only the reconciled move runs
                }));
            await using var container = services.BuildServiceProvider();
            var runtime = container.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            try
            {
                // Start returns once open intents are reconciled: the move is followed, not written off.
                var trail = await TrailAsync(runtime, ct);
                Assert.Contains(trail, r => r.Kind == AuditKind.MigrationStarted && r.PlanId == "plan-7" && r.Message.Contains("still runs; followed", StringComparison.Ordinal));
                Assert.DoesNotContain(trail, r => r.Kind == AuditKind.MigrationFailed);
                Assert.Equal(1, runtime.Status.MigrationsRunning);

                Assert.Equal(0, (await hosts.VirshAsync(home.Value, "migrate-setspeed", vm.Value, "1000")).Code);
                var until = DateTime.UtcNow.AddMinutes(2);
                while (!trail.Any(r => r.Kind == AuditKind.MigrationSucceeded && r.PlanId == "plan-7") && DateTime.UtcNow < until)
                {
                    await Task.Delay(250, ct);
                    trail = await TrailAsync(runtime, ct);
                }

                Assert.Single(trail, r => r.PlanId == "plan-7" && r.Vm == vm && r.Kind is AuditKind.MigrationSucceeded or AuditKind.MigrationFailed or AuditKind.MigrationCancelled);
                Assert.Contains(trail, r => r.Kind == AuditKind.MigrationSucceeded && r.PlanId == "plan-7");
                Assert.Equal(0, runtime.Status.MigrationsRunning);
                var hypervisor = container.GetRequiredService<IHypervisor>();
                Assert.Equal(away, (await hypervisor.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == vm).Host);
            }
            finally
            {
                await runtime.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var f in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(db) + "*"))
            {
                File.Delete(f);
            }
        }
    }

    [Fact]
    public async Task A_requested_migration_goes_through_the_runtime_to_real_qemu()
    {
        hosts.Require();
        var ct = TestContext.Current.CancellationToken;
        var vm = new VmId(QemuHosts.Vm);
        var services = new ServiceCollection();
        services.AddVmEcosystem(b => b
            .UseLibvirt(o =>
            {
                o.Hosts.Add(new LibvirtHostOptions { Name = "hosta", Uri = hosts.UriOf("hosta"), MigrationUri = "tcp://127.0.0.1", MigrationListenAddress = "127.0.0.1" });
                o.Hosts.Add(new LibvirtHostOptions { Name = "hostb", Uri = hosts.UriOf("hostb"), MigrationUri = "tcp://127.0.0.1", MigrationListenAddress = "127.0.0.1" });
                o.AllowUnsafeMigration = true;
            })
            .ConfigureRuntime(o =>
            {
                o.Mode = ExecutionMode.Automatic;
                o.MetricsInterval = TimeSpan.FromSeconds(1);
                o.PlanningInterval = TimeSpan.FromHours(1); // only the request moves anything
            }));
        await using var container = services.BuildServiceProvider();
        var runtime = container.GetRequiredService<EcosystemRuntime>();
        var control = container.GetRequiredService<IEcosystemControl>();
        var hypervisor = container.GetRequiredService<IHypervisor>();
        var home = (await hypervisor.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == vm).Host;
        await runtime.StartAsync(ct);
        try
        {
            var request = await RequestWhenObservedAsync(control, vm, ct);
            Assert.NotEqual(home, request.Target);
            var until = DateTime.UtcNow.AddMinutes(2);
            while (request.State is RequestState.Queued or RequestState.Running && DateTime.UtcNow < until)
            {
                await Task.Delay(250, ct);
                request = (await control.GetRequestAsync(request.Id, ct))!;
            }

            Assert.Equal(RequestState.Succeeded, request.State);
            Assert.Equal(request.Target, (await hypervisor.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == vm).Host);
        }
        finally
        {
            await runtime.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Requests a move of <paramref name="vm"/> once the runtime has observed it (within a minute); never refused.</summary>
    internal static async Task<ActionRequest> RequestWhenObservedAsync(IEcosystemControl control, VmId vm, CancellationToken ct)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                var request = await control.RequestMigrationAsync(vm, reason: "operator asked", cancellationToken: ct);
                Assert.True(request.State != RequestState.Refused, request.Message);
                return request;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(250, ct); // not observed yet
            }
        }
    }

    /// <summary>The runtime's whole audit trail.</summary>
    internal static async Task<List<AuditRecord>> TrailAsync(EcosystemRuntime runtime, CancellationToken ct)
    {
        var trail = new List<AuditRecord>();
        await foreach (var r in runtime.Audit.QueryAsync(new AuditQuery(), ct))
        {
            trail.Add(r);
        }

        return trail;
    }
}
