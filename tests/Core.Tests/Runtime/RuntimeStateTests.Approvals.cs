using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Hosting;
using VmEcosystem.Planning;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>Issue 15, item 7: plans awaiting approval are held again by the next process.</summary>
public sealed partial class RuntimeStateTests
{
    [Fact]
    public async Task A_plan_awaiting_approval_is_held_again_after_a_restart_and_can_be_approved()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = Simulator(clock);
        var provider = new DelegatingHypervisor(simulator);
        var store = new InMemoryAuditStore();
        var inventory = await simulator.GetInventoryAsync(ct);
        var vm = inventory.Placements[0];
        var target = inventory.Hosts.First(h => h.Id != vm.Host).Id;
        var scripted = new OneShotController(() => new MigrateAction(new MigrationDecision
        {
            Vm = vm.Vm, Source = vm.Host, Target = target, VmIndex = -1, TargetIndex = -1, Stage = "test", Rule = "scripted",
            Trigger = new TriggerEvidence("test", "an operator's planned move"),
        }));
        void Approve(RuntimeOptions o)
        {
            o.Mode = ExecutionMode.Approve;
            o.PlanningInterval = TimeSpan.FromHours(12); // only the scripted plan waits
            o.ApprovalTimeout = TimeSpan.FromHours(2);
        }

        PendingPlan held;
        await using (var services = Build(clock, provider, store, Approve, scripted))
        {
            var runtime = services.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            try
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(2), ct);
                held = Assert.Single(runtime.PendingPlans, p => p.Controller == "scripted");
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }
        }

        await using (var services = Build(clock, provider, store, Approve))
        {
            var runtime = services.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            try
            {
                var again = Assert.Single(runtime.PendingPlans);
                Assert.Equal((held.PlanId, held.Controller, held.ExpiresAt), (again.PlanId, again.Controller, again.ExpiresAt));
                var move = Assert.IsType<MigrateAction>(Assert.Single(again.Actions));
                Assert.Equal((vm.Vm, vm.Host, target, "scripted"), (move.Vm, move.Host, move.Decision.Target, move.Decision.Rule));
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(6), ct); // observed: the executor can check it
                Assert.Equal(1, await runtime.ApproveAsync(held.PlanId, ct));
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(10), ct);
                Assert.Equal(target, (await simulator.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == vm.Vm).Host);
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }
        }

        // Past its timeout while no process ran, it is discarded at the next start instead of held.
        clock.Advance(TimeSpan.FromHours(3));
        var late = new InMemoryAuditStore();
        foreach (var r in await Trail(store))
        {
            if (r.PlanId == held.PlanId && r.Kind == AuditKind.PlanAwaitingApproval)
            {
                await late.AppendAsync(r);
            }
        }

        await using (var services = Build(clock, provider, late, Approve))
        {
            var runtime = services.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            try
            {
                Assert.Empty(runtime.PendingPlans);
                Assert.Contains(await Trail(runtime.Audit), r => r.PlanId == held.PlanId && r.Kind == AuditKind.PlanDiscarded && r.Message.Contains("stopped", StringComparison.Ordinal));
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }
        }
    }
}
