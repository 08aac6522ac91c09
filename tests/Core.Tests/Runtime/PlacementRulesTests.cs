using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// Issue 15, item 6: placement rules configured through <c>AddVmEcosystem</c> (the <c>PlacementRules</c> section)
/// hold for every move of a whole day, checked at every start by the test's own bookkeeping.
/// </summary>
public sealed class PlacementRulesTests
{
    private static readonly SimulatorOptions Cluster = new() { Synthetic = new SyntheticWorkloadOptions { VmCount = 60, Seed = 11 }, HostCount = 40 };

    /// <summary>Checks each start against the rules, with every VM where it is or is moving to.</summary>
    private sealed class RuleChecker(IHypervisor provider, PlacementRulesOptions rules) : StartCheckingHypervisor(provider)
    {
        /// <summary>Each move with a VM it joined on its target (without rules, the pairs a rule would have kept apart).</summary>
        public List<(string Vm, string Peer)> Joined { get; } = [];

        protected override void Check(MigrationRequest request, InventorySnapshot inventory)
        {
            string vm = request.Vm.Value, target = request.Target.Value;
            var there = inventory.Placements.Where(p => p.Host == request.Target).Select(p => p.Vm.Value)
                .Concat(InFlight.Where(f => f.Value == request.Target).Select(f => f.Key.Value)).ToHashSet(StringComparer.Ordinal);
            Joined.AddRange(there.Where(p => p != vm).Take(1).Select(p => (vm, p)));
            foreach (var group in rules.AntiAffinity.Where(g => g.Contains(vm)))
            {
                Breaks.AddRange(group.Where(p => p != vm && there.Contains(p)).Select(p => $"{vm} -> {target}: anti-affine {p} is there"));
            }

            if (rules.DoNotMigrate.Contains(vm))
            {
                Breaks.Add($"{vm} moved although it must not be migrated");
            }

            if (rules.ExcludeHosts.TryGetValue(vm, out var excluded) && excluded.Contains(target))
            {
                Breaks.Add($"{vm} -> {target}: excluded host");
            }

            if (rules.OnlyOnHosts.TryGetValue(vm, out var only) && !only.Contains(target))
            {
                Breaks.Add($"{vm} -> {target}: not one of its allowed hosts");
            }
        }
    }

