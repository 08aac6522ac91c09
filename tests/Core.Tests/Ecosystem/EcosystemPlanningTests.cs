using FsCheck;
using FsCheck.Fluent;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Ecosystem.Planning;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using static VmEcosystem.Tests.Ecosystem.EcosystemTestCluster;

namespace VmEcosystem.Tests.Ecosystem;

public sealed class EcosystemPlanningTests
{
    /// <summary>A planning state, session and graph for VMs placed on hosts (CPU demand a quarter of each VM's size).</summary>
    internal sealed class Fixture
    {
        public Fixture(List<HostInfo> hosts, List<(VmInfo Vm, int Host)> vms, IEnumerable<VmDeclaration> declarations, int[]? migratingTo = null)
        {
            Hosts = hosts;
            Vms = vms;
            State.Reset(hosts.Count, vms.Count, 1);
            for (int h = 0; h < hosts.Count; h++)
            {
                var c = hosts[h].Capacity;
                State.SetHost(h, hosts[h].Id, c.CpuMhz, (int)c.CpuCores, c.MemoryMiB, c.NetworkMbps, new LinearPowerModel(100, 200), true, hosts[h].Location);
            }

            for (int t = 0; t < 3; t++)
            {
                State.ClearPlacements();
                for (int v = 0; v < vms.Count; v++)
                {
                    var a = vms[v].Vm.Allocation;
                    int target = migratingTo?[v] ?? -1;
                    State.SetVm(v, vms[v].Vm.Id, a.CpuMhz, (int)a.CpuCores, a.MemoryMiB, a.CpuMhz / 4, a.CpuMhz / 4, vms[v].Host, target, true);
                    State.AppendToHost(vms[v].Host, v);
                    if (target >= 0)
                    {
                        State.AppendToHost(target, v);
                    }
                }

                for (int h = 0; h < hosts.Count; h++)
                {
                    State.SetHostState(h, State.RequestedMipsOn(h) / hosts[h].Capacity.CpuMhz, 0, false);
                }

                Session.Prepare(State, Context, Now);
            }

            Graph.Load(new InventorySnapshot(hosts, vms.Select(v => v.Vm).ToList(), vms.Select(v => new Placement(v.Vm.Id, hosts[v.Host].Id)).ToList(), Now),
                declarations);
        }

        public List<HostInfo> Hosts { get; }

        public List<(VmInfo Vm, int Host)> Vms { get; }

        public PlanningState State { get; } = new();

        public PlanningSession Session { get; } = new();

        public PlanningContext Context { get; } = new(new Random(1));

        public EcosystemGraph Graph { get; } = new();

        public DateTimeOffset Now { get; } = DateTimeOffset.UnixEpoch.AddHours(10);

        public int Host(string id) => Hosts.FindIndex(h => h.Id.Value == id);

        public MigrationPlan Plan(EcosystemPolicyOptions? options = null) => EcosystemPolicy.Create(Graph, options).Plan(State, Context);
    }

    [Fact]
    public void A_web_vm_moves_next_to_its_database_and_the_decision_explains_why()
    {
        var hosts = Hosts(2, 1, 2);
        var f = new Fixture(hosts, [(Vm("web", "web"), 0), (Vm("db", "database", "PostgreSQL 14.9"), 2)],
            [Requires("web", "database", "< 1ms", "PostgreSQL 14")]);
        var move = Assert.Single(f.Plan().Decisions);
        Assert.Equal(("web", "dependency-repair", "move-to-dependency"), (move.Vm.Value, move.Stage, move.Rule));
        Assert.StartsWith("z1-", move.Target.Value, StringComparison.Ordinal);
        Assert.Equal("dependency", move.Trigger.Kind);
        Assert.Contains("web required database PostgreSQL 14 < 1ms: not met: nearest of 1 matching VMs is db, another zone", move.Trigger.Detail, StringComparison.Ordinal);
        Assert.Equal("dependency-satisfaction", move.Costs[0].Scorer);
        Assert.True(move.Costs[0].RawCost < 0);
    }

