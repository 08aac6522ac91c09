using System.Diagnostics;
using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Planning;
using VmEcosystem.Reservations;
using VmEcosystem.Simulation;

namespace VmEcosystem.Experiments;

/// <summary>The outcome of one reservation mode on one simulated day.</summary>
/// <param name="Mode">The mode.</param>
/// <param name="Migrations">Moves started.</param>
/// <param name="Deferred">Planned moves whose destination could not hold their request (deferred to the next pass).</param>
/// <param name="MeanMigrationSeconds">Mean duration of the moves (pre-copy model, with the bandwidth they got).</param>
/// <param name="MeanDowntimeMs">Mean downtime of the moves.</param>
/// <param name="Window">Demand, shortfall and reservations accounted during migration windows.</param>
/// <param name="Summary">The day's energy, SLA and migration figures.</param>
/// <param name="WallSeconds">Wall-clock time of the run.</param>
public sealed record ReservationRunResult(
    ReservationMode Mode, int Migrations, int Deferred, double MeanMigrationSeconds, double MeanDowntimeMs,
    MigrationWindowAccounting Window, SimulationSummary Summary, double WallSeconds);

/// <summary>
/// Runs the predictive planner over a day under the pre-copy model, with migration reservations in one mode, and
/// accounts every migration window (from the move's start to its switch-over plus the hold) at a fixed step: what
/// the destination's VMs and the migrating VM asked for, what they got, what was reserved and not used.
/// <list type="bullet">
/// <item>A host's CPU goes first to what moves hold there (each up to its reservation), then to the rest: on a
/// destination in <see cref="ReservationMode.Pid"/> by priority (the controller sets CPU shares by SLO priority:
/// critical, then standard, then best effort), otherwise in proportion to demand (the hosts' default fair share; on a
/// source in every mode, since the controller sets nothing there).</item>
/// <item>A copy that gets less CPU than it asks on either host slows in proportion (its bandwidth is reduced), as the
/// pre-copy model says: it then takes longer and its downtime grows.</item>
/// <item><see cref="ReservationMode.Static"/> and <see cref="ReservationMode.Pid"/> admit a move only when its
/// destination can hold the request; otherwise it is deferred and the next pass plans again.</item>
/// </list>
/// Demand follows the traces; within a trace interval it varies around the interval's figure as
/// <see cref="SubIntervalDemand"/> says (the simulator's energy and SLA figures use the interval's figure).
/// </summary>
public static class ReservationExperiment
{
    /// <summary>Runs one mode.</summary>
    /// <param name="scenario">Hosts, VMs, traces; its model must be pre-copy (<see cref="SimulationModel.Realistic"/>).</param>
    /// <param name="policy">The planning policy.</param>
    /// <param name="mode">How destinations are held.</param>
    /// <param name="options">Reservation settings (the mode in them is ignored).</param>
    /// <param name="seed">Seed of the policy's random source.</param>
    /// <param name="stepSeconds">Accounting and control step within windows.</param>
    /// <param name="variation">Scale of demand variation within a trace interval (<see cref="SubIntervalDemand"/>; 0: constant).</param>
    /// <param name="cancellationToken">Stops the run.</param>
    public static ReservationRunResult Run(
        SimulationScenario scenario, IMigrationPolicy policy, ReservationMode mode, ReservationOptions? options = null,
        int seed = 42, double stepSeconds = 5, double variation = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(policy);
        if (scenario.Model.PreCopy is null)
        {
            throw new ArgumentException("The reservation experiment needs a scenario under the pre-copy model (SimulationModel.Realistic).", nameof(scenario));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepSeconds);
        options = (options ?? new ReservationOptions()) with { Mode = mode };
        var wall = Stopwatch.StartNew();
        var sim = new ClusterSimulation(scenario, InitialPlacement.Place(scenario, InitialPlacementStrategy.PowerAwareBestFit));
        var state = new PlanningState();
        var context = new PlanningContext(new Random(seed), scenario.Model.TickIntervalSeconds, scenario.Model.MigrationBandwidthShare);
        var session = new PlanningSession(new PlanningSessionOptions { Tick = TimeSpan.FromSeconds(scenario.Model.TickIntervalSeconds) });
        var cycle = new PlanningCycle(policy, session, context);
        var windows = new MigrationWindows(sim, scenario, options, mode, cycle, new SubIntervalDemand(scenario, variation, seed));
        var epoch = DateTimeOffset.UnixEpoch;
        sim.MigrationEnded += windows.OnMigrationEnded;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double tick = sim.NextTickTime;
            while (windows.Active && sim.Now < tick)
            {
                double next = Math.Min(tick, sim.Now + stepSeconds);
                windows.Step(next - sim.Now, epoch);
                sim.AdvanceTo(next);
            }

            if (!sim.AdvanceToNextTick())
            {
                break;
            }

            var now = epoch + TimeSpan.FromSeconds(sim.Now);
            sim.CapturePlanningState(state);
            cycle.Observe(state, now);
            windows.ClassifyAll();
            foreach (var decision in cycle.Plan(state).Decisions)
            {
                windows.TryStart(decision, now);
            }
        }

        sim.Finish();
        var summary = sim.Summary();
        return new ReservationRunResult(mode, summary.Migrations, windows.Deferred, summary.MeanMigrationSeconds ?? 0, summary.MeanDowntimeMs ?? 0,
            windows.Accounting, summary, wall.Elapsed.TotalSeconds);
    }
}