    // One simulated day on a fresh copy of the cluster with the given configuration; returns the checker and the runtime's trail.
    private static async Task<(RuleChecker Checker, InventorySnapshot Final, List<AuditRecord> Plans)> DayAsync(
        Dictionary<string, string?> settings, HostId maintenance)
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(Cluster, clock);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var rules = new PlacementRulesOptions();
        configuration.GetSection("PlacementRules").Bind(rules);
        var checker = new RuleChecker(simulator, rules);
        await using var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddVmEcosystem(configuration, b => b
                .UseProvider("checked", _ => checker)
                .ConfigureRuntime(o =>
                {
                    o.Mode = ExecutionMode.Automatic;
                    o.PlanOnForecastAbove = null;
                    o.MaxMigrationsPerWindow = 1000;
                }))
            .BuildServiceProvider();
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(ct);
        try
        {
            await runtime.EnterMaintenanceAsync(maintenance);
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromDays(1), ct);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }

        return (checker, await simulator.GetInventoryAsync(ct), await runtime.Audit.ListAsync(new AuditQuery { Kinds = [AuditKind.PlanCreated] }));
    }

    [Fact]
    public async Task Configured_rules_hold_for_every_move_of_a_whole_day()
    {
        var clock = new VirtualClock();
        InventorySnapshot inventory;
        await using (var probe = new SimulatorHypervisor(Cluster, clock))
        {
            inventory = await probe.GetInventoryAsync(TestContext.Current.CancellationToken);
        }

        var byHost = inventory.Placements.GroupBy(p => p.Host).OrderByDescending(g => g.Count()).ToList();
        var busiest = byHost[0].Key;
        string pinned = byHost[0].First().Vm.Value;

        // Without rules, the day brings VMs together: those pairs become the anti-affinity groups of the real run.
        var (free, _, _) = await DayAsync([], busiest);
        var pairs = free.Joined.Where(j => j.Vm != pinned && j.Peer != pinned).DistinctBy(j => (j.Vm, j.Peer)).Take(8).ToList();
        Assert.True(pairs.Count >= 4, $"the unconstrained day joined only {pairs.Count} pairs");
        var moved = free.Joined.Select(j => j.Vm).Distinct().Where(vm => vm != pinned).ToList();

        var settings = new Dictionary<string, string?>();
        for (int g = 0; g < pairs.Count; g++)
        {
            settings[$"PlacementRules:AntiAffinity:{g}:0"] = pairs[g].Vm;
            settings[$"PlacementRules:AntiAffinity:{g}:1"] = pairs[g].Peer;
        }

        settings["PlacementRules:DoNotMigrate:0"] = pinned; // on the host that enters maintenance
        settings[$"PlacementRules:ExcludeHosts:{moved[0]}:0"] = byHost[1].Key.Value;
        settings[$"PlacementRules:ExcludeHosts:{moved[0]}:1"] = byHost[2].Key.Value;
        for (int i = 0; i < 3; i++)
        {
            settings[$"PlacementRules:OnlyOnHosts:{moved[^1]}:{i}"] = inventory.Hosts[i].Id.Value;
        }

        var (checker, final, plans) = await DayAsync(settings, busiest);
        Assert.True(checker.Starts > 20, $"only {checker.Starts} moves: the day did not exercise the rules");
        Assert.Empty(checker.Breaks);
        Assert.Equal(busiest, final.Placements.Single(p => p.Vm.Value == pinned).Host); // evacuation left it: it must not move
        Assert.Contains(plans, r => r.Message.Contains("blocked", StringComparison.Ordinal)); // reported as a blocked move
    }

    [Fact]
    public void Contradictory_or_incomplete_rules_fail_at_start_naming_the_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PlacementRules:AntiAffinity:0:0"] = "a",
            ["PlacementRules:PreferTogether:0:0"] = "a",
            ["PlacementRules:PreferTogether:0:1"] = "b",
            ["PlacementRules:AntiAffinity:1:0"] = "a",
            ["PlacementRules:AntiAffinity:1:1"] = "b",
            ["PlacementRules:OnlyOnHosts:c:0"] = "h1",
            ["PlacementRules:ExcludeHosts:c:0"] = "h1",
        }).Build();
        using var services = new ServiceCollection().AddVmEcosystem(configuration, b => b.UseSimulator()).BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<PlacementRulesOptions>>().Value);
        Assert.Contains("VmEcosystem:PlacementRules:AntiAffinity:0 must name at least two different VMs", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AntiAffinity and VmEcosystem:PlacementRules:PreferTogether contradict for a and b", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OnlyOnHosts:c and VmEcosystem:PlacementRules:ExcludeHosts:c contradict", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Soft_rules_cost_one_unit_per_rule_broken_and_hard_rules_explain_themselves()
    {
        var state = new PlanningState();
        state.Reset(3, 3, 1);
        for (int h = 0; h < 3; h++)
        {
            state.SetHost(h, new HostId($"h{h}"), 1000, 4, 1000, 1000, null, true);
        }

        for (int v = 0; v < 3; v++)
        {
            state.SetVm(v, new VmId($"v{v}"), 100, 1, 100, 50, 50, v, -1, true);
        }

        var rules = new PlacementConstraints();
        rules.PreferTogether(new VmId("v0"), new VmId("v1"));
        rules.PreferApart(new VmId("v0"), new VmId("v2"));
        Assert.Equal(0, rules.SoftViolations(state, 0, 1)); // with v1, away from v2
        Assert.Equal(2, rules.SoftViolations(state, 0, 2)); // away from v1, with v2
        Assert.True(rules.Allows(state, 0, 2));             // soft rules never forbid

        rules.DoNotMigrate(new VmId("v1"));
        rules.ExcludeHosts(new VmId("v2"), [new HostId("h0")]);
        rules.RestrictToHosts(new VmId("v0"), [new HostId("h0"), new HostId("h1")]);
        Assert.Contains("do-not-migrate", rules.Explain(state, 1, 0), StringComparison.Ordinal);
        Assert.Null(rules.Explain(state, 1, 1)); // staying where it is is allowed
        Assert.Contains("host exclusion", rules.Explain(state, 2, 0), StringComparison.Ordinal);
        Assert.Contains("may run only on h0, h1", rules.Explain(state, 0, 2), StringComparison.Ordinal);
    }

    /// <summary>The simulator's VMs with placement labels, as a provider's metadata would carry them.</summary>
    private sealed class LabelledVms(IHypervisor inner, IReadOnlyDictionary<VmId, Dictionary<string, string>> labels) : DelegatingHypervisor(inner)
    {
        private readonly IHypervisor _inner = inner;

        public override async Task<InventorySnapshot> GetInventoryAsync(CancellationToken cancellationToken = default)
        {
            var inventory = await _inner.GetInventoryAsync(cancellationToken);
            return new InventorySnapshot(inventory.Hosts, [.. inventory.Vms.Select(v => labels.TryGetValue(v.Id, out var l) ? v with { Labels = l } : v)],
                inventory.Placements, inventory.Timestamp, inventory.Version, inventory.HostSets);
        }
    }

    [Fact]
    public async Task Rules_from_vm_labels_are_honoured_by_requested_moves()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(Cluster, clock);
        var placements = (await simulator.GetInventoryAsync(ct)).Placements;
        var (a, b) = (placements[0], placements.First(p => p.Host != placements[0].Host));
        var pinned = placements.First(p => p.Vm != a.Vm && p.Vm != b.Vm);
        var labels = new Dictionary<VmId, Dictionary<string, string>>
        {
            [a.Vm] = new() { [PlacementLabels.AntiAffinity] = "db" },
            [b.Vm] = new() { [PlacementLabels.AntiAffinity] = "db" },
            [pinned.Vm] = new() { [PlacementLabels.DoNotMigrate] = "true" },
        };
        await using var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddVmEcosystem(builder => builder
                .UseProvider("labelled", _ => new LabelledVms(simulator, labels))
                .ConfigureRuntime(o =>
                {
                    o.Mode = ExecutionMode.Automatic;
                    o.MetricsInterval = TimeSpan.FromMinutes(1);
                    o.PlanningInterval = TimeSpan.FromHours(12);
                }))
            .BuildServiceProvider();
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(ct);
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(2), ct);
            var together = await runtime.RequestMigrationAsync(a.Vm, b.Host, cancellationToken: ct);
            Assert.Equal(RequestState.Refused, together.State);
            Assert.Contains("anti-affinity rule", together.Message, StringComparison.Ordinal);
            var moved = await runtime.RequestMigrationAsync(pinned.Vm, cancellationToken: ct);
            Assert.Equal(RequestState.Refused, moved.State);
            Assert.Contains("do-not-migrate", moved.Message, StringComparison.Ordinal);
            Assert.NotEqual(RequestState.Refused, (await runtime.RequestMigrationAsync(b.Vm, cancellationToken: ct)).State); // unlabelled moves go on
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }
    }
}
