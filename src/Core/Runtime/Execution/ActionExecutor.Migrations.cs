using System.Text.Json;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>Migrations: started through the provider, tracked until they end, outcomes recorded, drained on stop.</summary>
internal sealed partial class ActionExecutor
{
    private readonly Dictionary<VmId, RunningMigration> _running = [];
    private int _recording; // finished migrations whose outcome is being counted and audited

    public int RunningCount
    {
        get
        {
            lock (_gate)
            {
                return _running.Count;
            }
        }
    }

    public IReadOnlyList<RunningMigration> Running
    {
        get
        {
            lock (_gate)
            {
                return [.. _running.Values];
            }
        }
    }

    /// <summary>VM to target of every migration in flight (for building planning states).</summary>
    public IReadOnlyDictionary<VmId, HostId> InFlight
    {
        get
        {
            lock (_gate)
            {
                return _running.ToDictionary(r => r.Key, r => r.Value.Decision.Target);
            }
        }
    }

    /// <summary>True while a finished migration's outcome is not yet counted and audited.</summary>
    public bool HasUnhandledCompletions
    {
        get
        {
            if (Volatile.Read(ref _recording) > 0)
            {
                return true;
            }

            lock (_gate)
            {
                return _running.Values.Any(r => r.Operation.Completion.IsCompleted);
            }
        }
    }

