using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;
using VmEcosystem.Tests.Runtime;
using VmEcosystem.Tuning;
using VmEcosystem.Tuning.Rollout;
using VmEcosystem.Runtime.Rollout;

namespace VmEcosystem.Tests.Tuning;

/// <summary>
/// A/B rollouts on the simulator: eight VMs run the simulated application; a rollout changes their configuration in
/// steps through the executor, and their latency (the model's, with seeded noise) decides.
/// </summary>
public sealed class RolloutTests
{
    private static readonly SearchSpace Space = SearchSpaceJson.Parse(SimulatedApplication.SearchSpaceJson);
    private static readonly Dictionary<string, string> Baseline = SimulatedFleet.Settings(Space, SimulatedApplication.Baseline);
    private static readonly Dictionary<string, string> Better = SimulatedFleet.Settings(Space, [9, 5, 9, 4096, 2, 1]);    // ~40 % lower latency
    private static readonly Dictionary<string, string> Slower = SimulatedFleet.Settings(Space, [16, 32, 40, 0, 0, 0]);    // ~20 % higher, within the SLO
    private static readonly Dictionary<string, string> Saturated = SimulatedFleet.Settings(Space, [2, 4, 2, 0, 0, 0]);    // 2 s: breaks the SLO
    private static readonly VmId[] Group = [.. Enumerable.Range(1, 8).Select(i => new VmId($"app-{i}"))];

    [Fact]
    public async Task A_better_configuration_is_promoted_in_steps_to_the_whole_group()
    {
        await using var run = await RolloutRun.StartAsync();
        run.Controller.Start(new RolloutRequest("r1", Group, Better, "tuning run t1", 0.62));
        var onCandidate = new List<int>();
        for (int minute = 1; minute <= 60; minute++)
        {
            await run.AdvanceAsync(minute);
            onCandidate.Add(run.Controller.GetStatus("r1")!.OnCandidate);
        }

        var status = run.Controller.GetStatus("r1")!;
        Assert.Equal(RolloutState.Completed, status.State);
        Assert.Equal([2, 4, 8], onCandidate.Where(n => n > 0).Distinct().ToArray()); // 25 %, 50 %, everyone
        var decisions = await run.DecisionsAsync();
        Assert.Equal(2, decisions.Count(d => d.Contains("promoted", StringComparison.Ordinal)));
        Assert.Contains(decisions, d => d.Contains("canary 2 VMs median latency", StringComparison.Ordinal) && d.Contains("better", StringComparison.Ordinal));
        Assert.All(Group, vm => Assert.Equal(Better, run.Versions.Current(vm)!.Settings));
        var v2 = run.Versions.Get(Group[0], 2)!;
        Assert.Equal("rollout r1 step 1", v2.Origin);
        Assert.Equal(0.62, v2.Score);
        Assert.Equal([1], v2.Parents);
    }

    [Fact]
    public async Task A_configuration_that_breaks_the_slo_is_rolled_back_at_the_first_sample_and_no_vm_is_left_on_it()
    {
        await using var run = await RolloutRun.StartAsync();
        run.Controller.Start(new RolloutRequest("r2", Group, Saturated, "manual"));
        for (int minute = 1; minute <= 10; minute++)
        {
            await run.AdvanceAsync(minute);
        }

        var status = run.Controller.GetStatus("r2")!;
        Assert.Equal(RolloutState.RolledBack, status.State);
        Assert.Contains("SLO broken on canary", status.Decision, StringComparison.Ordinal);
        Assert.Equal(0, status.OnCandidate);
        foreach (var vm in Group.Take(2))
        {
            var versions = run.Versions.List(vm);
            Assert.Equal(["initial", "rollout r2 step 1", "rollback of rollout r2"], versions.Select(v => v.Origin));
            Assert.Equal(Baseline, versions[^1].Settings);
            Assert.Equal([2, 1], versions[^1].Parents);
        }
    }

    [Fact]
    public async Task A_slower_configuration_within_the_slo_is_rolled_back_by_the_test_after_one_window()
    {
        await using var run = await RolloutRun.StartAsync();
        run.Controller.Start(new RolloutRequest("r3", Group, Slower, "manual"));
        for (int minute = 1; minute <= 25; minute++)
        {
            await run.AdvanceAsync(minute);
        }

        var status = run.Controller.GetStatus("r3")!;
        Assert.Equal(RolloutState.RolledBack, status.State);
        Assert.Contains("worse", status.Decision, StringComparison.Ordinal);
        Assert.Equal(0, status.OnCandidate);
        Assert.All(Group, vm => Assert.Equal(Baseline, run.Versions.Current(vm)!.Settings));
    }