    [Fact]
    public void When_the_vm_may_not_move_its_dependency_comes_to_it()
    {
        var hosts = Hosts(2, 1, 2);
        var f = new Fixture(hosts, [(Vm("web", "web"), 0), (Vm("db", "database"), 2)], [Requires("web", "database", "< 1ms")]);
        f.Session.History.Record(new VmId("web"), hosts[1].Id, hosts[0].Id, f.Now.AddMinutes(-1)); // in its cooldown
        var move = Assert.Single(f.Plan().Decisions);
        Assert.Equal(("db", "move-dependency-closer"), (move.Vm.Value, move.Rule));
        Assert.StartsWith("z0-", move.Target.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pair_moves_together_when_neither_fits_next_to_the_other()
    {
        // Rack-level requirement (< 300 us); the web's and the database's racks have no memory left.
        var hosts = Hosts(1, 3, 1, memoryGiB: 24);
        var f = new Fixture(hosts,
            [(Vm("web", "web", memoryGiB: 8), 0), (Vm("filler-a", "x", memoryGiB: 16), 0), (Vm("db", "database", memoryGiB: 8), 1), (Vm("filler-b", "x", memoryGiB: 16), 1)],
            [Requires("web", "database", "< 300us")]);
        var plan = f.Plan();
        Assert.Equal(2, plan.Decisions.Count);
        Assert.All(plan.Decisions, d => Assert.Equal(("move-group", "z0-r2-h0"), (d.Rule, d.Target.Value)));
        Assert.Single(plan.Decisions.Select(d => d.Group).Distinct());
    }

    [Fact]
    public void A_move_never_takes_away_the_only_dependency_of_another_vm()
    {
        // web-a needs the database within its zone; web-b (other zone) also wants it. Moving the database to
        // web-b would break web-a's met requirement, so web-b moves instead.
        var hosts = Hosts(2, 1, 2);
        var f = new Fixture(hosts, [(Vm("web-a", "web"), 0), (Vm("db", "database"), 1), (Vm("web-b", "web"), 2)],
            [Requires("web-a", "database", "< 1ms"), Requires("web-b", "database", "< 1ms")]);
        f.Session.History.Record(new VmId("web-b"), hosts[3].Id, hosts[2].Id, f.Now.AddMinutes(-1)); // web-b may not move
        var plan = f.Plan();
        Assert.Empty(plan.Decisions);
        Assert.Contains(plan.Blocked, b => b.Vm.Value == "web-b" && b.Reason.Contains("cannot meet required dependency", StringComparison.Ordinal));
    }

    [Fact]
    public void Critical_vms_are_repaired_first_when_limits_allow_only_one_move()
    {
        var hosts = Hosts(2, 1, 2);
        var f = new Fixture(hosts,
            [(Vm("web-std", "web"), 0), (Vm("web-crit", "web", slo: SloClass.Critical), 1), (Vm("db", "database"), 2)],
            [Requires("web-std", "database", "< 1ms"), Requires("web-crit", "database", "< 1ms")]);
        var plan = f.Plan(new EcosystemPolicyOptions { MaxMigrationsInCluster = 1 });
        Assert.Equal("web-crit", Assert.Single(plan.Decisions).Vm.Value);
    }

    [Fact]
    public void Other_policies_gain_the_guard_and_scorer_through_WithEcosystem()
    {
        var hosts = Hosts(1, 1, 2);
        var f = new Fixture(hosts, [(Vm("web", "web"), 0), (Vm("db", "database"), 1)], []);
        var planner = PredictivePolicy.Create().WithEcosystem(f.Graph);
        Assert.Equal("dependency-repair", planner.Stages[0].Name);
        Assert.Contains(planner.Filters, x => x is DependencyGuardFilter);
        Assert.Contains(planner.Scorers, x => x is DependencySatisfactionScorer);
    }

    private sealed record Case(int Seed, int Zones, int Racks, int HostsPerRack, int Vms, int PerHost, int Cluster);

    /// <summary>
    /// Property: on random clusters with random declarations, in-flight migrations and recent moves, the predictive
    /// policy with the ecosystem (consolidation included) and the ecosystem policy never plan a set of moves
    /// that, completed in any order, leaves a met required dependency unmet at any moment; and they respect the
    /// per-host and cluster limits and cooldowns.
    /// </summary>
    [Fact]
    public void Plans_never_break_a_met_required_dependency_in_any_completion_order()
    {
        var cases =
            from seed in Gen.Choose(0, 1_000_000)
            from zones in Gen.Choose(1, 3)
            from racks in Gen.Choose(1, 3)
            from hostsPerRack in Gen.Choose(1, 3)
            from vms in Gen.Choose(2, 24)
            from perHost in Gen.Choose(1, 4)
            from cluster in Gen.Choose(1, 10)
            select new Case(seed, zones, racks, hostsPerRack, vms, perHost, cluster);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(cases.ToArbitrary(), Holds));
    }

    private static bool Holds(Case c)
    {
        var r = new Random(c.Seed);
        var hosts = Hosts(c.Zones, c.Racks, c.HostsPerRack, cores: 16, memoryGiB: 32);
        var vms = new List<(VmInfo, int)>();
        var migrating = new int[c.Vms];
        for (int v = 0; v < c.Vms; v++)
        {
            vms.Add((Vm($"vm{v}", $"t{r.Next(4)}", cores: r.Next(1, 5), memoryGiB: r.Next(1, 9)), r.Next(hosts.Count)));
            migrating[v] = r.Next(6) == 0 && hosts.Count > 1 ? r.Next(hosts.Count) : -1;
            if (migrating[v] == vms[v].Item2)
            {
                migrating[v] = -1;
            }
        }

        string[] bounds = ["< 300us", "< 1ms", "< 100us"];
        var declarations = Enumerable.Range(0, c.Vms).Where(_ => r.Next(3) > 0).Select(v => new VmDeclaration
        {
            VmName = $"vm{v}",
            Required = Enumerable.Range(0, r.Next(0, 3)).Select(_ => Spec($"t{r.Next(4)}", bounds[r.Next(bounds.Length)])).ToList(),
            Preferred = Enumerable.Range(0, r.Next(0, 2)).Select(_ => Spec($"t{r.Next(4)}", bounds[r.Next(bounds.Length)])).ToList(),
        }).ToList();
        var f = new Fixture(hosts, vms, declarations, migrating);
        var now = f.Now;
        var cooling = new HashSet<int>();
        for (int v = 0; v < c.Vms; v++)
        {
            if (r.Next(5) == 0)
            {
                f.Session.History.Record(vms[v].Item1.Id, hosts[(vms[v].Item2 + 1) % hosts.Count].Id, hosts[vms[v].Item2].Id, now.AddMinutes(-1));
                cooling.Add(v);
            }
        }

        var options = new EcosystemPolicyOptions { MaxMigrationsPerHost = c.PerHost, MaxMigrationsInCluster = c.Cluster };
        var planners = new[]
        {
            EcosystemPolicy.Create(f.Graph, options),
            PredictivePolicy.Create(new PredictiveOptions { MaxMigrationsPerHost = c.PerHost, MaxMigrationsInCluster = c.Cluster, VmCooldown = TimeSpan.FromMinutes(10) })
                .WithEcosystem(f.Graph),
        };
        var inFlight = Enumerable.Range(0, c.Vms).Where(v => migrating[v] >= 0).Select(v => (Vm: v, Target: migrating[v])).ToList();
        var robust = RobustlyMetRequired(f.Graph, vms, hosts, migrating);
        foreach (var planner in planners)
        {
            var plan = planner.Plan(CloneState(f), f.Context);
            var moves = plan.Decisions.Select(d => (Vm: d.VmIndex, Target: d.TargetIndex)).ToList();
            var moved = moves.Select(m => m.Vm).ToList();
            Assert.Equal(moved.Count, moved.Distinct().Count());
            Assert.DoesNotContain(moved, v => cooling.Contains(v));
            Assert.DoesNotContain(moved, v => migrating[v] >= 0);
            Assert.True(moves.Count + inFlight.Count <= Math.Max(c.Cluster, inFlight.Count), $"{planner.Name}: cluster limit");
            for (int h = 0; h < hosts.Count; h++)
            {
                int running = inFlight.Count(m => vms[m.Vm].Item2 == h || m.Target == h);
                int planned = moves.Count(m => vms[m.Vm].Item2 == h || m.Target == h);
                Assert.True(planned + running <= Math.Max(c.PerHost, running), $"{planner.Name}: host {h} has {planned} planned and {running} running");
            }

            // Whatever order migrations (running and planned) complete in, a required dependency that was met
            // whichever running migrations had landed stays met at every step.
            var events = moves.Concat(inFlight).ToList();
            for (int order = 0; order < 6; order++)
            {
                var graph = new EcosystemGraph();
                graph.Load(new InventorySnapshot(hosts, vms.Select(v => v.Item1).ToList(), vms.Select(v => new Placement(v.Item1.Id, hosts[v.Item2].Id)).ToList(), now), declarations);
                foreach (var (vm, target) in events.OrderBy(_ => r.Next()))
                {
                    graph.MoveVm(vms[vm].Item1.Id, hosts[target].Id);
                    var met = MetRequired(graph);
                    var broken = robust.Where(k => !met.Contains(k)).ToList();
                    Assert.True(broken.Count == 0, $"{planner.Name}: after moving vm{vm} to {hosts[target].Id}, {string.Join(", ", broken)} broke (plan: {string.Join("; ", plan.Decisions.Select(d => $"{d.Vm}->{d.Target} {d.Rule}"))}) details: "
                        + string.Join(" | ", broken.Select(k => k.Split('#')[0]).Distinct().Select(o => $"{o}@{hosts[vms[int.Parse(o[2..])].Item2].Id}->{(migrating[int.Parse(o[2..])] >= 0 ? hosts[migrating[int.Parse(o[2..])]].Id.Value : "-")}: "
                            + string.Join("; ", f.Graph.Satisfaction(new VmId(o)).Dependencies.Select(d => $"{d.Kind} {d.Spec} met={d.Met} {d.Reason}"))))
                        + " inflight: " + string.Join(",", inFlight.Select(m => $"vm{m.Vm}:{hosts[vms[m.Vm].Item2].Id}->{hosts[m.Target].Id}"))
                        + " types: " + string.Join(",", vms.Select(v => $"{v.Item1.Name}={v.Item1.Profile.Type}@{hosts[v.Item2].Id}")));
                }
            }
        }

        return true;
    }

    private static HashSet<string> MetRequired(EcosystemGraph graph)
    {
        var set = new HashSet<string>();
        foreach (var vm in Enumerable.Range(0, 64).Select(i => new VmId($"vm{i}")).Where(graph.Contains))
        {
            var s = graph.Satisfaction(vm);
            for (int i = 0; i < s.Dependencies.Count; i++)
            {
                if (s.Dependencies[i].Kind == DependencyKind.Required && s.Dependencies[i].Met)
                {
                    set.Add($"{vm}#{i}");
                }
            }
        }

        return set;
    }

    // Met in every combination of running migrations landed or not: checked by brute force over subsets.
    private static HashSet<string> RobustlyMetRequired(EcosystemGraph template, List<(VmInfo, int)> vms, List<HostInfo> hosts, int[] migrating)
    {
        var running = Enumerable.Range(0, vms.Count).Where(v => migrating[v] >= 0).ToList();
        HashSet<string>? result = null;
        var declarations = vms.Select(v => v.Item1.Name).Where(n => template.Contains(new VmId(n))).ToList();
        for (int mask = 0; mask < 1 << Math.Min(running.Count, 10); mask++)
        {
            var graph = new EcosystemGraph();
            graph.Load(new InventorySnapshot(hosts, vms.Select(v => v.Item1).ToList(),
                vms.Select((v, i) => new Placement(v.Item1.Id, hosts[running.IndexOf(i) is int k and >= 0 && (mask & (1 << k)) != 0 ? migrating[i] : v.Item2].Id)).ToList(),
                DateTimeOffset.UnixEpoch), DeclarationsOf(template, vms));
            var met = MetRequired(graph);
            result = result is null ? met : [.. result.Intersect(met)];
        }

        return result ?? [];
    }

    private static IEnumerable<VmDeclaration> DeclarationsOf(EcosystemGraph graph, List<(VmInfo, int)> vms) =>
        vms.Select(v => v.Item1.Id).Where(graph.Contains).Select(id => graph.Satisfaction(id)).Where(s => s.Dependencies.Count > 0)
            .Select(s => new VmDeclaration
            {
                VmName = s.Vm.Value,
                Required = s.Dependencies.Where(d => d.Kind == DependencyKind.Required).Select(d => d.Spec).ToList(),
                Preferred = s.Dependencies.Where(d => d.Kind == DependencyKind.Preferred).Select(d => d.Spec).ToList(),
            });

    private static PlanningState CloneState(Fixture f)
    {
        // Plans mutate the state tentatively; each planner starts from the same fresh copy.
        var copy = new Fixture(f.Hosts, f.Vms, [], Enumerable.Range(0, f.State.VmCount).Select(v => f.State.VmMigratingTo[v]).ToArray());
        return copy.State;
    }
}
