using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>The whole runtime (collection, planning, execution and inventory loops) on the real provider, in dry-run mode.</summary>
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
        Assert.Equal(["collection", "execution", "inventory", "planning"], status.LoopsAlive);
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
}
