using VmEcosystem.Cluster;

namespace VmEcosystem.Planning;

/// <summary>
/// The one planning loop step, shared by the hosted runtime's planning controller, the batch consolidation
/// benchmark and the ecosystem scenario: observe a state (forecasters, shadow slots, history through the
/// <see cref="PlanningSession"/>), plan with the policy, and tell the session when a planned migration starts and
/// ends, so its in-flight reservation lives exactly as long as the move.
/// </summary>
public sealed class PlanningCycle
{
    /// <summary>Creates a cycle.</summary>
    /// <param name="policy">The planning policy.</param>
    /// <param name="session">Forecasters, shadow slots and history kept between passes.</param>
    /// <param name="context">Randomness, tick length and the migration model of the passes.</param>
    /// <param name="observeAlways">Feed the forecasters even when the policy does not use them (the runtime does, for its forecast-error metric and triggers).</param>
    public PlanningCycle(IMigrationPolicy policy, PlanningSession session, PlanningContext context, bool observeAlways = false)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(context);
        Policy = policy;
        Session = session;
        Context = context;
        ObserveAlways = observeAlways;
    }

    /// <summary>The policy.</summary>
    public IMigrationPolicy Policy { get; }

    /// <summary>The session.</summary>
    public PlanningSession Session { get; }

    /// <summary>The context.</summary>
    public PlanningContext Context { get; }

    /// <summary>True when every observation feeds the forecasters, whatever the policy.</summary>
    public bool ObserveAlways { get; }

    /// <summary>Takes the state observed at <paramref name="now"/>: the clock of the next pass, and the forecasters when they are used.</summary>
    public void Observe(PlanningState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        Context.Now = now;
        if (ObserveAlways || Policy.UsesForecasts)
        {
            Session.Prepare(state, Context, now);
        }
    }

    /// <summary>Plans on the last observed state (a dry run: planning never executes anything).</summary>
    public MigrationPlan Plan(PlanningState state) => Policy.Plan(state, Context);

    /// <summary>A planned migration started: the session holds its in-flight reservation for <paramref name="duration"/> (plus grace).</summary>
    /// <param name="decision">The decision.</param>
    /// <param name="source">Where the VM was.</param>
    /// <param name="now">When it started.</param>
    /// <param name="duration">Its expected duration.</param>
    /// <param name="vmIndex">The VM's index in the last observed state (its forecast sizes the reservation), or -1.</param>
    /// <param name="memoryMiB">Its memory.</param>
    public void MigrationStarted(MigrationDecision decision, HostId source, DateTimeOffset now, TimeSpan duration, int vmIndex, double memoryMiB)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (!ObserveAlways && !Policy.UsesForecasts)
        {
            return;
        }

        var forecasts = Session.Forecasts;
        double upper = vmIndex >= 0 && vmIndex < forecasts.Count ? forecasts.Upper(vmIndex) : 0;
        Session.OnMigrationStarted(decision.Vm, source, decision.Target, now, duration, upper, memoryMiB);
    }

    /// <summary>A migration ended (whatever its outcome): its reservation is released.</summary>
    public void MigrationEnded(VmId vm) => Session.OnMigrationEnded(vm);
}
