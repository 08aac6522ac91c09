using FsCheck;
using FsCheck.Fluent;
using VmEcosystem.Cluster;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Planning.ShadowSlots;

namespace VmEcosystem.Tests.Planning;

/// <summary>
/// Properties of every predictive plan on random clusters (random sizes, demands, migrations in flight, recent
/// moves, anti-affinity and proximity rules, limits): no target ends above its capacity net of shadow slots, no
/// satisfied rule is broken, no concurrency limit is exceeded, and no VM moves inside its cooldown.
/// </summary>
public sealed class PlannerPropertyTests
{
    private sealed record Scenario(int Seed, int Hosts, int MaxPerHost, int MaxCluster);

    private static readonly TimeSpan Cooldown = TimeSpan.FromHours(1);

    [Fact]
    public void Plans_never_break_capacity_rules_limits_or_cooldowns()
    {
        var scenarios =
            from seed in Gen.Choose(0, 1_000_000)
            from hosts in Gen.Choose(3, 14)
            from perHost in Gen.Choose(1, 5)
            from cluster in Gen.Choose(1, 12)
            select new Scenario(seed, hosts, perHost, cluster);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(scenarios.ToArbitrary(), Holds));
    }

    private static bool Holds(Scenario sc)
    {
        var r = new Random(sc.Seed);
        var state = new PlanningState();
        var vmHost = new List<int>();
        for (int h = 0; h < sc.Hosts; h++)
        {
            int n = r.Next(0, 6);
            for (int i = 0; i < n; i++)
            {
                vmHost.Add(h);
            }
        }

        int vms = vmHost.Count;
        state.Reset(sc.Hosts, vms, 1);
        var capacity = new double[sc.Hosts];
        for (int h = 0; h < sc.Hosts; h++)
        {
            capacity[h] = 10 * r.Next(1000, 3001);
            state.SetHost(h, new HostId($"h{h}"), capacity[h], 10, r.Next(8, 65) * 1024.0, 10_000, new LinearPowerModel(100, 200),
                r.NextDouble() > 0.1, new TopologyLocation($"z{h % 2}", $"r{h % 4}"));
        }

        var vcpus = new int[vms];
        var baseDemand = new double[vms];
        var memory = new double[vms];
        var migratingTo = new int[vms];
        for (int v = 0; v < vms; v++)
        {
            vcpus[v] = r.Next(1, 5);
            baseDemand[v] = r.NextDouble() * vcpus[v] * 1000;
            memory[v] = r.Next(1, 9) * 1024.0;
            migratingTo[v] = r.NextDouble() < 0.1 && sc.Hosts > 1 ? (vmHost[v] + 1 + r.Next(sc.Hosts - 1)) % sc.Hosts : -1;
        }

        var session = new PlanningSession();
        var context = new PlanningContext(new Random(sc.Seed));
        var t0 = DateTimeOffset.UnixEpoch;
        var now = t0;
        for (int t = 0; t < 30; t++)
        {
            now = t0.AddMinutes(5 * t);
            state.ClearPlacements();
            for (int v = 0; v < vms; v++)
            {
                double d = Math.Min(vcpus[v] * 1000, baseDemand[v] * (0.7 + (0.6 * r.NextDouble())));
                state.SetVm(v, new VmId($"v{v}"), vcpus[v] * 1000, vcpus[v], memory[v], d, d, vmHost[v], migratingTo[v], true);
                state.AppendToHost(vmHost[v], v);
                if (migratingTo[v] >= 0)
                {
                    state.AppendToHost(migratingTo[v], v);
                }
            }

            for (int h = 0; h < sc.Hosts; h++)
            {
                state.SetHostState(h, 0, 0, false);
            }

            session.Prepare(state, context, now);
        }

        for (int v = 0; v < vms; v++)
        {
            if (migratingTo[v] >= 0)
            {
                // A third of the moves hold less than the VM's upper demand: a reservation steered down to the copy's CPU.
                session.OnMigrationStarted(state.VmIds[v], state.HostIds[vmHost[v]], state.HostIds[migratingTo[v]], now, TimeSpan.FromMinutes(1),
                    session.Forecasts.Upper(v) * (r.NextDouble() < 0.33 ? r.NextDouble() : 1), memory[v]);
            }
            else if (r.NextDouble() < 0.1)
            {
                // Landed a minute ago, its reservation still held on its host after the switch-over.
                session.History.Record(state.VmIds[v], state.HostIds[(vmHost[v] + 1) % sc.Hosts], state.HostIds[vmHost[v]], now.AddMinutes(-1));
                session.Ledger.Reserve(state.VmIds[v].Value, state.HostIds[vmHost[v]], ReservationKind.MigrationInFlight,
                    new ResourceVector(0, session.Forecasts.Upper(v) * r.NextDouble() * 1.5, memory[v]), now.AddMinutes(2));
            }
            else if (r.NextDouble() < 0.2)
            {
                session.History.Record(state.VmIds[v], state.HostIds[(vmHost[v] + 1) % sc.Hosts], state.HostIds[vmHost[v]], now.AddMinutes(-r.Next(1, 120)));
            }
        }

        var constraints = new PlacementConstraints();
        for (int k = 0; k < vms / 2 && vms > 1; k++)
        {
            int a = r.Next(vms), b = r.Next(vms);
            if (a == b)
            {
                continue;
            }

            if (r.NextDouble() < 0.5)
            {
                constraints.AddAntiAffinity(state.VmIds[a], state.VmIds[b]);
            }
            else
            {
                constraints.AddProximity(state.VmIds[a], state.VmIds[b], (NetworkDistance)r.Next(0, 3));
            }
        }

        context.With(constraints);
        var options = new PredictiveOptions { MaxMigrationsPerHost = sc.MaxPerHost, MaxMigrationsInCluster = sc.MaxCluster, VmCooldown = Cooldown, EnforceMemory = true };
        var before = (int[])vmHost.ToArray().Clone();
        bool ConstraintsHold(int[] placement, int a, int b, bool anti, NetworkDistance max) => anti
            ? placement[a] != placement[b]
            : NetworkTopology.Distance(state.HostIds[placement[a]], state.HostLocation[placement[a]], state.HostIds[placement[b]], state.HostLocation[placement[b]]) <= max;
        var rules = new List<(int A, int B, bool Anti, NetworkDistance Max)>();
        for (int v = 0; v < vms; v++)
        {
            foreach (var peer in constraints.AntiAffine(state.VmIds[v]))
            {
                rules.Add((v, state.IndexOf(peer), true, NetworkDistance.SameHost));
            }

            foreach (var (peer, max) in constraints.Proximity(state.VmIds[v]))
            {
                rules.Add((v, state.IndexOf(peer), false, max));
            }
        }

        var satisfiedBefore = rules.Where(x => ConstraintsHold(before, x.A, x.B, x.Anti, x.Max)).ToList();
        var plan = PredictivePolicy.Create(options).Plan(state, context);

        // Limits: in-flight migrations plus planned ones, per host (in + out) and in the cluster.
        var perHost = new int[sc.Hosts];
        int total = 0;
        for (int v = 0; v < vms; v++)
        {
            if (migratingTo[v] >= 0)
            {
                perHost[migratingTo[v]]++;
                perHost[vmHost[v]]++;
                total++;
            }
        }

        var after = (int[])before.Clone();
        foreach (var d in plan.Decisions)
        {
            perHost[before[d.VmIndex]]++;
            perHost[d.TargetIndex]++;
            total++;
            after[d.VmIndex] = d.TargetIndex;

            // Cooldown: a VM that moved less than an hour ago never moves; VMs in flight never move again.
            if (session.History.Last(d.Vm) is { } last && last.Time > now - Cooldown)
            {
                return Fail($"{d.Vm} moved {now - last.Time} after its last move");
            }

            if (migratingTo[d.VmIndex] >= 0 || !state.AcceptsVms(d.TargetIndex))
            {
                return Fail($"{d.Vm} is in flight or {d.Target} is in maintenance");
            }
        }

        var touched = plan.Decisions.SelectMany(d => new[] { before[d.VmIndex], d.TargetIndex }).Distinct();
        if (plan.Decisions.Count > 0 && (total > sc.MaxCluster || touched.Any(h => perHost[h] > sc.MaxPerHost)))
        {
            return Fail($"limits: cluster {total}/{sc.MaxCluster}, hosts [{string.Join(",", perHost)}] / {sc.MaxPerHost}");
        }

        // Capacity net of shadow slots on every host that received a VM.
        var forecasts = session.Forecasts;
        foreach (int h in plan.Decisions.Select(d => d.TargetIndex).Distinct())
        {
            double point = 0, g = 0, g2 = 0, mem = 0, uncovered = 0;
            for (int v = 0; v < vms; v++)
            {
                // A VM whose in-flight slot is on this host (moving in, or landed and still held) counts as its slot,
                // topped up to its upper demand.
                if (session.Ledger.Find(state.VmIds[v].Value, ReservationKind.MigrationInFlight) is { } slot && slot.Host == state.HostIds[h] && (after[v] == h || migratingTo[v] == h))
                {
                    uncovered += Math.Max(0, forecasts.Upper(v) - slot.Amount.CpuMhz);
                    mem += memory[v];
                }
                else if (after[v] == h)
                {
                    double gv = forecasts.Upper(v) - forecasts.Point(v);
                    point += forecasts.Point(v);
                    g += gv;
                    g2 += gv * gv;
                    mem += memory[v];
                }
                else if (migratingTo[v] == h)
                {
                    mem += memory[v];
                }
            }

            double rho = options.GrowthCorrelation;
            double reserved = session.Ledger.ReservedOn(state.HostIds[h], ReservationKind.MigrationInFlight).CpuMhz + uncovered;
            double load = point + Math.Sqrt(((1 - rho) * g2) + (rho * g * g)) + reserved;
            if (load > (options.TargetUtilization * capacity[h]) + 1e-6)
            {
                return Fail($"host {h} predicted {load:F1} > {options.TargetUtilization * capacity[h]:F1}");
            }
        }

        // Rules that held before still hold.
        var broken = satisfiedBefore.FirstOrDefault(x => !ConstraintsHold(after, x.A, x.B, x.Anti, x.Max));
        if (broken != default)
        {
            return Fail($"rule {broken} broken");
        }

        // A VM the plan moves keeps its rules with a peer in flight wherever that peer ends: on its source or on its
        // target (the move may complete or fail, in any order).
        foreach (var d in plan.Decisions)
        {
            foreach (var rule in rules.Where(x => x.A == d.VmIndex && migratingTo[x.B] >= 0))
            {
                var landed = (int[])after.Clone();
                landed[rule.B] = migratingTo[rule.B];
                if (!ConstraintsHold(after, rule.A, rule.B, rule.Anti, rule.Max) || !ConstraintsHold(landed, rule.A, rule.B, rule.Anti, rule.Max))
                {
                    return Fail($"{d.Vm} moved to {d.Target} against rule {rule} with {state.VmIds[rule.B]} in flight from {vmHost[rule.B]} to {migratingTo[rule.B]}");
                }
            }
        }

        return true;
    }

    private static bool Fail(string reason) => throw new InvalidOperationException(reason);
}
