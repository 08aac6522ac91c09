using System.Diagnostics;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

public sealed partial class EcosystemRuntime
{
    private PlanningState? _lastState;

    /// <summary>One observation of the cluster, owned by whoever holds it (its state returns to the pool).</summary>
    private sealed record Observation(DateTimeOffset Time, PlanningState State, string? Trigger);

    /// <summary>Runs one loop: iterations until stop; a failing iteration is logged, counted, audited and retried with backoff.</summary>
    // The caller has counted the loop busy (Enter) before starting it, so the runtime is never idle before its loops run.
    private async Task Supervise(string name, Func<CancellationToken, Task> iteration, CancellationToken cancellationToken)
    {
        lock (_loopsAlive)
        {
            _loopsAlive.Add(name);
            _loopErrors.TryAdd(name, 0);
        }

        await Task.Yield();
        int attempt = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await iteration(cancellationToken).ConfigureAwait(false);
                    attempt = 0;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    attempt++;
                    var delay = TimeSpan.FromTicks(Math.Min(_options.MaxIterationBackoff.Ticks, _options.IterationBackoff.Ticks << Math.Min(attempt - 1, 20)));
                    lock (_loopsAlive)
                    {
                        _loopErrors[name]++;
                    }

                    _instruments.LoopErrors.Add(1, new KeyValuePair<string, object?>("loop", name));
                    RuntimeLog.LoopFailed(_logger, ex, name, attempt, delay);
                    await _services.AuditAsync(AuditKind.LoopError, null, null, null, null, $"{name} loop failed (attempt {attempt}): {ex.Message}").ConfigureAwait(false);
                    try
                    {
                        await _quiet.DelayAsync(delay, _time, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            _quiet.Exit();
            lock (_loopsAlive)
            {
                _loopsAlive.Remove(name);
            }
        }
    }

    // ------------------------------------------------------------------ collection

    private DateTimeOffset _nextObservation;

    private async Task CollectOnceAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();

        // Sleep until the next interval or an early trigger.
        string? trigger = await SleepUntilDueOrTriggeredAsync(now, cancellationToken).ConfigureAwait(false);
        now = _time.GetUtcNow();
        if (trigger is null && now < _nextObservation)
        {
            return;
        }

        if (now >= _nextObservation)
        {
            // Intervals missed while the loop was held up are skipped, not caught up.
            long missed = 0;
            while (_nextObservation <= now)
            {
                _nextObservation += _options.MetricsInterval;
                missed++;
            }

            if (missed > 1)
            {
                Interlocked.Add(ref _dropped, missed - 1);
                _instruments.ObservationsDropped.Add(missed - 1);
                RuntimeLog.ObservationsDropped(_logger, Interlocked.Read(ref _dropped));
            }
        }

        var state = RentState();
        DateTimeOffset time;
        try
        {
            time = await ObserveAsync(state, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ReturnState(state);
            throw;
        }

        Interlocked.Increment(ref _observationCount);
        var observation = new Observation(time, state, trigger);
        _quiet.Queued(Quiescence.Observations);
        if (!_observations!.Writer.TryWrite(observation))
        {
            // Wait mode and full: back-pressure holds the collector; intervals passing meanwhile are skipped above.
            try
            {
                await _quiet.Waiting(_observations.Writer.WriteAsync(observation, cancellationToken).AsTask()).ConfigureAwait(false);
            }
            catch
            {
                _quiet.Dequeued(Quiescence.Observations);
                ReturnState(state);
                throw;
            }
        }
    }

    private async Task<DateTimeOffset> ObserveAsync(PlanningState state, CancellationToken cancellationToken)
    {
        if (_hypervisor is IPlanningStateSource source)
        {
            return await _services.CallAsync("CapturePlanningState", ct => source.CapturePlanningStateAsync(state, ct), cancellationToken).ConfigureAwait(false);
        }

        var inventory = await _services.CallAsync("GetInventory", ct => _hypervisor.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false);
        var vmMetrics = await _services.CallAsync("GetVmMetrics", ct => _hypervisor.GetVmMetricsAsync(null, ct), cancellationToken).ConfigureAwait(false);
        IReadOnlyList<HostMetricSample> hostMetrics = (_hypervisor.Capabilities & HypervisorCapabilities.HostMetrics) != 0
            ? await _services.CallAsync("GetHostMetrics", ct => _hypervisor.GetHostMetricsAsync(ct), cancellationToken).ConfigureAwait(false)
            : [];
        _builder.Build(state, inventory, vmMetrics, hostMetrics, _executor.InFlight);
        return inventory.Timestamp;
    }

    private PlanningState RentState()
    {
        lock (_statePool)
        {
            return _statePool.Count > 0 ? _statePool.Pop() : new PlanningState();
        }
    }

    private void ReturnState(PlanningState state)
    {
        lock (_statePool)
        {
            // Bounded: queue capacity plus the ones in use; extra states are left to the GC.
            if (_statePool.Count < _options.ObservationQueueCapacity + 2)
            {
                _statePool.Push(state);
            }
        }
    }

    private readonly Lock _triggerGate = new();
    private TaskCompletionSource? _sleeper;

    // Exactly one of (timer, trigger, cancellation) wakes the sleeping collector, and the waker counts the loop busy
    // again before waking it, so the runtime is never seen idle in between.
    private async Task<string?> SleepUntilDueOrTriggeredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        TaskCompletionSource sleeper;
        lock (_triggerGate)
        {
            if (_pendingTrigger is not null || now >= _nextObservation)
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
                _quiet.Enter();
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
        using var timer = _time.CreateTimer(_ => Wake(false), null, _nextObservation - now, Timeout.InfiniteTimeSpan);
        using var registration = cancellationToken.Register(() => Wake(true));
        _quiet.Exit();
        await sleeper.Task.ConfigureAwait(false);
        lock (_triggerGate)
        {
            return TakeTriggerLocked();
        }
    }

    private void Trigger(string reason, bool debounce)
    {
        var now = _time.GetUtcNow();
        lock (_triggerGate)
        {
            if (debounce && now - _lastEventPass < _options.EventDebounce)
            {
                return;
            }

            _lastEventPass = now;
            _pendingTrigger ??= reason;
            if (_sleeper is { } sleeper)
            {
                _sleeper = null;
                _quiet.Enter();
                sleeper.TrySetResult();
            }
        }
    }

    private string? TakeTriggerLocked()
    {
        var t = _pendingTrigger;
        _pendingTrigger = null;
        return t;
    }

    // ------------------------------------------------------------------ planning

    private async Task PlanOnceAsync(CancellationToken cancellationToken)
    {
        await EnsureGraphAsync(cancellationToken).ConfigureAwait(false);
        var reader = _observations!.Reader;
        if (!reader.TryRead(out var observation))
        {
            if (!await _quiet.WaitingToRead(Quiescence.Observations, reader.WaitToReadAsync(cancellationToken).AsTask()).ConfigureAwait(false))
            {
                // Completed: the runtime is stopping.
                await _quiet.Waiting(Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
                return;
            }

            if (!reader.TryRead(out observation))
            {
                return;
            }
        }

        _quiet.Dequeued(Quiescence.Observations);
        RuntimePlan? made = null;
        try
        {
            made = Plan(observation);
        }
        finally
        {
            lock (_model)
            {
                if (_lastState is { } previous && !ReferenceEquals(previous, observation.State))
                {
                    ReturnState(previous);
                }

                _lastState = observation.State;
            }
        }

        if (made is null)
        {
            return;
        }

        PlanMade?.Invoke(made);
        await _services.AuditAsync(AuditKind.PlanCreated, made.PlanId, null, null, null,
            $"{made.Plan.Policy} planned {made.Plan.Decisions.Count} moves ({made.Trigger}, mode {_options.Mode}){(made.Plan.Blocked.Count > 0 ? $"; {made.Plan.Blocked.Count} wanted moves blocked" : string.Empty)}").ConfigureAwait(false);
        foreach (var d in made.Plan.Decisions)
        {
            await _services.AuditAsync(AuditKind.DecisionPlanned, made.PlanId, d.Vm, d.Source, d.Target,
                $"{d.Stage}/{d.Rule}: {d.Trigger.Detail}", MigrationExecutor.Explain(d)).ConfigureAwait(false);
        }

        _quiet.Queued(Quiescence.Plans);
        if (!_plans!.Writer.TryWrite(made))
        {
            _quiet.Dequeued(Quiescence.Plans);
        }
    }

    private RuntimePlan? Plan(Observation observation)
    {
        var state = observation.State;
        lock (_maintenance)
        {
            foreach (var host in _maintenance)
            {
                int h = Array.IndexOf(state.HostIds, host, 0, state.HostCount);
                if (h >= 0)
                {
                    state.HostAcceptsVms[h] = false;
                }
            }
        }

        lock (_model)
        {
            _context.Now = observation.Time;
            _session.Prepare(state, _context, observation.Time);
            if (_session.LastOneStepError is { } error)
            {
                _instruments.ForecastError.Record(error);
            }

            string? trigger = observation.Trigger ?? ForecastTrigger(state);
            bool due = observation.Time >= _nextPlanAt;
            if (!due && trigger is null)
            {
                return null;
            }

            if (due)
            {
                while (_nextPlanAt <= observation.Time)
                {
                    _nextPlanAt += _options.PlanningInterval;
                }
            }

            using var activity = RuntimeTelemetry.ActivitySource.StartActivity("vmeco.plan");
            long start = Stopwatch.GetTimestamp();
            var plan = _policy.Plan(state, _context);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            _instruments.PlanningDuration.Record(seconds);
            Interlocked.Increment(ref _passes);
            string id = $"plan-{Interlocked.Increment(ref _planSequence):D6}";
            activity?.SetTag("vmeco.plan", id);
            activity?.SetTag("vmeco.policy", _policy.Name);
            activity?.SetTag("vmeco.decisions", plan.Decisions.Count);
            activity?.SetTag("vmeco.trigger", trigger ?? "periodic");
            RuntimeLog.Planned(_logger, id, _policy.Name, plan.Decisions.Count, trigger ?? "periodic");
            Volatile.Write(ref _dependencyScore, _graph?.ClusterScore ?? double.NaN);
            return new RuntimePlan(id, plan, trigger ?? "periodic", observation.Time);
        }
    }

    /// <summary>A host whose predicted upper utilisation newly crosses the configured share triggers a pass.</summary>
    private string? ForecastTrigger(PlanningState state)
    {
        if (_options.PlanOnForecastAbove is not { } threshold)
        {
            return null;
        }

        if (_hotHosts.Length != state.HostCount)
        {
            _hotHosts = new bool[state.HostCount];
        }

        var forecasts = _session.Forecasts;
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
    // current in between. A failing call fails the planning iteration, which is retried with backoff.
    private async Task EnsureGraphAsync(CancellationToken cancellationToken)
    {
        lock (_model)
        {
            if (_graph is null || _graphLoaded)
            {
                return;
            }
        }

        var inventory = await _services.CallAsync("GetInventory", ct => _hypervisor.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false);
        lock (_model)
        {
            if (!_graphLoaded)
            {
                _graph!.Load(inventory, _declarations);
                _graphLoaded = true;
            }
        }
    }

    // ------------------------------------------------------------------ execution

    private async Task ExecuteOnceAsync(CancellationToken cancellationToken)
    {
        var reader = _plans!.Reader;
        if (!reader.TryRead(out var item))
        {
            if (!await _quiet.WaitingToRead(Quiescence.Plans, reader.WaitToReadAsync(cancellationToken).AsTask()).ConfigureAwait(false))
            {
                await _quiet.Waiting(Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
                return;
            }

            if (!reader.TryRead(out item))
            {
                return;
            }
        }

        // Taken: the loop is busy until the plan is handled.
        _quiet.Dequeued(Quiescence.Plans);
        ExpireApprovals();
        switch (_options.Mode)
        {
            case ExecutionMode.DryRun:
                break;
            case ExecutionMode.Approve when item.Plan.Decisions.Count > 0:
                var pending = new PendingPlan(item.PlanId, item.Plan, item.Time, item.Time + _options.ApprovalTimeout);
                lock (_pending)
                {
                    _pending[item.PlanId] = pending;
                }

                await _services.AuditAsync(AuditKind.PlanAwaitingApproval, item.PlanId, null, null, null,
                    $"{item.Plan.Decisions.Count} moves wait for approval until {pending.ExpiresAt:O}").ConfigureAwait(false);
                break;
            case ExecutionMode.Automatic when item.Plan.Decisions.Count > 0:
                await _executor.ExecuteAsync(item.PlanId, item.Plan, MaintenanceSet(), cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private void ExpireApprovals()
    {
        var now = _time.GetUtcNow();
        List<PendingPlan> expired;
        lock (_pending)
        {
            expired = _pending.Values.Where(p => p.ExpiresAt <= now).ToList();
            foreach (var p in expired)
            {
                _pending.Remove(p.PlanId);
            }
        }

        foreach (var p in expired)
        {
            _ = _services.AuditAsync(AuditKind.PlanDiscarded, p.PlanId, null, null, null, $"expired without approval at {p.ExpiresAt:O}");
        }
    }

    // ------------------------------------------------------------------ inventory

    private async Task WatchInventoryAsync(CancellationToken cancellationToken)
    {
        if ((_hypervisor.Capabilities & HypervisorCapabilities.InventoryEvents) == 0)
        {
            await _quiet.Waiting(Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
            return;
        }

        var feed = _hypervisor.WatchInventoryAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (await _quiet.Waiting(feed.MoveNextAsync().AsTask()).ConfigureAwait(false))
            {
                OnInventoryChange(feed.Current);
            }
        }
        finally
        {
            await feed.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void OnInventoryChange(InventoryChange change)
    {
        if (change is VmMoved movedVm)
        {
            _executor.NoteHost(movedVm.Vm, movedVm.To);
        }
        else if (change is VmRemoved removed)
        {
            _executor.NoteHost(removed.Vm, null);
        }

        bool own;
        lock (_model)
        {
            if (_graph is not null && _graphLoaded)
            {
                if (change is InventoryResyncRequired)
                {
                    _graphLoaded = false;
                }
                else
                {
                    _graph.Apply(change);
                }
            }

            own = change is VmMoved moved && _ownMoves.Remove(moved.Vm);
        }

        // Our own migrations completing are not news; anything else may warrant a pass.
        if (!own && _options.PlanOnInventoryChange)
        {
            Trigger("inventory", debounce: true);
        }
    }
}
