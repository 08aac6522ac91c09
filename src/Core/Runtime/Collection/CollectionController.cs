using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;

namespace VmEcosystem.Runtime;

/// <summary>One observation of the cluster, owned by whoever holds it (its state returns to the pool).</summary>
internal sealed record Observation(DateTimeOffset Time, PlanningState State, string? Trigger);

/// <summary>
/// The <c>collection</c> controller: observes the cluster every <see cref="RuntimeOptions.MetricsInterval"/>, or at
/// once on a trigger, into a pooled <see cref="PlanningState"/> and queues it for planning. A provider that can fill
/// the state itself (<see cref="IPlanningStateSource"/>) does; any other is observed through its inventory and
/// metric samples (<see cref="InventoryStateBuilder"/>). Intervals missed while held up are skipped and counted.
/// </summary>
internal sealed class CollectionController(RuntimeCore core, RuntimeModel model, ActionExecutor executor) : IRuntimeController
{
    public const string ControllerName = "collection";
    private readonly InventoryStateBuilder _builder = new(dirtyRates: new Forecasting.DirtyRateEstimator(core.Options.DirtyRateEstimate));
    private readonly Lock _triggerGate = new();
    private TaskCompletionSource? _sleeper;
    private string? _pendingTrigger;
    private DateTimeOffset _lastEventPass = DateTimeOffset.MinValue;
    private DateTimeOffset _next;
    private long _observed;
    private long _dropped;

    public string Name => ControllerName;

    public long Observed => Interlocked.Read(ref _observed);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>The first observation is one interval after start.</summary>
    public void Arm(DateTimeOffset start) => _next = start + core.Options.MetricsInterval;

    public QuietChannel<Observation> Open()
    {
        var channel = new QuietChannel<Observation>(core.Quiet, Quiescence.Observations, core.Options.ObservationQueueCapacity, core.Options.ObservationFullMode,
            dropped =>
            {
                // DropOldest: the dropped observation never reaches the planner.
                CountDropped(1);
                model.ReturnState(dropped.State);
            });
        _output = channel;
        return channel;
    }

    private QuietChannel<Observation>? _output;

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        string? trigger = await SleepUntilDueOrTriggeredAsync(core.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        var now = core.Time.GetUtcNow();
        if (trigger is null && now < _next)
        {
            return;
        }

        if (now >= _next)
        {
            long missed = 0;
            while (_next <= now)
            {
                _next += core.Options.MetricsInterval;
                missed++;
            }

            if (missed > 1)
            {
                CountDropped(missed - 1);
                RuntimeLog.ObservationsDropped(core.Logger, Dropped);
            }
        }

        var state = model.RentState();
        DateTimeOffset time;
        try
        {
            time = await ObserveAsync(state, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            model.ReturnState(state);
            throw;
        }

        Interlocked.Increment(ref _observed);
        try
        {
            // Wait mode and full: back-pressure holds the collector; intervals passing meanwhile are skipped above.
            await _output!.WriteAsync(new Observation(time, state, trigger), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            model.ReturnState(state);
            throw;
        }
    }

    /// <summary>Asks for an observation (and so a planning pass) now; event triggers are debounced.</summary>
    public void Trigger(string reason, bool debounce)
    {
        var now = core.Time.GetUtcNow();
        lock (_triggerGate)
        {
            if (debounce && now - _lastEventPass < core.Options.EventDebounce)
            {
                return;
            }

            _lastEventPass = now;
            _pendingTrigger ??= reason;
            if (_sleeper is { } sleeper)
            {
                _sleeper = null;
                core.Quiet.Enter();
                sleeper.TrySetResult();
            }
        }
    }

    private void CountDropped(long n)
    {
        Interlocked.Add(ref _dropped, n);
        core.Instruments.ObservationsDropped.Add(n);
    }

    private async Task<DateTimeOffset> ObserveAsync(PlanningState state, CancellationToken cancellationToken)
    {
        var hypervisor = core.Hypervisor;
        if (hypervisor is IPlanningStateSource source)
        {
            // The provider owns every figure of a state it fills (the simulator's CloudSim mode must plan as CloudSim does).
            return await core.Calls.CallAsync("CapturePlanningState", ct => source.CapturePlanningStateAsync(state, ct), cancellationToken).ConfigureAwait(false);
        }

        var inventory = await core.Calls.CallAsync("GetInventory", ct => hypervisor.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false);
        var vmMetrics = await core.Calls.CallAsync("GetVmMetrics", ct => hypervisor.GetVmMetricsAsync(null, ct), cancellationToken).ConfigureAwait(false);
        IReadOnlyList<HostMetricSample> hostMetrics = (hypervisor.Capabilities & HypervisorCapabilities.HostMetrics) != 0
            ? await core.Calls.CallAsync("GetHostMetrics", ct => hypervisor.GetHostMetricsAsync(ct), cancellationToken).ConfigureAwait(false)
            : [];
        _builder.Build(state, inventory, vmMetrics, hostMetrics, executor.InFlight);
        model.DeriveRules(inventory.Vms);
        return inventory.Timestamp;
    }

    // Exactly one of (timer, trigger, cancellation) wakes the sleeping collector, and the waker counts the loop busy
    // again before waking it, so the runtime is never seen idle in between.
    private async Task<string?> SleepUntilDueOrTriggeredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        TaskCompletionSource sleeper;
        lock (_triggerGate)
        {
            if (_pendingTrigger is not null || now >= _next)
            {
                return TakeTriggerLocked();
            }

            sleeper = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _sleeper = sleeper;
        }

        void Wake(bool cancel)
        {
            lock (_triggerGate)
            {
                if (!ReferenceEquals(_sleeper, sleeper))
                {
                    return;
                }

                _sleeper = null;
                core.Quiet.Enter();
                if (cancel)
                {
                    sleeper.TrySetCanceled(cancellationToken);
                }
                else
                {
                    sleeper.TrySetResult();
                }
            }
        }

        // The timer exists before the loop stops counting busy: a driver must never see the runtime idle without it.
        using var timer = core.Time.CreateTimer(_ => Wake(false), null, _next - now, Timeout.InfiniteTimeSpan);
        using var registration = cancellationToken.Register(() => Wake(true));
        core.Quiet.Exit();
        await sleeper.Task.ConfigureAwait(false);
        lock (_triggerGate)
        {
            return TakeTriggerLocked();
        }
    }

    private string? TakeTriggerLocked()
    {
        var t = _pendingTrigger;
        _pendingTrigger = null;
        return t;
    }
}
