using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Runtime.Leadership;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// The runtime under an election (the PostgreSQL one is tested against a real server in PostgreSql.Tests): a follower
/// observes and plans but proposes and executes nothing; taking the lead is audited and starts a term that plan ids
/// carry; losing it stops the runtime acting at once.
/// </summary>
public sealed class LeadershipRuntimeTests
{
    /// <summary>An election whose winner the test names.</summary>
    private sealed class ScriptedElection : ILeaderElection
    {
        public string Holder { get; set; } = "other";

        public long Token { get; set; } = 4;

        public ValueTask<LeaderLease?> TryAcquireAsync(string scope, string instance, DateTimeOffset now, TimeSpan leaseTime, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<LeaderLease?>(new LeaderLease(scope, Holder, Token, now + leaseTime));

        public ValueTask<IReadOnlyList<LeaderLease>> ListAsync(string scopePrefix, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<LeaderLease>>([]);

        public ValueTask ReleaseAsync(LeaderLease lease, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_follower_plans_but_acts_only_once_it_leads_and_stops_when_it_loses_the_lead()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        var store = new InMemoryAuditStore();
        var election = new ScriptedElection();
        await using var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddSingleton<ILeaderElection>(election)
            .AddVmEcosystem(b => b
                .UseSimulator(o => o.Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 })
                .UseAuditStore(_ => store)
                .ConfigureRuntime(o =>
                {
                    o.Mode = ExecutionMode.Automatic;
                    o.PlanOnForecastAbove = null;
                    o.Leadership = new LeadershipOptions { Instance = "me", LeaseTime = TimeSpan.FromSeconds(30), RenewInterval = TimeSpan.FromSeconds(10) };
                }))
            .BuildServiceProvider();
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(ct);

        // Following: planning runs (warm), nothing is proposed, requests are refused naming the leader.
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(1), ct);
        Assert.True(runtime.Status.PlanningPasses > 0);
        var following = runtime.Status.Leadership!;
        Assert.Equal(("cluster", "me", false, "other", 4L, 0L), (following.Scope, following.Instance, following.IsLeader, following.Leader, following.Token, following.Changes));
        var trail = await store.ListAsync();
        Assert.DoesNotContain(trail, r => r.Kind is AuditKind.PlanCreated or AuditKind.ActionIntended or AuditKind.MigrationStarted);
        var vm = runtime.Cluster!.Vms[0].Vm;
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.RequestMigrationAsync(vm, cancellationToken: ct));
        Assert.Contains("leader (other)", refused.Message, StringComparison.Ordinal);

        // What the leader was told meanwhile reaches this instance through the shared trail only.
        var host = runtime.Cluster!.Hosts[0].Host;
        await store.AppendAsync(new AuditRecord(0, clock.GetUtcNow(), AuditKind.MaintenanceEntered, null, null, null, host, $"{host} entered maintenance") { Controller = "api" }, ct);
        Assert.DoesNotContain(host, runtime.Status.HostsInMaintenance);

        // Leading: audited, the leader's maintenance replayed, and the term is in every plan id from here.
        (election.Holder, election.Token) = ("me", 5);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(2), ct);
        trail = await store.ListAsync();
        Assert.Single(trail, r => r.Kind == AuditKind.LeadershipAcquired && r.Message.StartsWith("me leads cluster (term 5", StringComparison.Ordinal));
        Assert.Contains(trail, r => r.Kind == AuditKind.MigrationStarted);
        Assert.Contains(host, runtime.Status.HostsInMaintenance);
        Assert.Contains("1 declaration and maintenance changes replayed", trail.Single(r => r.Kind == AuditKind.LeadershipAcquired).Message, StringComparison.Ordinal);
        Assert.All(trail.Where(r => r.Kind == AuditKind.PlanCreated), r => Assert.StartsWith("plan-t5-", r.PlanId, StringComparison.Ordinal));
        Assert.True(runtime.Status.Leadership!.IsLeader);

        // Another instance takes the lead: this one stops at its next heartbeat and starts nothing more.
        (election.Holder, election.Token) = ("other", 6);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromSeconds(10), ct);
        var lostAt = clock.GetUtcNow();
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(2), ct);
        trail = await store.ListAsync();
        Assert.Single(trail, r => r.Kind == AuditKind.LeadershipLost && r.Message.Contains("other holds the lease", StringComparison.Ordinal));
        Assert.DoesNotContain(trail, r => r.Kind is AuditKind.ActionIntended or AuditKind.PlanCreated && r.Timestamp > lostAt);
        Assert.Equal((false, "other", 2L), (runtime.Status.Leadership!.IsLeader, runtime.Status.Leadership.Leader, runtime.Status.Leadership.Changes));
        await SimulatedRuntime.StopAsync(runtime, clock, ct);
    }
}
