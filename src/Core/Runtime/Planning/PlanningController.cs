using System.Diagnostics;
using Microsoft.Extensions.Logging;
using VmEcosystem.Planning;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// The <c>planning</c> controller: takes each observation, feeds the forecasters (<see cref="PlanningCycle"/>), and
/// plans every <see cref="RuntimeOptions.PlanningInterval"/> or on a trigger (inventory or dependency changes, a
/// host's forecast crossing <see cref="RuntimeOptions.PlanOnForecastAbove"/>, maintenance, on demand). Each plan is
/// audited decision by decision with its explanation and proposed to the executor.
/// </summary>
internal sealed class PlanningController(RuntimeCore core, RuntimeModel model, QuietChannel<Observation> input, ForecasterCheckpoints checkpoints) : IRuntimeController
{
    public const string ControllerName = "planning";
    private DateTimeOffset _nextPlanAt;
    private bool[] _hotHosts = [];
    private readonly PlanningCycle _cycle = model.Cycle;
    private long _passes;
    private long _subscriberFailures;

    public string Name => ControllerName;

    /// <summary>The first periodic pass is one interval after start.</summary>
    public void Arm(DateTimeOffset start) => _nextPlanAt = start + core.Options.PlanningInterval;

    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>Exceptions thrown by <see cref="PlanMade"/> handlers (each logged; none stops planning).</summary>
    public long SubscriberFailures => Interlocked.Read(ref _subscriberFailures);

    /// <summary>Raised after every planning pass; a throwing handler is logged and never stops planning.</summary>
    public event Action<RuntimePlan>? PlanMade;

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        await EnsureGraphAsync(cancellationToken).ConfigureAwait(false);
        var (read, observation) = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (!read)
        {
            // Completed: the runtime is stopping.
            await core.Quiet.Waiting(Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
            return;
        }

        RuntimePlan? made;
        try
        {
            made = Plan(observation);
        }
        finally
        {
            lock (model.Gate)
            {
                model.SetLastState(observation.State);
            }
        }

        await checkpoints.SaveIfDueAsync(observation.Time, force: false, cancellationToken).ConfigureAwait(false);
        if (made is null)
        {
            return;
        }

        Notify(made, context.Logger);
        if (!core.Leadership.MayAct)
        {
            return; // a follower plans (its forecasters and planner stay warm for a takeover) but proposes nothing
        }

        // Sharded: only the moves out of the host sets this instance leads; the others are their leaders'.
        var actions = new List<ClusterAction>(made.Plan.Decisions.Count);
        foreach (var d in made.Plan.Decisions)
        {
            var action = new MigrateAction(d);
            if (core.Leadership.MayActOn(d.Source)) // a move into a set another instance leads goes by claim
            {
                actions.Add(action);
            }
        }

        string others = actions.Count < made.Plan.Decisions.Count ? $"; {made.Plan.Decisions.Count - actions.Count} in host sets other instances lead left to them" : string.Empty;
        await core.Audit.AppendAsync(AuditKind.PlanCreated, Name, made.PlanId, null, null, null,
            $"{made.Plan.Policy} planned {actions.Count} moves ({made.Trigger}){(made.Plan.Blocked.Count > 0 ? $"; {made.Plan.Blocked.Count} wanted moves blocked" : string.Empty)}{others}").ConfigureAwait(false);
        foreach (var action in actions)
        {
            var d = ((MigrateAction)action).Decision;
            await core.Audit.AppendAsync(AuditKind.DecisionPlanned, Name, made.PlanId, d.Vm, d.Source, d.Target,
                $"{d.Stage}/{d.Rule}: {d.Trigger.Detail}", ActionExecutor.Explain(d)).ConfigureAwait(false);
        }

        core.Proposals.Add(new Proposal(made.PlanId, Name, made.Trigger, made.Time, actions));
    }

