using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// Issue 14, defect 2: plans held for approval are made on observations that later plans make stale. The executor
/// re-checks every move right before it starts against the latest observation plus the moves in flight.
/// </summary>
public sealed class RevalidationTests
{
    /// <summary>Proposes one scripted plan a minute, each from the inventory it read at the first iteration (so later ones are stale).</summary>
    private sealed class ScriptedController : IRuntimeController
    {
        public readonly ConcurrentQueue<IReadOnlyList<(VmId Vm, HostId Source, HostId Target)>> Script = new();

        public string Name => "scripted";

        public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
        {
            await context.DelayAsync(TimeSpan.FromMinutes(1), cancellationToken);
            if (Script.TryDequeue(out var moves))
            {
                await context.ProposeAsync([.. moves.Select(m => (ClusterAction)new MigrateAction(Decision(m.Vm, m.Source, m.Target)))], "test");
            }
        }
    }

    private static MigrationDecision Decision(VmId vm, HostId source, HostId target) => new()
    {
        Vm = vm, Source = source, Target = target, VmIndex = -1, TargetIndex = -1, Stage = "test", Rule = "scripted",
        Trigger = new TriggerEvidence("test", "scripted move"),
    };

    [Fact]
    public async Task Approved_plans_made_stale_by_earlier_ones_never_break_anti_affinity_memory_or_the_source()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        var scripted = new ScriptedController();
        await using var provider = new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddVmEcosystem(b => b
                .UseSimulator(o =>
                {
                    o.Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 };
                    o.HostCount = 30;
                })
                .AddPlacementRules(_ => { })
                .ConfigureRuntime(o =>
                {
                    o.Mode = ExecutionMode.Approve;
                    o.PlanOnForecastAbove = null;
                    o.PlanOnInventoryChange = false;
                    o.MaxConcurrentMigrationsPerHost = 50;
                    o.MaxConcurrentMigrationsInCluster = 50;
                    o.MaxMigrationsPerWindow = 1000;
                    o.VmCooldown = TimeSpan.Zero;
                }))
            .AddSingleton<IRuntimeController>(scripted)
            .BuildServiceProvider();
        var hypervisor = provider.GetRequiredService<IHypervisor>();
        var inventory = await hypervisor.GetInventoryAsync(ct);
        var hostOf = inventory.Placements.ToDictionary(p => p.Vm, p => p.Host);
        var memory = inventory.Vms.ToDictionary(v => v.Id, v => v.Allocation.MemoryMiB);
        double Used(HostId h) => inventory.Placements.Where(p => p.Host == h).Sum(p => memory[p.Vm]);
        var target = inventory.Hosts.MinBy(h => Used(h.Id))!;
        double used = Used(target.Id);
        var others = inventory.Placements.Where(p => p.Host != target.Id).Select(p => p.Vm).ToList();
        VmId a = others[0], b = others[1];
        provider.GetRequiredService<PlacementConstraints>().AddAntiAffinity(a, b);
        // Enough VMs to overfill the target's memory once a is on it, each in its own plan of the same old observation.
        var fill = others.Skip(2).Aggregate(new List<VmId>(), (list, vm) =>
        {
            if (used + list.Sum(x => memory[x]) + memory[a] <= target.Capacity.MemoryMiB)
            {
                list.Add(vm);
            }

            return list;
        });
        scripted.Script.Enqueue([(a, hostOf[a], target.Id)]);
        scripted.Script.Enqueue([(b, hostOf[b], target.Id)]);
        scripted.Script.Enqueue([.. fill.Select(vm => (vm, hostOf[vm], target.Id))]);
        var otherTarget = inventory.Hosts.Last(h => h.Id != target.Id && h.Id != hostOf[a]).Id;
        scripted.Script.Enqueue([(a, hostOf[a], otherTarget)]);

        var runtime = provider.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(ct);
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(6), ct);
            var plans = runtime.PendingPlans.Where(p => p.Controller == "scripted").ToList();
            Assert.Equal(4, plans.Count);

            Assert.Equal(1, await runtime.ApproveAsync(plans[0].PlanId, ct));   // a -> target: in flight now
            Assert.Equal(0, await runtime.ApproveAsync(plans[1].PlanId, ct));   // b -> target: a is moving there
            int filled = await runtime.ApproveAsync(plans[2].PlanId, ct);
            Assert.True(filled < fill.Count, $"{filled} of {fill.Count} fill moves started");
            double onTarget = used + memory[a] + runtime.RunningMigrations.Where(r => r.Decision.Target == target.Id && r.Decision.Vm != a).Sum(r => memory[r.Decision.Vm]);
            Assert.True(onTarget <= target.Capacity.MemoryMiB, $"{onTarget} MiB started towards a {target.Capacity.MemoryMiB} MiB host");

            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(5), ct); // a lands on target
            Assert.Equal(0, await runtime.ApproveAsync(plans[3].PlanId, ct));   // a -> otherTarget from a source it left

            var skips = await runtime.Audit.ListAsync(new AuditQuery { Controller = "scripted", Kinds = [AuditKind.DecisionSkipped] });
            Assert.Contains(skips, r => r.Vm == b && r.Message.Contains("anti-affinity", StringComparison.Ordinal) && r.Message.Contains(a.Value, StringComparison.Ordinal));
            Assert.Contains(skips, r => r.Message.Contains("MiB of memory", StringComparison.Ordinal));
            Assert.Contains(skips, r => r.Vm == a && r.Message.Contains("stale", StringComparison.Ordinal));
            var final = await hypervisor.GetInventoryAsync(ct);
            Assert.NotEqual(final.Placements.Single(p => p.Vm == a).Host, final.Placements.Single(p => p.Vm == b).Host);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock); // a virtual clock must keep moving while the runtime drains
        }
    }
}