    [Fact]
    public async Task Versions_diff_and_revert_work_and_survive_a_restart_on_the_same_audit_store()
    {
        var audit = new InMemoryAuditStore();
        var vm = Group[0];
        await using (var run = await RolloutRun.StartAsync(audit))
        {
            run.Controller.Start(new RolloutRequest("r4", Group, Better, "tuning run t1"));
            for (int minute = 1; minute <= 8; minute++)
            {
                await run.AdvanceAsync(minute);
            }

            Assert.Equal(Better, run.Versions.Current(vm)!.Settings);
            var diff = run.Versions.Diff(vm, 1, 2);
            Assert.Contains(new SettingChange("vcpus", "16", "9"), diff);
            Assert.Contains(new SettingChange("gc", "serial", "concurrent"), diff);
            Assert.DoesNotContain(diff, c => c.From == c.To);
            run.Controller.Revert(vm, 1);
            await run.AdvanceAsync(9);
            await run.AdvanceAsync(10);
            var reverted = run.Versions.Current(vm)!;
            Assert.Equal(3, reverted.Number);
            Assert.Equal("revert to v1", reverted.Origin);
            Assert.Equal(Baseline, reverted.Settings);
            Assert.Equal([2, 1], reverted.Parents);
        }

        // A new runtime on the same store reads every version back.
        await using var again = await RolloutRun.StartAsync(audit);
        await again.AdvanceAsync(1);
        Assert.Equal(["initial", "rollout r4 step 1", "revert to v1"], again.Versions.List(vm).Select(v => v.Origin));
        Assert.Equal(Baseline, again.Versions.Current(vm)!.Settings);
        Assert.Equal(Better, again.Versions.Get(vm, 2)!.Settings);
    }

    [Fact]
    public async Task A_rollout_in_progress_resumes_after_a_restart_and_completes()
    {
        var audit = new InMemoryAuditStore();
        SimulatedFleet fleet;
        await using (var run = await RolloutRun.StartAsync(audit))
        {
            fleet = run.Fleet; // the VMs keep their configurations across the runtime's restart
            run.Controller.Start(new RolloutRequest("r5", Group, Better, "tuning run t1"));
            for (int minute = 1; minute <= 17; minute++)
            {
                await run.AdvanceAsync(minute);
            }

            Assert.Equal(4, run.Controller.GetStatus("r5")!.OnCandidate); // promoted once: 50 %
        }

        await using var again = await RolloutRun.StartAsync(audit, fleet);
        for (int minute = 1; minute <= 40; minute++)
        {
            await again.AdvanceAsync(minute);
        }

        var status = again.Controller.GetStatus("r5")!;
        Assert.Equal(RolloutState.Completed, status.State);
        Assert.Equal(8, status.OnCandidate);
    }

    [Fact]
    public async Task A_configure_action_waiting_for_approval_is_held_again_after_a_restart_and_applies_when_approved()
    {
        var audit = new InMemoryAuditStore();
        SimulatedFleet fleet;
        string planId;
        await using (var run = await RolloutRun.StartAsync(audit, configure: ExecutionMode.Approve))
        {
            fleet = run.Fleet;
            run.Controller.Start(new RolloutRequest("r6", Group, Better, "tuning run t1", 0.62));
            await run.AdvanceAsync(1);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!run.Runtime.PendingPlans.Any(p => p.Controller == "rollout"))
            {
                // the executor takes the proposal off its queue on its own loop
                Assert.True(DateTime.UtcNow < deadline, "the rollout's first step was not held for approval");
                await run.Runtime.WhenIdleAsync(TestContext.Current.CancellationToken);
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }

            var held = Assert.Single(run.Runtime.PendingPlans, p => p.Controller == "rollout");
            planId = held.PlanId;
            Assert.All(held.Actions, a => Assert.Equal("configure", a.Kind));
            Assert.Equal(2, held.Actions.Count); // the first step: 25 % of 8
        }

        await using var again = await RolloutRun.StartAsync(audit, fleet, ExecutionMode.Approve);
        var restored = Assert.Single(again.Runtime.PendingPlans, p => p.PlanId == planId);
        Assert.Equal(2, restored.Actions.Count);
        await again.AdvanceAsync(5); // observed: the executor checks an approved plan against the cluster as it is now
        Assert.Equal(2, await again.Runtime.ApproveAsync(planId, TestContext.Current.CancellationToken));
        await again.Runtime.WhenIdleAsync(TestContext.Current.CancellationToken);
        foreach (var vm in Group.Take(2))
        {
            var current = again.Versions.Current(vm)!;
            Assert.Equal(Better, current.Settings);
            Assert.Equal("rollout r6 step 1", current.Origin);
            Assert.Equal(0.62, current.Score);
        }