    // Each handler on its own: one that throws is logged and counted, and the others and planning go on.
    private void Notify(RuntimePlan made, ILogger logger)
    {
        foreach (var handler in PlanMade?.GetInvocationList() ?? [])
        {
            try
            {
                ((Action<RuntimePlan>)handler)(made);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Interlocked.Increment(ref _subscriberFailures);
                logger.LogError(ex, "A PlanMade handler failed for {PlanId}; planning goes on", made.PlanId);
            }
        }
    }

    private RuntimePlan? Plan(Observation observation)
    {
        var state = observation.State;
        var maintenance = model.Maintenance();
        foreach (var host in maintenance)
        {
            int h = Array.IndexOf(state.HostIds, host, 0, state.HostCount);
            if (h >= 0)
            {
                state.HostAcceptsVms[h] = false;
            }
        }

        lock (model.Gate)
        {
            _cycle.Observe(state, observation.Time);
            model.Recheck.Refresh(state, observation.Time); // before the plan's tentative moves change the state
            model.View = ClusterViews.From(state, observation.Time, maintenance, model.Session.Forecasts, model.Session.Tick); // what was observed, not what is planned
            if (model.Session.LastOneStepError is { } error)
            {
                core.Instruments.ForecastError.Record(error);
            }

            string? trigger = observation.Trigger ?? ForecastTrigger(state);
            bool due = observation.Time >= _nextPlanAt;
            if (!due && trigger is null)
            {
                return null;
            }

            while (_nextPlanAt <= observation.Time)
            {
                _nextPlanAt += core.Options.PlanningInterval;
            }

            trigger ??= "periodic";
            using var activity = RuntimeTelemetry.ActivitySource.StartActivity("vmeco.plan");
            long start = Stopwatch.GetTimestamp();
            var plan = _cycle.Plan(state);
            core.Instruments.PlanningDuration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds);
            Interlocked.Increment(ref _passes);
            string id = core.NextPlanId();
            activity?.SetTag("vmeco.plan", id);
            activity?.SetTag("vmeco.policy", _cycle.Policy.Name);
            activity?.SetTag("vmeco.decisions", plan.Decisions.Count);
            activity?.SetTag("vmeco.trigger", trigger);
            RuntimeLog.Planned(core.Logger, id, _cycle.Policy.Name, plan.Decisions.Count, trigger);
            model.DependencyScore = model.Graph?.ClusterScore ?? double.NaN;
            return new RuntimePlan(id, plan, trigger, observation.Time);
        }
    }

    /// <summary>A host whose predicted upper utilisation newly crosses the configured share triggers a pass.</summary>
    private string? ForecastTrigger(PlanningState state)
    {
        if (core.Options.PlanOnForecastAbove is not { } threshold)
        {
            return null;
        }

        if (_hotHosts.Length != state.HostCount)
        {
            _hotHosts = new bool[state.HostCount];
        }

        var forecasts = model.Session.Forecasts;
        string? trigger = null;
        for (int h = 0; h < state.HostCount; h++)
        {
            double upper = 0;
            foreach (int v in state.HostVms[h])
            {
                if (state.VmHost[v] == h && v < forecasts.Count)
                {
                    upper += forecasts.Upper(v);
                }
            }

            bool hot = upper > threshold * state.HostTotalMips[h];
            if (hot && !_hotHosts[h])
            {
                trigger = "forecast";
            }

            _hotHosts[h] = hot;
        }

        return trigger;
    }

    // Loads the graph from the inventory before the first pass (and after a resync); the change feed keeps it
    // current in between. A failing call fails the iteration, which is retried with backoff.
    private async Task EnsureGraphAsync(CancellationToken cancellationToken)
    {
        lock (model.Gate)
        {
            if (model.Graph is null || model.GraphLoaded)
            {
                return;
            }
        }

        var inventory = await core.Calls.CallAsync("GetInventory", ct => core.Hypervisor.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false);
        lock (model.Gate)
        {
            if (!model.GraphLoaded)
            {
                model.Graph!.Load(inventory, model.Declarations); // the declarations in force, including those set at run time
                model.GraphLoaded = true;
            }
        }
    }
}
