using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// Issue 15: declarations that stick (through the first graph load, a resync and a restart), graph snapshots readers
/// can hold, state restored on restart (maintenance, cooldowns), and subscribers that cannot stop planning.
/// </summary>
public sealed partial class RuntimeStateTests
{
    /// <summary>The simulator's contract plus a way to make the provider ask for a resync.</summary>
    private sealed class ResyncingHypervisor(IHypervisor inner) : DelegatingHypervisor(inner)
    {
        private readonly Channel<InventoryChange> _extra = Channel.CreateUnbounded<InventoryChange>();

        public void Resync() => _extra.Writer.TryWrite(new InventoryResyncRequired("test") { Timestamp = DateTimeOffset.UnixEpoch });

        public override async IAsyncEnumerable<InventoryChange> WatchInventoryAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var merged = Channel.CreateUnbounded<InventoryChange>();
            var pump = Task.Run(async () =>
            {
                await foreach (var c in base.WatchInventoryAsync(cancellationToken))
                {
                    await merged.Writer.WriteAsync(c, cancellationToken);
                }
            }, cancellationToken);
            var extra = Task.Run(async () =>
            {
                await foreach (var c in _extra.Reader.ReadAllAsync(cancellationToken))
                {
                    await merged.Writer.WriteAsync(c, cancellationToken);
                }
            }, cancellationToken);
            _ = Task.WhenAll(pump, extra).ContinueWith(_ => merged.Writer.TryComplete(), TaskScheduler.Default);
            await foreach (var c in merged.Reader.ReadAllAsync(cancellationToken))
            {
                yield return c;
            }
        }
    }

    private static ServiceProvider Build(VirtualClock clock, IHypervisor provider, IAuditStore store, Action<RuntimeOptions>? configure = null, IRuntimeController? controller = null)
    {
        var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddVmEcosystem(b => b
                .UseProvider("test", _ => provider)
                .UseEcosystem(_ => { })
                .UseAuditStore(_ => store)
                .ConfigureRuntime(o =>
                {
                    o.Mode = ExecutionMode.DryRun;
                    o.PlanOnForecastAbove = null;
                    configure?.Invoke(o);
                }));
        if (controller is not null)
        {
            services.AddSingleton(controller);
        }

        return services.BuildServiceProvider();
    }

    private static SimulatorHypervisor Simulator(VirtualClock clock) =>
        new(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 }, HostCount = 30 }, clock);

    private static int Declaring(EcosystemRuntime runtime) => runtime.Ecosystem!.Vms.Count(v => v.Satisfaction is not null);

    [Fact]
    public async Task Declarations_set_before_start_survive_the_first_load_a_resync_and_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = Simulator(clock);
        var provider = new ResyncingHypervisor(simulator);
        var store = new InMemoryAuditStore();
        var names = (await simulator.GetInventoryAsync(ct)).Vms.Select(v => v.Name).Order(StringComparer.Ordinal).Take(9).ToList();

        await using (var services = Build(clock, provider, store))
        {
            var runtime = services.GetRequiredService<EcosystemRuntime>();
            foreach (var name in names)
            {
                await runtime.SetDeclarationAsync(new VmDeclaration { VmName = name, Preferred = [new DependencySpec { Type = "cache" }] }, ct);
            }

            await runtime.StartAsync(ct);
            try
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(6), ct);
                Assert.True(runtime.Status.PlanningPasses >= 1);
                Assert.Equal(9, Declaring(runtime)); // was 0: the first load erased them
                Assert.Equal(9, runtime.Ecosystem!.Declarations.Count);

                provider.Resync();
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(6), ct);
                Assert.Equal(9, Declaring(runtime));

                Assert.True(await runtime.RemoveDeclarationAsync(names[0], ct));
                Assert.False(await runtime.RemoveDeclarationAsync(names[0], ct));
                Assert.Equal(8, Declaring(runtime));
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }
        }

        // A new process on the same store: the changes made at run time are back before the first pass.
        await using (var services = Build(clock, provider, store))
        {
            var runtime = services.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            try
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(6), ct);
                Assert.Equal(8, Declaring(runtime));
                Assert.DoesNotContain(runtime.Ecosystem!.Declarations, d => d.VmName == names[0]);
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }
        }
    }

    [Fact]
    public async Task An_invalid_declaration_is_refused_with_the_reason_and_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = Simulator(clock);
        await using var services = Build(clock, simulator, new InMemoryAuditStore());
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => runtime.SetDeclarationAsync(
            new VmDeclaration { VmName = "vm-1", Required = [new DependencySpec { Type = "db", ResourceProfile = "no-such-profile" }] }, ct));
        Assert.Contains("no-such-profile", ex.Message, StringComparison.Ordinal);
        Assert.Empty(runtime.Ecosystem!.Declarations);
    }

    [Fact]
    public async Task A_snapshot_held_during_a_day_never_changes_and_every_snapshot_is_consistent()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = Simulator(clock);
        var vms = (await simulator.GetInventoryAsync(ct)).Vms.Select(v => v.Name).Order(StringComparer.Ordinal).ToList();
        await using var services = Build(clock, simulator, new InMemoryAuditStore(), o =>
        {
            o.Mode = ExecutionMode.Automatic;
            o.PlanOnDependencyChange = false; // the first pass is the periodic one, after the snapshot below is taken
        });
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        // Half the VMs are caches; the other half want one on the same host, so moves change the scores.
        for (int i = 0; i < vms.Count; i++)
        {
            await runtime.SetDeclarationAsync(i % 2 == 0
                ? new VmDeclaration { VmName = vms[i], Provides = new ProvidedProfile { Type = "cache" } }
                : new VmDeclaration { VmName = vms[i], Preferred = [new DependencySpec { Type = "cache", Latency = LatencyBound.Parse("< 50us") }] }, ct);
        }

        await runtime.StartAsync(ct);
        using var stop = new CancellationTokenSource();
        var seen = new List<EcosystemSnapshot>();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var s = runtime.Ecosystem!;
                AssertConsistent(s);
                if (seen.Count == 0 || seen[^1].Version != s.Version)
                {
                    seen.Add(s);
                }

                await Task.Yield();
            }
        }, ct);
        EcosystemSnapshot held;
        string heldText;
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(3), ct); // loaded, before the first pass
            held = runtime.Ecosystem!;
            heldText = Describe(held);
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(6), ct);
        }
        finally
        {
            await stop.CancelAsync();
            await reader;
            await SimulatedRuntime.StopAsync(runtime, clock);
        }

        Assert.True(runtime.Status.Migrations.Succeeded > 0, "the day moved nothing, so the snapshots were never tested against a change");
        Assert.Equal(heldText, Describe(held));
        Assert.True(runtime.Ecosystem!.Version > held.Version);
        Assert.NotEqual(heldText, Describe(runtime.Ecosystem!)); // the moves changed hosts and scores, the held snapshot kept its own
        Assert.True(seen.Count >= 2);
    }

    private static string Describe(EcosystemSnapshot s) =>
        $"{s.Version} {s.Cluster} " + string.Join(";", s.Vms.Select(v => $"{v.Vm}@{v.Host}={v.Score:R}"));

    private static void AssertConsistent(EcosystemSnapshot s)
    {
        var declaring = s.Vms.Where(v => v.Satisfaction is not null).ToList();
        Assert.Equal(s.Cluster.VmsDeclaring, declaring.Count);
        if (declaring.Count > 0)
        {
            Assert.Equal(s.Cluster.Score, declaring.Average(v => v.Score), 9);
        }

        Assert.All(declaring, v => Assert.Equal(v.Score, v.Satisfaction!.Score, 12));
    }

    /// <summary>Proposes one scripted action, once, a minute after start.</summary>
    private sealed class OneShotController(Func<ClusterAction> action) : IRuntimeController
    {
        private bool _done;

        public string Name => "scripted";

        public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
        {
            await context.DelayAsync(TimeSpan.FromMinutes(1), cancellationToken);
            if (!_done)
            {
                _done = true;
                await context.ProposeAsync([action()], "test");
            }
        }
    }

    [Fact]
    public async Task A_restart_keeps_maintenance_and_cooldowns_and_creates_no_duplicate_plan_id()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = Simulator(clock);
        var store = new InMemoryAuditStore();
        var inventory = await simulator.GetInventoryAsync(ct);
        var busiest = inventory.Hosts.MaxBy(h => inventory.Placements.Count(p => p.Host == h.Id))!.Id;
        void Limits(RuntimeOptions o)
        {
            o.Mode = ExecutionMode.Automatic;
            o.VmCooldown = TimeSpan.FromHours(2);
        }

        var provider = new DelegatingHypervisor(simulator); // each process's container must not dispose the shared simulator
        await using (var services = Build(clock, provider, store, Limits))
        {
            var runtime = services.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            try
            {
                await runtime.EnterMaintenanceAsync(busiest);
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(20), ct);
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }
        }

        var moved = (await Trail(store)).Last(r => r.Kind == AuditKind.MigrationSucceeded);
        var now = await simulator.GetInventoryAsync(ct);
        var elsewhere = now.Hosts.First(h => h.Id != busiest && h.Id != moved.Target).Id;
        var retry = new OneShotController(() => new MigrateAction(new MigrationDecision
        {
            Vm = moved.Vm!.Value, Source = moved.Target!.Value, Target = elsewhere, VmIndex = -1, TargetIndex = -1, Stage = "test", Rule = "scripted",
            Trigger = new TriggerEvidence("test", "move a VM the previous process moved minutes ago"),
        }));
        await using (var services = Build(clock, provider, store, Limits, retry))
        {
            var runtime = services.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            try
            {
                Assert.Contains(busiest, runtime.Status.HostsInMaintenance);
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(10), ct);
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }
        }

        var trail = await Trail(store);
        Assert.Contains(trail, r => r.Controller == "scripted" && r.Kind == AuditKind.DecisionSkipped && r.Vm == moved.Vm && r.Message.Contains("cooldown", StringComparison.Ordinal));
        Assert.DoesNotContain((await simulator.GetInventoryAsync(ct)).Placements, p => p.Host == busiest);
        var restored = trail.Last(r => r.Kind == AuditKind.RuntimeStarted && r.Message.StartsWith("restored", StringComparison.Ordinal));
        Assert.Matches(@"1 hosts in maintenance, .* [1-9]\d* moves of the last day in the planner's history", restored.Message);
        var planIds = trail.Where(r => r.Kind == AuditKind.PlanCreated).Select(r => r.PlanId).ToList();
        Assert.Equal(planIds.Count, planIds.Distinct().Count());
    }

    [Fact]
    public async Task A_throwing_subscriber_is_counted_and_neither_planning_nor_other_subscribers_stop()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = Simulator(clock);
        await using var services = Build(clock, simulator, new InMemoryAuditStore());
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        int calls = 0;
        runtime.PlanMade += _ => throw new InvalidOperationException("subscriber bug");
        runtime.PlanMade += _ => Interlocked.Increment(ref calls);
        await runtime.StartAsync(ct);
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(31), ct);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }

        var status = runtime.Status;
        Assert.True(status.PlanningPasses >= 6, $"{status.PlanningPasses} passes");
        Assert.Equal(status.PlanningPasses, calls);
        Assert.Equal(status.PlanningPasses, status.SubscriberFailures);
        Assert.DoesNotContain(status.LoopErrors, e => e.Value > 0);
        Assert.Equal(status.PlanningPasses, (await Trail(runtime.Audit)).Count(r => r.Kind == AuditKind.PlanCreated));
    }

    private static Task<List<AuditRecord>> Trail(IAuditStore store) => store.ListAsync();
}
