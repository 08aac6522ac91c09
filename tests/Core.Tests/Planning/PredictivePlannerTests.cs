using VmEcosystem.Cluster;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;

namespace VmEcosystem.Tests.Planning;

/// <summary>Small hand-made clusters: what the predictive policy does and how it explains it.</summary>
public sealed class PredictivePlannerTests
{
    internal static (PlanningState State, PlanningSession Session, PlanningContext Context) Cluster(
        double[] demandsPerHost, int vmsPerHost = 4, int hosts = 4, Action<PlanningSession, PlanningState, PlanningContext>? before = null)
    {
        var state = new PlanningState();
        int vms = hosts * vmsPerHost;
        state.Reset(hosts, vms, 1);
        for (int h = 0; h < hosts; h++)
        {
            state.SetHost(h, new HostId($"h{h}"), 10_000, 10, 65_536, 10_000, new LinearPowerModel(100, 200), true, new TopologyLocation("z", $"r{h / 2}"));
        }

        var session = new PlanningSession();
        var context = new PlanningContext(new Random(1));
        for (int t = 0; t < 30; t++)
        {
            state.ClearPlacements();
            for (int v = 0; v < vms; v++)
            {
                int h = v % hosts;
                double d = demandsPerHost[h] / vmsPerHost;
                state.SetVm(v, new VmId($"vm{v}"), 4000, 4, 4096, d, d, h, -1, true);
                state.AppendToHost(h, v);
            }

            for (int h = 0; h < hosts; h++)
            {
                state.SetHostState(h, demandsPerHost[h] / 10_000, 0, false);
            }

            session.Prepare(state, context, DateTimeOffset.UnixEpoch.AddMinutes(5 * t));
        }

        before?.Invoke(session, state, context);
        return (state, session, context);
    }

    [Fact]
    public void An_overloaded_host_sheds_one_vm_to_a_host_with_room_and_explains_why()
    {
        var (state, _, context) = Cluster([11_000, 6_000, 3_000, 2_000]);
        var plan = PredictivePolicy.Create(new PredictiveOptions { EvacuationThreshold = 0.1, ConsolidationUtilization = 0.5 }).Plan(state, context);
        var move = Assert.Single(plan.Decisions, d => d.Stage == "predicted-overload");
        Assert.Equal(new HostId("h0"), move.Source);
        Assert.Equal("overload", move.Trigger.Kind);
        Assert.True(move.Trigger.UpperBound > 1.0);
        Assert.Contains("h0", move.Trigger.Detail);
        Assert.Equal(["energy", "fit", "future-contention", "migration-cost", "memory-fit"], move.Costs.Select(c => c.Scorer));
        Assert.Equal(move.TotalCost, move.Costs.Sum(c => c.WeightedCost), 9);
        Assert.NotEmpty(move.Alternatives);
        Assert.All(move.Alternatives.Where(a => a.RejectedBy is null), a => Assert.True(a.TotalCost >= move.TotalCost));
    }

    [Fact]
    public void A_vm_moving_in_counts_at_its_upper_demand_even_when_its_reservation_was_steered_down_to_the_copy()
    {
        // vm2 (1,500 MHz) moves from h2 into h1 (6,000), its reservation steered down to the copy's 100 MHz: h1 will
        // carry 7,500, so h0's 2,750 MHz VM no longer fits there (10,250 > 10,000).
        var (state, session, context) = Cluster([11_000, 6_000, 6_000, 2_000]);
        state.SetVm(2, new VmId("vm2"), 4000, 4, 4096, 1500, 1500, 2, 1, true);
        state.AppendToHost(1, 2);
        session.OnMigrationStarted(new VmId("vm2"), new HostId("h2"), new HostId("h1"), DateTimeOffset.UnixEpoch.AddMinutes(150), TimeSpan.FromMinutes(1), 100, 4096);

        var move = Assert.Single(PredictivePolicy.Create(new PredictiveOptions { EvacuationThreshold = 0.1 }).Plan(state, context).Decisions, d => d.Stage == "predicted-overload");
        Assert.NotEqual(new HostId("h1"), move.Target);
        Assert.Contains(move.Alternatives, a => a.Host == new HostId("h1") && a.RejectedBy is not null);
    }

    [Fact]
    public void A_landed_vm_whose_reservation_still_holds_is_counted_once()
    {
        // vm1 landed on h1 (6,000 with it) and its reservation of 1,500 MHz holds until the hold ends: h1 carries 6,000,
        // not 7,500, so h0's 2,750 MHz VM fits there (8,750 <= 10,000).
        var (state, session, context) = Cluster([11_000, 6_000, 6_000, 2_000]);
        session.Ledger.Reserve("vm1", new HostId("h1"), VmEcosystem.Planning.ShadowSlots.ReservationKind.MigrationInFlight,
            new ResourceVector(0, 1500, 4096), DateTimeOffset.UnixEpoch.AddMinutes(160));

        var move = Assert.Single(PredictivePolicy.Create(new PredictiveOptions { EvacuationThreshold = 0.1 }).Plan(state, context).Decisions, d => d.Stage == "predicted-overload");
        Assert.True(move.Target == new HostId("h1") || move.Alternatives.Any(a => a.Host == new HostId("h1") && a.RejectedBy is null),
            string.Join("; ", move.Alternatives.Select(a => $"{a.Host}: {a.RejectedBy}")));
    }

