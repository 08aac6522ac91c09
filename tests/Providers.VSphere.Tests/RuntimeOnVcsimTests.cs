using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Providers.VSphere.Tests;

/// <summary>The whole runtime on the vSphere provider, in dry run: it observes, plans and explains, and moves nothing.</summary>
public sealed class RuntimeOnVcsimTests(VcsimBinaries binaries)
{
    [Fact]
    public async Task The_runtime_plans_against_vcsim_in_dry_run_with_explanations_and_moves_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await binaries.StartAsync();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddVmEcosystem(new ConfigurationBuilder().Build(), b => b
            .UseVSphere(o =>
            {
                o.Endpoint = server.Endpoint;
                o.UserName = "user";
                o.Password = "pass";
                o.CertificateThumbprint = server.Thumbprint;
                o.EventWait = TimeSpan.FromSeconds(2);
            })
            .ConfigureRuntime(o =>
            {
                o.Mode = ExecutionMode.DryRun;
                o.MetricsInterval = TimeSpan.FromSeconds(1);
                o.PlanningInterval = TimeSpan.FromSeconds(1);
            }));
        await using var container = services.BuildServiceProvider();
        var runtime = container.GetRequiredService<EcosystemRuntime>();
        var hypervisor = container.GetRequiredService<IHypervisor>();
        var before = await hypervisor.GetInventoryAsync(ct);
        var host = before.Placements.GroupBy(p => p.Host).First(g => g.Count() >= 1 && before.Hosts.Single(h => h.Id == g.Key).HostSet is not null).Key;
        await runtime.StartAsync(ct);
        try
        {
            // Maintenance on a host with VMs: the planner must propose evacuating them, and in dry run only say so.
            await runtime.EnterMaintenanceAsync(host);
            var until = DateTime.UtcNow.AddSeconds(60);
            List<AuditRecord> trail = [];
            while (DateTime.UtcNow < until)
            {
                trail = await TrailAsync(runtime, ct);
                if (trail.Any(r => r.Kind == AuditKind.DecisionPlanned && r.Source == host))
                {
                    break;
                }

                await Task.Delay(250, ct);
            }

            var planned = trail.Where(r => r.Kind == AuditKind.DecisionPlanned && r.Source == host).ToArray();
            Assert.NotEmpty(planned);
            Assert.All(planned, r => Assert.False(string.IsNullOrWhiteSpace(r.Message)));
            Assert.Contains(planned, r => r.Message.Contains("maintenance", StringComparison.OrdinalIgnoreCase));
            Assert.Equal(0, runtime.Status.Migrations.Started);
            Assert.DoesNotContain(runtime.Status.LoopErrors, e => e.Value > 0);
        }
        finally
        {
            await runtime.StopAsync(CancellationToken.None);
        }

        var after = await hypervisor.GetInventoryAsync(ct);
        Assert.Equal(before.Placements.OrderBy(p => p.Vm.Value), after.Placements.OrderBy(p => p.Vm.Value)); // dry run: nothing moved
    }

    private static async Task<List<AuditRecord>> TrailAsync(EcosystemRuntime runtime, CancellationToken ct)
    {
        var records = new List<AuditRecord>();
        await foreach (var r in runtime.Audit.QueryAsync(new AuditQuery(), ct))
        {
            records.Add(r);
        }

        return records;
    }
}