    private async Task<bool> StartMigrationAsync(Proposal proposal, MigrateAction action, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var d = action.Decision;
        if (CrossSet is { } crossing && crossing.Crosses(action) && !await crossing.ClearedAsync(proposal, action, cancellationToken).ConfigureAwait(false))
        {
            // Not (yet) accepted by the target set's leader: what its admission reserved is freed, nothing is called.
            lock (_gate)
            {
                _limits.Release(action, failed: false, now, called: false);
            }

            observer.OnMigrationEnded(d.Vm, moved: false, now);
            Count(MigrateAction.KindName, Skipped);
            return false;
        }

        if (!await RecordIntentAsync(proposal, action, now).ConfigureAwait(false))
        {
            return false;
        }

        var before = await core.ReadApplicationAsync(d.Vm, cancellationToken).ConfigureAwait(false);
        var reservation = observer.OnMigrationStarting(d, now, before);
        IMigrationOperation operation;
        string how = "started";
        try
        {
            operation = await core.Calls.CallAsync("StartMigration",
                ct => core.Hypervisor.StartMigrationAsync(new MigrationRequest(d.Vm, d.Target, StartOptions(reservation)) { ExpectedSource = d.Source }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The call may have reached the provider and its answer been lost: ask, do not assume.
            var resolved = await ResolveLostStartAsync(proposal, action, ex, cancellationToken).ConfigureAwait(false);
            if (resolved is null)
            {
                return false;
            }

            operation = resolved;
            how = "started (its first start call timed out; the provider reports it running)";
        }
        catch (Exception ex)
        {
            // Whatever went wrong (provider error, timeout, the runtime stopping mid-call), the limits and the
            // reservation are released and the failure recorded; only then does a shutdown's cancellation propagate.
            bool stopping = ex is OperationCanceledException && cancellationToken.IsCancellationRequested;
            lock (_gate)
            {
                _limits.Release(action, failed: true, core.Time.GetUtcNow());
            }

            observer.OnMigrationEnded(d.Vm, moved: false, core.Time.GetUtcNow());
            await RecordFailureAsync(proposal.Controller, proposal.PlanId, d, stopping, ex.Message,
                stopping ? "could not start: the runtime stopped during the call" : $"could not start: {ex.Message}").ConfigureAwait(false);
            if (stopping || ex is not (HypervisorException or TimeoutException or OperationCanceledException))
            {
                throw;
            }

            return false;
        }

        var running = new RunningMigration(proposal.PlanId, d, operation, now);
        lock (_gate)
        {
            _running[d.Vm] = running;
            _limits.Answered(d.Vm, core.Time.GetUtcNow());
        }

        Count(MigrateAction.KindName, Started);
        core.Instruments.Action(MigrateAction.KindName, "started", proposal.Controller, d.Source);
        RuntimeLog.MigrationStarted(core.Logger, d.Vm.Value, d.Source.Value, d.Target.Value, d.Rule);
        await core.Audit.AppendAsync(AuditKind.MigrationStarted, proposal.Controller, proposal.PlanId, d.Vm, d.Source, d.Target,
            $"migration {operation.Id} {how} ({d.Stage}/{d.Rule})", reservation?.ToJson()).ConfigureAwait(false);
        _ = TrackAsync(proposal.Controller, running, action);
        return true;
    }

    // A move with a reservation starts capped at the copy rate its request assumed (its spike is what was reserved);
    // the reservation controller moves the cap from there. Only where the provider can tune a move.
    private MigrationOptions? StartOptions(Reservations.InFlightReservation? reservation) =>
        reservation?.Request is { } request && core.Hypervisor.Capabilities.HasFlag(HypervisorCapabilities.MigrationTuning) && request.Explanation.CopyMiBps > 0
            ? new MigrationOptions { BandwidthMbps = request.Explanation.CopyMiBps * 8 }
            : null;

    private async Task TrackAsync(string controller, RunningMigration running, MigrateAction action)
    {
        // One span per migration, from the provider's acceptance to the outcome (an async method's Activity.Current
        // does not leak back into the executor's flow).
        using var span = RuntimeTelemetry.ActivitySource.StartActivity("vmeco.migration", System.Diagnostics.ActivityKind.Internal);
        span?.SetTag("vmeco.vm", running.Decision.Vm.Value);
        span?.SetTag("vmeco.source", running.Decision.Source.Value);
        span?.SetTag("vmeco.target", running.Decision.Target.Value);
        span?.SetTag("vmeco.plan", running.PlanId);
        span?.SetTag("vmeco.controller", controller);
        MigrationResult? result = null;
        Exception? error = null;
        using (var timeout = new CancellationTokenSource(core.Options.MigrationTimeout, core.Time))
        {
            try
            {
                result = await running.Operation.Completion.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Too long: ask the provider to cancel (a cancelled migration leaves the VM on its source) and give it
                // CallTimeout to confirm; an unconfirmed cancel is recorded as failed with its outcome unknown rather
                // than waited for without end.
                var grace = core.Options.CallTimeout;
                try
                {
                    using var confirm = new CancellationTokenSource(grace, core.Time);
                    await running.Operation.CancelAsync(confirm.Token).ConfigureAwait(false);
                    result = await running.Operation.Completion.WaitAsync(confirm.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!running.Operation.Completion.IsCompleted)
                {
                    error = new TimeoutException(
                        $"the migration ran past {core.Options.MigrationTimeout} and the provider did not confirm its cancel within {grace}; "
                        + "where the VM ends is unknown until the inventory reports it");
                }
                catch (Exception ex)
                {
                    error = ex;
                }
            }
            catch (Exception ex)
            {
                error = ex;
            }
        }

        // Busy from here until the outcome is recorded (until then the finished operation keeps the runtime from idling).
        using var busy = core.Quiet.Busy();
        Interlocked.Increment(ref _recording); // still "unhandled" after it leaves _running, until counted and audited
        try
        {
            await RecordOutcomeAsync(controller, running, action, result, error).ConfigureAwait(false);
            span?.SetTag("vmeco.action.outcome", result?.Outcome.ToString().ToLowerInvariant() ?? "unknown");
            span?.SetStatus(result?.Outcome == Hypervisor.MigrationOutcome.Succeeded ? System.Diagnostics.ActivityStatusCode.Ok : System.Diagnostics.ActivityStatusCode.Error,
                result?.Error?.Message ?? error?.Message);
        }
        finally
        {
            Interlocked.Decrement(ref _recording);
        }
    }

    private async Task RecordOutcomeAsync(string controller, RunningMigration running, MigrateAction action, MigrationResult? result, Exception? error)
    {
        var d = running.Decision;
        var now = core.Time.GetUtcNow();
        bool succeeded = result?.Outcome == Hypervisor.MigrationOutcome.Succeeded;
        lock (_gate)
        {
            _running.Remove(d.Vm);
            _limits.Release(action, failed: !succeeded, now);
            if (result is not null)
            {
                _limits.NoteHost(d.Vm, result.FinalHost);
            }
            else
            {
                _limits.ForgetHost(d.Vm); // unknown until the change feed or the next observation says
            }
        }

        observer.OnMigrationEnded(d.Vm, succeeded, now);
        double seconds = (now - running.StartedAt).TotalSeconds;
        if (succeeded)
        {
            Count(MigrateAction.KindName, Succeeded);
            core.Instruments.Action(MigrateAction.KindName, "succeeded", controller, d.Source);
            core.Instruments.MigrationDuration.Record(seconds, new KeyValuePair<string, object?>("vmeco.action.outcome", "succeeded"));
            RuntimeLog.MigrationEnded(core.Logger, d.Vm.Value, d.Target.Value, "succeeded", seconds);
            var after = await core.ReadApplicationAsync(d.Vm, CancellationToken.None).ConfigureAwait(false);
            string? learned = observer.OnMigrationOutcome(d, succeeded: true, result!.Duration.TotalSeconds, after);
            await core.Audit.AppendAsync(AuditKind.MigrationSucceeded, controller, running.PlanId, d.Vm, d.Source, d.Target,
                $"migration {running.Operation.Id} succeeded in {result.Duration.TotalSeconds:F1} s", learned).ConfigureAwait(false);
            if (observer.TakeSpikeMeasurement(d.Vm) is { } spike)
            {
                // No plan id: it is what the move taught, not its outcome.
                await core.Audit.AppendAsync(AuditKind.SpikeMeasured, ReservationController.ControllerName, null, d.Vm, d.Source, d.Target,
                    string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"the copy of {d.Vm} cost {d.Target} {spike.MeasuredMhz:F0} MHz against {spike.EstimatedMhz:F0} estimated (class {spike.WorkloadClass})"),
                    spike.ToJson()).ConfigureAwait(false);
            }
        }
        else
        {
            bool cancelled = result?.Outcome == Hypervisor.MigrationOutcome.Cancelled;
            string why = result?.Error?.Message ?? error?.Message ?? (cancelled ? "cancelled" : "unknown");
            core.Instruments.MigrationDuration.Record(seconds, new KeyValuePair<string, object?>("vmeco.action.outcome", cancelled ? "cancelled" : "failed"));
            await RecordFailureAsync(controller, running.PlanId, d, cancelled, why,
                $"migration {running.Operation.Id} {(cancelled ? "cancelled" : "failed")}: {why}; the VM stays on {result?.FinalHost.Value ?? d.Source.Value}").ConfigureAwait(false);
        }

        core.Quiet.Pulse();
    }

    // Counted, measured, logged and audited alike whether the start call or the migration itself failed.
    private async Task RecordFailureAsync(string controller, string planId, MigrationDecision d, bool cancelled, string why, string message)
    {
        Count(MigrateAction.KindName, Failed);
        core.Instruments.Action(MigrateAction.KindName, cancelled ? "cancelled" : "failed", controller, d.Source, cancelled ? "cancelled" : "provider");
        RuntimeLog.MigrationFailed(core.Logger, d.Vm.Value, d.Target.Value, why);
        // A cancellation says nothing about the target; a failure counts against it.
        string? learned = cancelled ? null : observer.OnMigrationOutcome(d, succeeded: false, 0, null);
        await core.Audit.AppendAsync(cancelled ? AuditKind.MigrationCancelled : AuditKind.MigrationFailed, controller, planId, d.Vm, d.Source, d.Target, message, learned)
            .ConfigureAwait(false);
    }

    /// <summary>Waits for running migrations until <paramref name="deadline"/>, then cancels the rest and waits again as long.</summary>
    public async Task<(int Completed, int Cancelled)> DrainAsync(TimeSpan deadline)
    {
        var running = Running;
        if (running.Count == 0)
        {
            await OutcomesRecordedAsync().ConfigureAwait(false); // one may have just left the running set
            return (0, 0);
        }

        var all = Task.WhenAll(running.Select(r => r.Operation.Completion));
        using (var cts = new CancellationTokenSource(deadline, core.Time))
        {
            try
            {
                await all.WaitAsync(cts.Token).ConfigureAwait(false);
                await OutcomesRecordedAsync().ConfigureAwait(false);
                return (running.Count, 0);
            }
            catch (OperationCanceledException)
            {
                // Deadline passed: cancel what still runs; a cancelled migration leaves the VM on its source.
            }
        }

        var remaining = running.Where(r => !r.Operation.Completion.IsCompleted).ToList();
        foreach (var r in remaining)
        {
            try
            {
                await r.Operation.CancelAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (HypervisorException)
            {
                // Already finishing; its outcome is recorded by the completion handler.
            }
        }

        using var second = new CancellationTokenSource(deadline, core.Time);
        try
        {
            await Task.WhenAll(remaining.Select(r => r.Operation.Completion)).WaitAsync(second.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The provider did not confirm in time; the completion handlers still run when it does.
        }

        await OutcomesRecordedAsync().ConfigureAwait(false);
        return (running.Count - remaining.Count, remaining.Count);
    }

    // Stopping waits for the completion handlers so the trail is complete before the runtime reports it stopped.
    // Bounded in real time: a handler blocked on a failing audit store must not hold the stop forever.
    private async Task OutcomesRecordedAsync()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (HasUnhandledCompletions && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    /// <summary>The audit detail of a decision: its explanation as JSON.</summary>
    internal static string Explain(MigrationDecision d) => JsonSerializer.Serialize(new
    {
        vm = d.Vm.Value,
        source = d.Source.Value,
        target = d.Target.Value,
        stage = d.Stage,
        rule = d.Rule,
        trigger = new { kind = d.Trigger.Kind, detail = d.Trigger.Detail, predicted = d.Trigger.PredictedUtilization, upper = d.Trigger.UpperBound, threshold = d.Trigger.Threshold },
        totalCost = d.TotalCost,
        costs = d.Costs.Select(c => new { scorer = c.Scorer, raw = c.RawCost, weighted = c.WeightedCost }),
        alternatives = d.Alternatives.Select(a => new { host = a.Host.Value, totalCost = double.IsFinite(a.TotalCost) ? a.TotalCost : (double?)null, rejectedBy = a.RejectedBy }),
        group = d.Group,
    });
}
