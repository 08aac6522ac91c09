using System.Diagnostics;
using VmEcosystem.Simulation;
using VmEcosystem.Planning;

namespace VmEcosystem.Experiments;

/// <summary>The outcome of one policy on one scenario.</summary>
/// <param name="Policy">Policy name.</param>
/// <param name="Summary">Energy, migrations and SLA figures.</param>
/// <param name="WallSeconds">Wall-clock time of the whole run.</param>
/// <param name="PlanningSeconds">Wall-clock time spent planning.</param>
public sealed record ConsolidationResult(string Policy, SimulationSummary Summary, double WallSeconds, double PlanningSeconds);

/// <summary>
/// Runs a policy over a scenario in batch, as fast as possible: after each tick the cluster is captured, the
/// policy plans, and the plan's migrations start. The hosted runtime runs the same steps through its loops.
/// </summary>
public static class ConsolidationExperiment
{
    /// <summary>Runs one policy.</summary>
    /// <param name="scenario">Hosts, VMs, traces and physics.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="placement">Initial placement rule (CloudSim uses first fit for DVFS, PABFD otherwise).</param>
    /// <param name="seed">Seed of the policy's random source.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <param name="sessionOptions">Forecasting settings of the planning session (horizon, method).</param>
    /// <param name="onPlan">Called with every plan and the session (for checks and explanations).</param>
    public static ConsolidationResult Run(
        SimulationScenario scenario,
        IMigrationPolicy policy,
        InitialPlacementStrategy placement,
        int seed = 42,
        CancellationToken cancellationToken = default,
        PlanningSessionOptions? sessionOptions = null,
        Action<MigrationPlan, PlanningSession>? onPlan = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(policy);
        var wall = Stopwatch.StartNew();
        var sim = new ClusterSimulation(scenario, InitialPlacement.Place(scenario, placement));
        var state = new PlanningState();
        var context = new PlanningContext(new Random(seed), scenario.Model.TickIntervalSeconds, scenario.Model.MigrationBandwidthShare);
        var session = new PlanningSession(sessionOptions ?? new PlanningSessionOptions { Tick = TimeSpan.FromSeconds(scenario.Model.TickIntervalSeconds) });
        var cycle = new PlanningCycle(policy, session, context);
        var epoch = DateTimeOffset.UnixEpoch;
        sim.MigrationEnded += end => cycle.MigrationEnded(scenario.Vms[end.Vm].Info.Id);
        bool migrates = policy is not NoMigrationPolicy;
        long planningTicks = 0;
        while (sim.AdvanceToNextTick())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (migrates)
            {
                long start = Stopwatch.GetTimestamp();
                sim.CapturePlanningState(state);
                var now = epoch + TimeSpan.FromSeconds(sim.Now);
                cycle.Observe(state, now);
                var plan = cycle.Plan(state);
                planningTicks += Stopwatch.GetTimestamp() - start;
                foreach (var decision in plan.Decisions)
                {
                    int source = sim.HostOf(decision.VmIndex);
                    double end = sim.StartMigration(decision.VmIndex, decision.TargetIndex);
                    cycle.MigrationStarted(decision, scenario.Hosts[source].Id, now, TimeSpan.FromSeconds(end - sim.Now), decision.VmIndex,
                        sim.VmMemoryCapacityMiB(decision.VmIndex));
                }

                onPlan?.Invoke(plan, session);
            }
        }

        return new ConsolidationResult(policy.Name, sim.Summary(), wall.Elapsed.TotalSeconds, (double)planningTicks / Stopwatch.Frequency);
    }
}
