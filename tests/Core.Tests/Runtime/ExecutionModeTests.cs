using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>Execution modes, approvals, maintenance and option validation on a small simulated cluster.</summary>
public sealed class ExecutionModeTests
{
    private sealed class Rig : IAsyncDisposable
    {
        public Rig(ExecutionMode mode, Action<RuntimeOptions>? configure = null)
        {
            Simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 }, HostCount = 30 }, Clock);
            var options = new RuntimeOptions { Mode = mode, PlanOnForecastAbove = null, PlanOnInventoryChange = false };
            configure?.Invoke(options);
            Audit = new InMemoryAuditStore();
            Runtime = new EcosystemRuntime(Simulator, PredictivePolicy.Create(), Options.Create(options), Clock, new RuntimeComponents { Audit = Audit });
        }

        public VirtualClock Clock { get; } = new();

        public SimulatorHypervisor Simulator { get; }

        public InMemoryAuditStore Audit { get; }

        public EcosystemRuntime Runtime { get; }

        public async Task StartAsync()
        {
            await Runtime.StartAsync(TestContext.Current.CancellationToken);
            await RunForAsync(TimeSpan.FromMinutes(10));
        }

        public Task RunForAsync(TimeSpan span) =>
            SimulatedRuntime.AdvanceAsync(Runtime, Clock, Clock.GetUtcNow() + span, TestContext.Current.CancellationToken);

        public async Task<HostId> BusiestHostAsync() =>
            (await Simulator.GetInventoryAsync(TestContext.Current.CancellationToken)).Placements.GroupBy(p => p.Host).OrderByDescending(g => g.Count()).First().Key;

        public async Task<int> VmsOnAsync(HostId host) =>
            (await Simulator.GetInventoryAsync(TestContext.Current.CancellationToken)).Placements.Count(p => p.Host == host);

        public Task<List<AuditRecord>> AuditOfAsync(params AuditKind[] kinds) => Runtime.Audit.ListAsync(new AuditQuery { Kinds = kinds });

        public async ValueTask DisposeAsync()
        {
            await SimulatedRuntime.StopAsync(Runtime, Clock);
            await Runtime.DisposeAsync();
            await Simulator.DisposeAsync();
        }
    }

    [Fact]
    public async Task Dry_run_plans_and_explains_but_executes_nothing()
    {
        await using var rig = new Rig(ExecutionMode.DryRun);
        await rig.StartAsync();
        var host = await rig.BusiestHostAsync();
        int before = await rig.VmsOnAsync(host);
        await rig.Runtime.EnterMaintenanceAsync(host);
        await rig.RunForAsync(TimeSpan.FromHours(1));

        Assert.Equal(before, await rig.VmsOnAsync(host));
        Assert.Equal(0, rig.Runtime.Status.Migrations.Started);
        var planned = await rig.AuditOfAsync(AuditKind.DecisionPlanned);
        Assert.Contains(planned, r => r.Source == host && r.Detail!.Contains("\"rule\"", StringComparison.Ordinal));
        Assert.Empty(await rig.AuditOfAsync(AuditKind.MigrationStarted));
    }

    [Fact]
    public async Task Approve_mode_waits_for_approval_then_executes()
    {
        await using var rig = new Rig(ExecutionMode.Approve);
        await rig.StartAsync();
        var host = await rig.BusiestHostAsync();
        await rig.Runtime.EnterMaintenanceAsync(host);
        await rig.Runtime.WhenIdleAsync(TestContext.Current.CancellationToken);

        var pending = Assert.Single(rig.Runtime.PendingPlans, p => p.Actions.Any(a => a.Host == host));
        Assert.Equal(0, rig.Runtime.Status.Migrations.Started);
        int started = await rig.Runtime.ApproveAsync(pending.PlanId, TestContext.Current.CancellationToken);
        Assert.True(started > 0);
        await rig.RunForAsync(TimeSpan.FromMinutes(30));

        Assert.Equal(0, await rig.VmsOnAsync(host));
        Assert.Single(await rig.AuditOfAsync(AuditKind.PlanApproved));
        await Assert.ThrowsAsync<InvalidOperationException>(() => rig.Runtime.ApproveAsync(pending.PlanId, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Rejected_and_expired_plans_are_audited_and_cannot_be_approved()
    {
        await using var rig = new Rig(ExecutionMode.Approve, o => o.ApprovalTimeout = TimeSpan.FromMinutes(12));
        await rig.StartAsync();
        var host = await rig.BusiestHostAsync();
        await rig.Runtime.EnterMaintenanceAsync(host);
        await rig.Runtime.WhenIdleAsync(TestContext.Current.CancellationToken);
        var first = rig.Runtime.PendingPlans.Single(p => p.Actions.Any(a => a.Host == host));
        await rig.Runtime.RejectAsync(first.PlanId, "not tonight");
        Assert.Contains(await rig.AuditOfAsync(AuditKind.PlanRejected), r => r.PlanId == first.PlanId && r.Message.Contains("not tonight", StringComparison.Ordinal));
        await Assert.ThrowsAsync<InvalidOperationException>(() => rig.Runtime.RejectAsync(first.PlanId));

        // The next periodic pass proposes the evacuation again; left alone, it expires.
        await rig.RunForAsync(TimeSpan.FromMinutes(5));
        var second = rig.Runtime.PendingPlans.Last(p => p.Actions.Any(a => a.Host == host));
        Assert.NotEqual(first.PlanId, second.PlanId);
        await rig.RunForAsync(TimeSpan.FromMinutes(20));
        Assert.DoesNotContain(rig.Runtime.PendingPlans, p => p.PlanId == second.PlanId);
        Assert.Contains(await rig.AuditOfAsync(AuditKind.PlanDiscarded), r => r.PlanId == second.PlanId && r.Message.StartsWith("expired", StringComparison.Ordinal));
        await Assert.ThrowsAsync<InvalidOperationException>(() => rig.Runtime.ApproveAsync(second.PlanId, TestContext.Current.CancellationToken));
        Assert.Equal(0, rig.Runtime.Status.Migrations.Started);
    }

    [Fact]
    public async Task Maintenance_evacuates_a_host_within_limits_and_keeps_it_empty()
    {
        await using var rig = new Rig(ExecutionMode.Automatic, o => o.MaxConcurrentMigrationsPerHost = 1);
        await rig.StartAsync();
        var host = await rig.BusiestHostAsync();
        Assert.True(await rig.VmsOnAsync(host) > 1);
        var entered = rig.Clock.GetUtcNow();
        await rig.Runtime.EnterMaintenanceAsync(host);
        await rig.RunForAsync(TimeSpan.FromHours(2));

        Assert.Equal(0, await rig.VmsOnAsync(host));
        Assert.Equal(1, rig.Runtime.Status.PeakConcurrency.PerHost);
        Assert.Equal([host], rig.Runtime.Status.HostsInMaintenance);
        var started = await rig.AuditOfAsync(AuditKind.MigrationStarted);
        Assert.Contains(started, r => r.Source == host && r.Timestamp >= entered);
        // Nothing goes to the host once it is in maintenance (by audit order: a move started at the same virtual
        // instant, just before, is legitimately in flight, and the evacuation takes it off again).
        var maintenance = Assert.Single(await rig.AuditOfAsync(AuditKind.MaintenanceEntered), r => r.Source == host || r.Target == host);
        Assert.DoesNotContain(started, r => r.Target == host && r.Sequence > maintenance.Sequence);

        await rig.Runtime.ExitMaintenanceAsync(host);
        Assert.Empty(rig.Runtime.Status.HostsInMaintenance);
    }

    [Theory]
    [InlineData("MetricsInterval")]
    [InlineData("PlanningInterval")]
    [InlineData("MaxConcurrentMigrationsPerHost")]
    [InlineData("ObservationQueueCapacity")]
    [InlineData("CallTimeout")]
    [InlineData("MigrationTimeout")]
    [InlineData("FailureBackoff")]
    [InlineData("ApprovalTimeout")]
    [InlineData("ShutdownDeadline")]
    [InlineData("MaxIterationBackoff")]
    public void Bad_options_fail_at_construction_naming_the_setting(string setting)
    {
        var options = new RuntimeOptions();
        switch (setting)
        {
            case "MetricsInterval": options.MetricsInterval = TimeSpan.FromMilliseconds(500); break;
            case "PlanningInterval": options.PlanningInterval = TimeSpan.FromMinutes(1); break;
            case "MaxConcurrentMigrationsPerHost": options.MaxConcurrentMigrationsPerHost = 0; break;
            case "ObservationQueueCapacity": options.ObservationQueueCapacity = 0; break;
            case "CallTimeout": options.CallTimeout = TimeSpan.Zero; break;

            // Accepted before, and each broke the executor: timers and expiries overflowed (safety defect 3).
            case "MigrationTimeout": options.MigrationTimeout = TimeSpan.FromDays(60); break;
            case "FailureBackoff": options.FailureBackoff = TimeSpan.MaxValue; break;
            case "ApprovalTimeout": options.ApprovalTimeout = TimeSpan.MaxValue; break;
            case "ShutdownDeadline": options.ShutdownDeadline = TimeSpan.FromDays(100); break;
            case "MaxIterationBackoff": options.MaxIterationBackoff = TimeSpan.MaxValue; break;
        }

        var clock = new VirtualClock();
        var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 4 }, HostCount = 4 }, clock);
        var error = Assert.Throws<OptionsValidationException>(() => new EcosystemRuntime(simulator, PredictivePolicy.Create(), Options.Create(options), clock));
        Assert.Contains($"VmEcosystem:Runtime:{setting}", error.Message, StringComparison.Ordinal);
    }
}
