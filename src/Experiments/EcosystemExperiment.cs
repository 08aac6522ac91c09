using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Ecosystem.Learning;
using VmEcosystem.Ecosystem.Planning;
using VmEcosystem.Planning;
using VmEcosystem.Simulation;

namespace VmEcosystem.Experiments;

/// <summary>Settings of an ecosystem run.</summary>
public sealed record EcosystemExperimentOptions
{
    /// <summary>Ecosystem settings (weights, thresholds).</summary>
    public EcosystemOptions Ecosystem { get; init; } = new();

    /// <summary>Planner limits and weights.</summary>
    public EcosystemPolicyOptions Policy { get; init; } = new();

    /// <summary>Whether the self-optimisation loop learns from outcomes.</summary>
    public bool Learn { get; init; } = true;

    /// <summary>Probability that a migration fails (the VM stays on its source).</summary>
    public double MigrationFailureProbability { get; init; } = 0.05;

    /// <summary>Seed of the planner's and the fault injection's random sources.</summary>
    public int Seed { get; init; } = 42;
}

/// <summary>The cluster after one planning tick.</summary>
/// <param name="Minutes">Simulated minutes since the start.</param>
/// <param name="Score">Cluster satisfaction.</param>
/// <param name="Optimum">Its reachable optimum.</param>
/// <param name="MeanWebLatencyMs">Mean request latency of the web VMs (the hidden truth).</param>
/// <param name="MigrationsStarted">Migrations started so far.</param>
/// <param name="InFlight">Migrations running.</param>
/// <param name="MaxInFlightPerHost">Most migrations touching one host (as source or target).</param>
public sealed record EcosystemTick(double Minutes, double Score, double Optimum, double MeanWebLatencyMs, int MigrationsStarted, int InFlight, int MaxInFlightPerHost);

/// <summary>The outcome of an ecosystem run.</summary>
public sealed record EcosystemRunResult
{
    /// <summary>Satisfaction before any move.</summary>
    public required ClusterSatisfaction Initial { get; init; }

    /// <summary>Satisfaction at the end.</summary>
    public required ClusterSatisfaction Final { get; init; }

    /// <summary>One entry per tick.</summary>
    public required IReadOnlyList<EcosystemTick> Timeline { get; init; }

    /// <summary>Every planned move with its explanation.</summary>
    public required IReadOnlyList<MigrationDecision> Moves { get; init; }

    /// <summary>Met required dependencies that became unmet when a migration completed (must be 0).</summary>
    public required int RequiredBroken { get; init; }

    /// <summary>Migrations that failed.</summary>
    public required int MigrationsFailed { get; init; }

    /// <summary>Most migrations touching one host at once.</summary>
    public required int PeakInFlightPerHost { get; init; }

    /// <summary>Most migrations at once.</summary>
    public required int PeakInFlightCluster { get; init; }

    /// <summary>First time the score reached 95 % of its optimum, minutes (null: never).</summary>
    public required double? MinutesTo95PercentOfOptimum { get; init; }

    /// <summary>Mean web latency before and after, ms.</summary>
    public required (double Before, double After) MeanWebLatencyMs { get; init; }

    /// <summary>What the learner concluded.</summary>
    public required IReadOnlyList<LearnedDependencyWeight> LearnedWeights { get; init; }

    /// <summary>Move patterns and their outcomes.</summary>
    public required IReadOnlyList<MovePattern> Patterns { get; init; }

    /// <summary>Dependencies no placement can meet.</summary>
    public required IReadOnlyList<(VmId Vm, DependencyStatus Status)> Impossible { get; init; }

    /// <summary>The graph at the end (for further queries).</summary>
    public required EcosystemGraph Graph { get; init; }
}