        Assert.DoesNotContain(await audit.ListAsync(new AuditQuery { Kinds = [AuditKind.PlanDiscarded] }), r => r.PlanId == planId);
    }

    private sealed record RolloutRun(EcosystemRuntime Runtime, RolloutController Controller, ConfigurationVersionStore Versions, InMemoryAuditStore Audit,
        VirtualClock Clock, SimulatorHypervisor Simulator, DateTimeOffset Start) : IAsyncDisposable
    {
        public static async Task<RolloutRun> StartAsync(InMemoryAuditStore? audit = null, SimulatedFleet? fleet = null, ExecutionMode configure = ExecutionMode.Automatic)
        {
            audit ??= new InMemoryAuditStore();
            var clock = new VirtualClock();
            var hosts = Enumerable.Range(0, 2).Select(h => new HostInfo(new HostId($"h{h}"), new ResourceVector(32, 64000, 65536, 10000, 1000)) { PowerModel = SpecPowerModel.HpProLiantMl110G5 }).ToArray();
            var vms = Group.Select(id => new SimulatedVm(new VmInfo(id, new ResourceVector(4, 8000, 4096)), new DemandTrace(id.Value, Enumerable.Repeat(0.3, 40).ToArray(), 300))).ToArray();
            var simulator = new SimulatorHypervisor(new SimulatorOptions { Scenario = () => new SimulationScenario("rollout", hosts, vms, SimulationModel.Realistic with { DurationSeconds = 3 * 3600 }) }, clock);
            fleet ??= new SimulatedFleet(Space, new SimulatedApplication(), Baseline, new Random(11));
            var versions = new ConfigurationVersionStore();
            var controller = new RolloutController(fleet, versions, new RolloutOptions { SloLatencyMs = 500 }, audit);
            var options = new RuntimeOptions { Mode = ExecutionMode.Automatic, PlanOnForecastAbove = null };
            options.Modes["migrate"] = ExecutionMode.DryRun;
            options.Modes["configure"] = configure;
            var runtime = new EcosystemRuntime(simulator, PredictivePolicy.Create(), Options.Create(options), clock,
                new RuntimeComponents { Audit = audit, Controllers = [controller], ApplicationMetrics = fleet, ActionRestorers = [controller] });
            await runtime.StartAsync(TestContext.Current.CancellationToken);
            return new RolloutRun(runtime, controller, versions, audit, clock, simulator, clock.GetUtcNow()) { Fleet = fleet };
        }

        public required SimulatedFleet Fleet { get; init; }

        public Task AdvanceAsync(int minute) =>
            SimulatedRuntime.AdvanceAsync(Runtime, Clock, Start + TimeSpan.FromMinutes(minute) + TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        public async Task<List<string>> DecisionsAsync() =>
            [.. (await Audit.ListAsync(new AuditQuery { Kinds = [AuditKind.RolloutDecided] })).Select(r => r.Message)];

        public async ValueTask DisposeAsync()
        {
            await SimulatedRuntime.StopAsync(Runtime, Clock);
            await Simulator.DisposeAsync();
        }
    }
}

/// <summary>The Mann–Whitney U test against textbook values.</summary>
public sealed class MannWhitneyTests
{
    [Fact]
    public void Separated_samples_are_significant_one_way_only_and_ties_count_half()
    {
        var r = MannWhitney.Test([1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]);
        Assert.Equal(0, r.U);
        Assert.True(r.PLess < 0.001, $"{r.PLess}");
        Assert.True(r.PGreater > 0.99, $"{r.PGreater}");
        var same = MannWhitney.Test([5, 5, 5], [5, 5, 5]);
        Assert.Equal(4.5, same.U);
        Assert.Equal(0.5, same.PLess);
        // Two interleaved samples of 10: U = 45 of 100, no evidence either way.
        var mixed = MannWhitney.Test([1, 3, 5, 7, 9, 11, 13, 15, 17, 19], [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
        Assert.Equal(45, mixed.U);
        Assert.InRange(mixed.PLess, 0.3, 0.5);
        Assert.Equal(0.975, MannWhitney.NormalCdf(1.96), 3);
    }
}
