using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>A controller an application adds runs in the runtime, through the one executor: shared limits, modes, audit.</summary>
public sealed class ApplicationControllerTests
{
    /// <summary>Every 10 minutes proposes a memory hot-plug (64 MiB less, cumulative) for the first eight VMs of the inventory.</summary>
    private sealed class ShrinkMemoryController : IRuntimeController
    {
        public string Name => "shrink-memory";

        public int Iterations;

        public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
        {
            await context.DelayAsync(TimeSpan.FromMinutes(10), cancellationToken);
            Interlocked.Increment(ref Iterations);
            var inventory = await context.CallAsync("GetInventory", (h, ct) => h.GetInventoryAsync(ct), cancellationToken);
            var actions = inventory.Placements.Take(8).Select(p =>
            {
                var vm = inventory.Vms.Single(v => v.Id == p.Vm);
                return (ClusterAction)new HotPlugAction(p.Vm, p.Host, new HotPlugRequest(MemoryMiB: vm.Allocation.MemoryMiB - 64),
                    "shrink memory by 64 MiB");
            }).ToList();
            await context.ProposeAsync(actions, "test");
        }
    }

    private static ServiceProvider Build(VirtualClock clock, Action<RuntimeOptions> runtime) =>
        new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddVmEcosystem(b => b
                .UseSimulator(o =>
                {
                    o.Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 };
                    o.HostCount = 30;
                })
                .AddController<ShrinkMemoryController>()
                .ConfigureRuntime(o =>
                {
                    o.PlanOnForecastAbove = null;
                    o.PlanOnInventoryChange = false;
                    runtime(o);
                }))
            .AddSingleton<ShrinkMemoryController>()
            .BuildServiceProvider();

    private static Task<List<AuditRecord>> AuditAsync(IAuditStore audit, string controller) => audit.ListAsync(new AuditQuery { Controller = controller });

    [Fact]
    public async Task An_added_controller_runs_within_the_shared_limits_and_is_audited()
    {
        var clock = new VirtualClock();
        await using var provider = Build(clock, o =>
        {
            o.Mode = ExecutionMode.Automatic;
            o.Modes["migrate"] = ExecutionMode.DryRun; // the planner's moves are only audited: the window is this controller's
            o.MaxMigrationsPerWindow = 5;             // shared by every action kind and every controller
            o.RateWindow = TimeSpan.FromHours(1);
            o.VmCooldown = TimeSpan.FromMinutes(15); // shared too
        });
        var runtime = provider.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(TestContext.Current.CancellationToken);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(25), TestContext.Current.CancellationToken);

        Assert.Contains("shrink-memory", runtime.Status.LoopsAlive);
        Assert.Contains("shrink-memory", runtime.Controllers);
        var counts = runtime.Status.Actions["hot-plug"];
        Assert.Equal(0, runtime.Status.Migrations.Started);
        Assert.Equal(5, counts.Started);   // the window's limit
        Assert.Equal(5, counts.Succeeded);
        Assert.Equal(11, counts.Skipped);  // two proposals of eight

        var trail = await AuditAsync(runtime.Audit, "shrink-memory");
        Assert.Equal(2, trail.Count(r => r.Kind == AuditKind.PlanCreated));
        Assert.Equal(16, trail.Count(r => r.Kind == AuditKind.DecisionPlanned));
        Assert.Equal(counts.Started, trail.Count(r => r.Kind == AuditKind.ActionSucceeded && r.Message.StartsWith("hot-plug succeeded", StringComparison.Ordinal)));
        var skipped = trail.Where(r => r.Kind == AuditKind.DecisionSkipped).ToList();
        Assert.Equal(counts.Skipped, skipped.Count);
        Assert.Equal(6, skipped.Count(r => r.Message.Contains("(limit 5)", StringComparison.Ordinal)));
        Assert.Equal(5, skipped.Count(r => r.Message.Contains("cooldown", StringComparison.Ordinal))); // the first proposal's VMs, ten minutes on
        await SimulatedRuntime.StopAsync(runtime, clock);
    }

    [Fact]
    public async Task The_mode_of_an_action_kind_applies_to_an_added_controller()
    {
        var clock = new VirtualClock();
        await using var provider = Build(clock, o =>
        {
            o.Mode = ExecutionMode.Automatic;
            o.Modes["hot-plug"] = ExecutionMode.Approve;
        });
        var runtime = provider.GetRequiredService<EcosystemRuntime>();
        var hypervisor = provider.GetRequiredService<IHypervisor>();
        await runtime.StartAsync(TestContext.Current.CancellationToken);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(11), TestContext.Current.CancellationToken);

        var pending = Assert.Single(runtime.PendingPlans, p => p.Controller == "shrink-memory");
        Assert.Equal(8, pending.Actions.Count);
        Assert.False(runtime.Status.Actions.ContainsKey("hot-plug"));
        var first = (HotPlugAction)pending.Actions[0];
        double before = (await hypervisor.GetInventoryAsync(TestContext.Current.CancellationToken)).Vms.Single(v => v.Id == first.Vm).Allocation.MemoryMiB;

        Assert.Equal(8, await runtime.ApproveAsync(pending.PlanId, TestContext.Current.CancellationToken));
        double after = (await hypervisor.GetInventoryAsync(TestContext.Current.CancellationToken)).Vms.Single(v => v.Id == first.Vm).Allocation.MemoryMiB;
        Assert.Equal(first.Request.MemoryMiB, after);
        Assert.True(after < before);
        Assert.Contains(await AuditAsync(runtime.Audit, "shrink-memory"), r => r.Kind == AuditKind.PlanApproved);
        await SimulatedRuntime.StopAsync(runtime, clock);
    }

    [Fact]
    public void A_failing_controller_is_retried_with_backoff_and_never_dies()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), Backoff.Delay(1, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)));
        Assert.Equal(TimeSpan.FromSeconds(8), Backoff.Delay(4, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)));
        Assert.Equal(TimeSpan.FromMinutes(5), Backoff.Delay(40, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)));
    }
}