/// <summary>
/// Runs the ecosystem loop on the simulator: each tick the planner (dependency repair, required-dependency guard,
/// satisfaction and cost scorers, limits) plans from the graph; migrations run in simulated time; when one
/// completes the graph moves the VM, application latencies before and after go to the learner, and the learned
/// weights re-weigh the graph. The hosted runtime drives the same pieces through its loops.
/// </summary>
public static class EcosystemExperiment
{
    /// <summary>Runs the scenario.</summary>
    public static EcosystemRunResult Run(EcosystemScenarioSetup setup, EcosystemExperimentOptions? options = null, Action<EcosystemTick>? onTick = null)
    {
        ArgumentNullException.ThrowIfNull(setup);
        options ??= new EcosystemExperimentOptions();
        var scenario = setup.Simulation;
        var sim = new ClusterSimulation(scenario, setup.InitialPlacement);
        var graph = new EcosystemGraph(options.Ecosystem, scenario.Topology);
        var placements = new List<Placement>();
        for (int v = 0; v < scenario.Vms.Count; v++)
        {
            placements.Add(new Placement(scenario.Vms[v].Info.Id, scenario.Hosts[setup.InitialPlacement[v]].Id));
        }

        graph.Load(new InventorySnapshot(scenario.Hosts, scenario.Vms.Select(v => v.Info).ToList(), placements, DateTimeOffset.UnixEpoch), setup.Declarations);
        var learner = options.Learn ? new MigrationOutcomeLearner() : null;
        if (learner is not null)
        {
            graph.UseWeighting(learner);
            learner.WeightsChanged += () => graph.UseWeighting(learner);
        }

        var planner = EcosystemPolicy.Create(graph, options.Policy, learner, scenario.Topology, scenario.Hosts);
        var tick = TimeSpan.FromSeconds(scenario.Model.TickIntervalSeconds);
        var session = new PlanningSession(new PlanningSessionOptions { Tick = tick });
        var context = new PlanningContext(new Random(options.Seed), scenario.Model.TickIntervalSeconds, scenario.Model.MigrationBandwidthShare);
        var cycle = new PlanningCycle(planner, session, context, observeAlways: true);
        var faults = new Random(options.Seed + 1);
        var noise = new Random(options.Seed + 2);
        var state = new PlanningState();
        var epoch = DateTimeOffset.UnixEpoch;
        var pending = new Dictionary<int, Pending>();
        var moves = new List<MigrationDecision>();
        var timeline = new List<EcosystemTick>();
        var initial = graph.Cluster();
        var webs = scenario.Vms.Select((v, i) => (v, i)).Where(x => x.v.Info.Profile.Type == "web").Select(x => x.i).ToArray();
        int broken = 0, failed = 0, peakHost = 0, peakCluster = 0;
        double? reached = null;

        double Latency(int v) => setup.Truth.LatencyMs(graph, scenario.Vms[v].Info.Id, HostUtilization(v));
        double HostUtilization(int v) => sim.HostOf(v) is int h and >= 0 ? sim.HostUtilization(h) : 0;
        double MeanWebLatency() => webs.Length == 0 ? 0 : webs.Average(Latency);

        List<(int Vm, double LatencyMs, double Cpu, Dictionary<DependencySpec, double> Network)> Observe(VmId moved)
        {
            var affected = new List<VmId> { moved };
            affected.AddRange(graph.Dependents(moved).Select(d => d.Vm).Distinct());
            var list = new List<(int, double, double, Dictionary<DependencySpec, double>)>();
            foreach (var id in affected.Distinct())
            {
                int v = IndexOf(scenario, id);
                var network = graph.Satisfaction(id).Dependencies.ToDictionary(
                    d => d.Spec, d => d.NearestDistance is { } nd ? scenario.Topology.Latency(nd).TotalMilliseconds : 50.0, ReferenceEqualityComparer.Instance as IEqualityComparer<DependencySpec>);
                list.Add((v, setup.Truth.LatencyMs(graph, id, HostUtilization(v), noise), HostUtilization(v), network));
            }

            return list;
        }

        sim.MigrationEnded += end =>
        {
            var id = scenario.Vms[end.Vm].Info.Id;
            cycle.MigrationEnded(id);
            pending.Remove(end.Vm, out var p);
            if (!end.Cancelled)
            {
                var target = scenario.Hosts[end.Target].Id;
                broken += graph.ImpactOfMove(id, target).RequiredBroken.Count;
                graph.MoveVm(id, target);
            }
            else
            {
                failed++;
            }

            if (learner is null || p is null)
            {
                return;
            }

            var after = Observe(id);
            var changes = new List<PerformanceChange>();
            foreach (var (v, latency, cpu, network) in p.Before)
            {
                var a = after.FirstOrDefault(x => x.Vm == v);
                if (a.Network is null)
                {
                    continue;
                }

                var deps = network.Select(kv => new DependencyLatencyChange(kv.Key.Type, kv.Value, a.Network.GetValueOrDefault(kv.Key, kv.Value))).ToList();
                changes.Add(new PerformanceChange(scenario.Vms[v].Info.Id, scenario.Vms[v].Info.Profile.Type,
                    new ApplicationMetrics(latency, 1000 / latency), new ApplicationMetrics(a.LatencyMs, 1000 / a.LatencyMs), cpu, a.Cpu, deps));
            }

            learner.Record(new MigrationOutcome(id, scenario.Vms[end.Vm].Info.Profile.Type, scenario.Hosts[end.Source].Id, scenario.Hosts[end.Target].Id,
                p.Decision.Rule, !end.Cancelled, p.PredictedSeconds, end.TimeSeconds - p.StartSeconds, changes));
        };

        double beforeLatency = MeanWebLatency();
        while (sim.AdvanceToNextTick())
        {
            sim.CapturePlanningState(state);
            var now = epoch + TimeSpan.FromSeconds(sim.Now);
            cycle.Observe(state, now);
            var plan = cycle.Plan(state);
            foreach (var decision in plan.Decisions)
            {
                int v = decision.VmIndex;
                int source = sim.HostOf(v);
                double bandwidth = Math.Min(scenario.Hosts[decision.TargetIndex].Capacity.NetworkMbps,
                    scenario.Topology.MigrationBandwidthMbps(NetworkTopology.Distance(scenario.Hosts[source].Id, scenario.Hosts[source].Location,
                        decision.Target, scenario.Hosts[decision.TargetIndex].Location)));
                var entry = new Pending(decision, sim.Now, context.MigrationSeconds(sim.VmMemoryCapacityMiB(v), bandwidth),
                    learner is null ? [] : Observe(decision.Vm));
                pending[v] = entry;
                double end = sim.StartMigration(v, decision.TargetIndex);
                cycle.MigrationStarted(decision, scenario.Hosts[source].Id, now, TimeSpan.FromSeconds(end - sim.Now), v, sim.VmMemoryCapacityMiB(v));
                moves.Add(decision);
                if (faults.NextDouble() < options.MigrationFailureProbability)
                {
                    sim.CancelMigration(v);
                }
            }

            var perHost = new Dictionary<int, int>();
            foreach (var (v, _) in pending)
            {
                perHost[sim.HostOf(v)] = perHost.GetValueOrDefault(sim.HostOf(v)) + 1;
                int target = sim.MigrationTargetOf(v);
                if (target >= 0)
                {
                    perHost[target] = perHost.GetValueOrDefault(target) + 1;
                }
            }

            int maxHost = perHost.Count == 0 ? 0 : perHost.Values.Max();
            peakHost = Math.Max(peakHost, maxHost);
            peakCluster = Math.Max(peakCluster, pending.Count);
            var point = new EcosystemTick(sim.Now / 60, graph.ClusterScore, graph.ClusterOptimum, MeanWebLatency(), moves.Count, pending.Count, maxHost);
            timeline.Add(point);
            if (reached is null && point.Score >= 0.95 * point.Optimum)
            {
                reached = point.Minutes;
            }

            onTick?.Invoke(point);
        }

        sim.Finish();
        return new EcosystemRunResult
        {
            Initial = initial,
            Final = graph.Cluster(),
            Timeline = timeline,
            Moves = moves,
            RequiredBroken = broken,
            MigrationsFailed = failed,
            PeakInFlightPerHost = peakHost,
            PeakInFlightCluster = peakCluster,
            MinutesTo95PercentOfOptimum = initial.Score >= 0.95 * initial.Optimum ? 0 : reached,
            MeanWebLatencyMs = (beforeLatency, MeanWebLatency()),
            LearnedWeights = learner?.DependencyWeights() ?? [],
            Patterns = learner?.Patterns() ?? [],
            Impossible = graph.ImpossibleDependencies().ToList(),
            Graph = graph,
        };
    }

    private static int IndexOf(SimulationScenario scenario, VmId id)
    {
        for (int i = 0; i < scenario.Vms.Count; i++)
        {
            if (scenario.Vms[i].Info.Id == id)
            {
                return i;
            }
        }

        return -1;
    }

    private sealed record Pending(MigrationDecision Decision, double StartSeconds, double PredictedSeconds,
        List<(int Vm, double LatencyMs, double Cpu, Dictionary<DependencySpec, double> Network)> Before);
}
