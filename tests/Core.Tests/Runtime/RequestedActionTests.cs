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
/// Issue 15, item 5: an application asks for a migration or a hot-plug through <see cref="IEcosystemControl"/>; it is
/// checked like the runtime's own decisions and goes through the same modes, limits and audit.
/// </summary>
public sealed class RequestedActionTests
{
    private static ServiceProvider Build(VirtualClock clock, Action<RuntimeOptions> configure, IAuditStore? store = null) =>
        new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddVmEcosystem(b =>
            {
                b.UseSimulator(o =>
                    {
                        o.Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 };
                        o.HostCount = 30;
                    })
                    .AddPlacementRules(_ => { })
                    .ConfigureRuntime(o =>
                    {
                        o.PlanOnForecastAbove = null;
                        o.PlanOnInventoryChange = false;
                        o.MetricsInterval = TimeSpan.FromMinutes(1);
                        o.PlanningInterval = TimeSpan.FromHours(12); // only the requests act
                        configure(o);
                    });
                if (store is not null)
                {
                    b.UseAuditStore(_ => store);
                }
            })
            .BuildServiceProvider();

    private static async Task<(EcosystemRuntime Runtime, IEcosystemControl Control, IHypervisor Provider)> StartAsync(ServiceProvider services, VirtualClock clock)
    {
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(TestContext.Current.CancellationToken);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken); // observed
        return (runtime, services.GetRequiredService<IEcosystemControl>(), services.GetRequiredService<IHypervisor>());
    }

    private static async Task<HostId> HostOfAsync(IHypervisor provider, VmId vm) =>
        (await provider.GetInventoryAsync()).Placements.Single(p => p.Vm == vm).Host;

    private static async Task<ActionRequest> SettleAsync(EcosystemRuntime runtime, IEcosystemControl control, VirtualClock clock, string id)
    {
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(10), TestContext.Current.CancellationToken);
        return (await control.GetRequestAsync(id, TestContext.Current.CancellationToken))!;
    }

    [Fact]
    public async Task A_requested_migration_without_target_goes_to_a_checked_host_and_is_audited()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var services = Build(clock, o => o.Mode = ExecutionMode.Automatic);
        var (runtime, control, provider) = await StartAsync(services, clock);
        try
        {
            var vm = (await provider.GetInventoryAsync(ct)).Vms[0].Id;
            var source = await HostOfAsync(provider, vm);
            Assert.Same(runtime, control);
            var request = await control.RequestMigrationAsync(vm, reason: "drain for a kernel update", cancellationToken: ct);
            Assert.Contains(request.State, new[] { RequestState.Queued, RequestState.Running }); // the executor may have taken it already
            Assert.Equal((MigrateAction.KindName, source), (request.Kind, request.Source!.Value));
            Assert.NotNull(request.Target);
            Assert.NotEqual(source, request.Target);

            var done = await SettleAsync(runtime, control, clock, request.Id);
            Assert.Equal(RequestState.Succeeded, done.State);
            Assert.Equal(request.Target, await HostOfAsync(provider, vm));
            var trail = await runtime.Audit.ListAsync(new AuditQuery { PlanId = request.Id });
            Assert.All(trail, r => Assert.Equal("requests", r.Controller));
            Assert.Contains(trail, r => r.Kind == AuditKind.PlanCreated && r.Message.Contains("drain for a kernel update", StringComparison.Ordinal));
            Assert.Contains(trail, r => r.Kind == AuditKind.ActionIntended);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }

    [Fact]
    public async Task Requests_obey_the_executors_limits_and_each_mode()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var services = Build(clock, o =>
        {
            o.Mode = ExecutionMode.Automatic;
            o.MaxMigrationsPerWindow = 1;
            o.Modes[HotPlugAction.KindName] = ExecutionMode.DryRun;
        });
        var (runtime, control, provider) = await StartAsync(services, clock);
        try
        {
            var vms = (await provider.GetInventoryAsync(ct)).Vms;
            var first = await control.RequestMigrationAsync(vms[0].Id, cancellationToken: ct);
            var second = await control.RequestMigrationAsync(vms[1].Id, cancellationToken: ct);
            Assert.Equal(RequestState.Succeeded, (await SettleAsync(runtime, control, clock, first.Id)).State);
            var limited = (await control.GetRequestAsync(second.Id, ct))!;
            Assert.Equal(RequestState.Skipped, limited.State);
            Assert.Contains("limit 1", limited.Message, StringComparison.Ordinal);

            // Hot-plug is in dry run here: planned and audited, never executed.
            var before = vms[2].Allocation.CpuCores;
            var plug = await control.RequestHotPlugAsync(vms[2].Id, new HotPlugRequest(Vcpus: (int)before + 1), cancellationToken: ct);
            Assert.Equal(RequestState.Planned, (await SettleAsync(runtime, control, clock, plug.Id)).State);
            Assert.True((await provider.GetInventoryAsync(ct)).TryGetVm(vms[2].Id, out var after));
            Assert.Equal(before, after.Allocation.CpuCores);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }

    [Fact]
    public async Task In_approve_mode_a_request_waits_and_can_be_cancelled_or_approved()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var services = Build(clock, o => o.Mode = ExecutionMode.Approve);
        var (runtime, control, provider) = await StartAsync(services, clock);
        try
        {
            var vms = (await provider.GetInventoryAsync(ct)).Vms;
            var cancelled = await control.RequestMigrationAsync(vms[0].Id, cancellationToken: ct);
            var approved = await control.RequestMigrationAsync(vms[1].Id, cancellationToken: ct);
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromSeconds(30), ct);
            Assert.Equal(RequestState.AwaitingApproval, (await control.GetRequestAsync(cancelled.Id, ct))!.State);
            Assert.Equal(2, runtime.PendingPlans.Count(p => p.Controller == "requests")); // the second did not supersede the first

            Assert.True(await control.CancelRequestAsync(cancelled.Id, ct));
            Assert.False(await control.CancelRequestAsync(cancelled.Id, ct));
            Assert.Equal(RequestState.Rejected, (await control.GetRequestAsync(cancelled.Id, ct))!.State);
            Assert.Equal(1, await runtime.ApproveAsync(approved.Id, ct));
            Assert.Equal(RequestState.Succeeded, (await SettleAsync(runtime, control, clock, approved.Id)).State);
            Assert.Equal(approved.Target, await HostOfAsync(provider, vms[1].Id));
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }

    [Fact]
    public async Task A_request_that_breaks_a_rule_is_refused_with_the_reason_and_bad_input_throws()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var services = Build(clock, o => o.Mode = ExecutionMode.Automatic);
        var provider = services.GetRequiredService<IHypervisor>();
        var placements = (await provider.GetInventoryAsync(ct)).Placements;
        var (a, b) = (placements[0].Vm, placements.First(p => p.Host != placements[0].Host).Vm);
        services.GetRequiredService<PlacementConstraints>().AddAntiAffinity(a, b);
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.RequestMigrationAsync(a, cancellationToken: ct)); // not observed yet
        var (_, control, _) = await StartAsync(services, clock);
        try
        {
            var hostOfB = await HostOfAsync(provider, b);
            var refused = await control.RequestMigrationAsync(a, hostOfB, cancellationToken: ct);
            Assert.Equal(RequestState.Refused, refused.State);
            Assert.Contains("anti-affin", refused.Message, StringComparison.Ordinal);
            Assert.NotEqual(hostOfB, await HostOfAsync(provider, a));

            await Assert.ThrowsAsync<ArgumentException>(() => control.RequestMigrationAsync(new VmId("no-such-vm"), cancellationToken: ct));
            await Assert.ThrowsAsync<ArgumentException>(() => control.RequestMigrationAsync(a, new HostId("no-such-host"), cancellationToken: ct));
            await Assert.ThrowsAsync<ArgumentException>(() => control.RequestMigrationAsync(a, placements[0].Host, cancellationToken: ct));
            await Assert.ThrowsAsync<ArgumentException>(() => control.RequestHotPlugAsync(a, new HotPlugRequest(), cancellationToken: ct));
            Assert.Null(await control.GetRequestAsync("plan-999999", ct));
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }

    [Fact]
    public async Task A_running_requested_migration_can_be_cancelled_and_a_request_is_found_after_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        var store = new InMemoryAuditStore();
        string id;
        HostId source;
        await using (var services = Build(clock, o => o.Mode = ExecutionMode.Automatic, store: store))
        {
            var (runtime, control, provider) = await StartAsync(services, clock);
            try
            {
                var vm = (await provider.GetInventoryAsync(ct)).Vms.MaxBy(v => v.Allocation.MemoryMiB)!.Id; // the longest copy
                source = await HostOfAsync(provider, vm);
                id = (await control.RequestMigrationAsync(vm, cancellationToken: ct)).Id;
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromSeconds(1), ct);
                Assert.Equal(RequestState.Running, (await control.GetRequestAsync(id, ct))!.State);
                Assert.True(await control.CancelRequestAsync(id, ct));
                Assert.Equal(RequestState.Cancelled, (await SettleAsync(runtime, control, clock, id)).State);
                Assert.Equal(source, await HostOfAsync(provider, vm));
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }
        }

        await using (var services = Build(clock, o => o.Mode = ExecutionMode.Automatic, store: store))
        {
            var control = services.GetRequiredService<IEcosystemControl>();
            var found = await control.GetRequestAsync(id, ct);
            Assert.NotNull(found);
            Assert.Equal((RequestState.Cancelled, source), (found.State, found.Source!.Value));
        }
    }
}