    [Fact]
    public void Lightly_loaded_hosts_are_emptied_onto_active_hosts_never_onto_idle_ones()
    {
        var (state, _, context) = Cluster([2_000, 2_000, 1_000, 0], hosts: 4);
        var plan = PredictivePolicy.Create().Plan(state, context);
        Assert.NotEmpty(plan.Decisions);
        Assert.All(plan.Decisions, d => Assert.Equal("consolidation", d.Stage));
        Assert.DoesNotContain(plan.Decisions, d => d.Target == new HostId("h3") && state.VmsOn(3).Count == 0);
        // Every evacuated host is emptied entirely.
        foreach (var group in plan.Decisions.GroupBy(d => d.Source))
        {
            Assert.Equal(state.VmsOn(state.HostIds.ToList().IndexOf(group.Key)).Count, group.Count());
        }
    }

    [Fact]
    public void Plans_stay_within_the_executors_concurrency_limits_when_the_context_names_them()
    {
        double[] overloaded = [11_000, 11_000, 11_000, 1_000, 1_000, 1_000];
        var (free, _, freeContext) = Cluster(overloaded, hosts: 6);
        var unbounded = PredictivePolicy.Create(new PredictiveOptions { ConsolidationUtilization = 0.05, EvacuationThreshold = 0 }).Plan(free, freeContext);
        Assert.True(unbounded.Decisions.Count >= 3, $"three hosts should shed load; planned {unbounded.Decisions.Count}");
        Assert.Contains(unbounded.Decisions.SelectMany(d => new[] { d.Source, d.Target }).GroupBy(h => h), g => g.Count() > 1); // so the per-host cap below binds

        var (state, _, context) = Cluster(overloaded, hosts: 6);
        context.ExecutorLimits = new ExecutorConcurrency(MaxPerHost: 8, MaxInCluster: 1);
        Assert.Single(PredictivePolicy.Create(new PredictiveOptions { ConsolidationUtilization = 0.05, EvacuationThreshold = 0 }).Plan(state, context).Decisions);

        var (perHost, _, perHostContext) = Cluster(overloaded, hosts: 6);
        perHostContext.ExecutorLimits = new ExecutorConcurrency(MaxPerHost: 1, MaxInCluster: 100);
        var onePerHost = PredictivePolicy.Create(new PredictiveOptions { ConsolidationUtilization = 0.05, EvacuationThreshold = 0 }).Plan(perHost, perHostContext);
        Assert.NotEmpty(onePerHost.Decisions);
        Assert.All(onePerHost.Decisions.SelectMany(d => new[] { d.Source, d.Target }).GroupBy(h => h), g => Assert.Single(g));
    }

    [Fact]
    public void A_dry_run_is_the_same_plan_every_time()
    {
        var policy = PredictivePolicy.Create();
        var (s1, _, c1) = Cluster([11_000, 6_000, 3_000, 2_000]);
        var (s2, _, c2) = Cluster([11_000, 6_000, 3_000, 2_000]);
        var a = policy.Plan(s1, c1);
        var b = policy.Plan(s2, c2);
        Assert.Equal(a.Decisions.Select(d => (d.Vm, d.Target, d.TotalCost)), b.Decisions.Select(d => (d.Vm, d.Target, d.TotalCost)));
    }

    [Fact]
    public void Cooldown_and_hysteresis_hold_moves_back()
    {
        var now = DateTimeOffset.UnixEpoch.AddMinutes(5 * 29);
        var (state, _, context) = Cluster([11_000, 6_000, 3_000, 2_000], before: (session, s, _) =>
        {
            for (int v = 0; v < s.VmCount; v++)
            {
                session.History.Record(s.VmIds[v], new HostId("h1"), s.HostIds[s.VmHost[v]], now.AddMinutes(-10));
            }
        });
        var plan = PredictivePolicy.Create().Plan(state, context);
        Assert.Empty(plan.Decisions);
    }

    [Fact]
    public void Anti_affinity_and_proximity_are_respected()
    {
        var (state, _, context) = Cluster([11_000, 3_000, 3_000, 2_000]);
        var constraints = new PlacementConstraints();
        // Every VM of h0 must stay away from h2's first VM and within its rack (r0 = h0, h1) of vm4, which is on h0.
        foreach (int v in state.VmsOn(0))
        {
            constraints.AddAntiAffinity(state.VmIds[v], state.VmIds[2]);
            if (v != 4)
            {
                constraints.AddProximity(state.VmIds[v], state.VmIds[4], NetworkDistance.SameRack);
            }
        }

        context.With(constraints);
        var plan = PredictivePolicy.Create(new PredictiveOptions { EvacuationThreshold = 0.1, ConsolidationUtilization = 0.5 }).Plan(state, context);
        var move = Assert.Single(plan.Decisions);
        Assert.NotEqual(4, move.VmIndex); // vm4 anchors everyone's proximity; moving another VM is enough
        Assert.Equal(new HostId("h1"), move.Target); // h1 is the only host in rack r0 besides h0
    }
}
