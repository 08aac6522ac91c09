using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>A migration the executor started and still tracks.</summary>
/// <param name="PlanId">The plan it came from.</param>
/// <param name="Decision">The decision.</param>
/// <param name="Operation">The provider's operation.</param>
/// <param name="StartedAt">When it started.</param>
public sealed record RunningMigration(string PlanId, MigrationDecision Decision, IMigrationOperation Operation, DateTimeOffset StartedAt);

/// <summary>
/// Executes plans safely: the executor's own limits (concurrent migrations per host and cluster, migrations per
/// time window, per-VM cooldown and failure backoff, maintenance) apply on top of the planner's; a reservation
/// (in-flight shadow slot) is taken before the provider is called and released whatever happens; transient call
/// failures are retried (starting a migration is idempotent in every provider); every start, skip and outcome is
/// audited. One plan executes at a time.
/// </summary>
internal sealed class MigrationExecutor
{
    private readonly IHypervisor _hypervisor;
    private readonly RuntimeOptions _options;
    private readonly TimeProvider _time;
    private readonly RuntimeServices _services;
    private readonly SemaphoreSlim _serial = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<VmId, RunningMigration> _running = [];
    private readonly Dictionary<VmId, DateTimeOffset> _lastStart = [];
    private readonly Dictionary<VmId, DateTimeOffset> _backoffUntil = [];

    // Where VMs are, as far as migrations and the change feed tell; decisions planned on an older view are skipped.
    private readonly Dictionary<VmId, HostId> _knownHost = [];
    private int _recording; // finished migrations whose outcome is being counted and audited
    private readonly Queue<DateTimeOffset> _window = new();
    private readonly Dictionary<HostId, int> _perHost = [];

    public MigrationExecutor(IHypervisor hypervisor, RuntimeOptions options, TimeProvider time, RuntimeServices services)
    {
        _hypervisor = hypervisor;
        _options = options;
        _time = time;
        _services = services;
    }

    public long Started;
    public long Succeeded;
    public long Failed;
    public long Skipped;

    /// <summary>Most migrations that ever ran at once touching one host, and in the cluster (for checks).</summary>
    public int PeakPerHost { get; private set; }

    public int PeakInCluster { get; private set; }

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
                foreach (var r in _running.Values)
                {
                    if (r.Operation.Completion.IsCompleted)
                    {
                        return true;
                    }
                }

                return false;
            }
        }
    }

    /// <summary>Executes the decisions of a plan in order; returns how many migrations started.</summary>
    public async Task<int> ExecuteAsync(string planId, MigrationPlan plan, IReadOnlySet<HostId> maintenance, CancellationToken cancellationToken)
    {
        await _serial.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var activity = RuntimeTelemetry.ActivitySource.StartActivity("vmeco.execute");
            activity?.SetTag("vmeco.plan", planId);
            int started = 0;
            foreach (var decision in plan.Decisions)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (await TryStartAsync(planId, decision, maintenance, cancellationToken).ConfigureAwait(false))
                {
                    started++;
                }
            }

            activity?.SetTag("vmeco.started", started);
            return started;
        }
        finally
        {
            _serial.Release();
        }
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
        using (var cts = new CancellationTokenSource(deadline, _time))
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

        using var second = new CancellationTokenSource(deadline, _time);
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

    // A finished migration's handler records its outcome (audit, release) just after the provider completes it;
    // stopping waits for those handlers so the trail is complete before the runtime reports it stopped. Bounded
    // in real time: a handler blocked on a failing audit store must not hold the stop forever.
    private async Task OutcomesRecordedAsync()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (HasUnhandledCompletions && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    private async Task<bool> TryStartAsync(string planId, MigrationDecision d, IReadOnlySet<HostId> maintenance, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        string? reason;
        lock (_gate)
        {
            reason = SkipReason(d, maintenance, now);
            if (reason is null)
            {
                // Count it now so a concurrent check sees it; undone below if the call fails.
                Reserve(d, now);
            }
        }

        if (reason is not null)
        {
            Interlocked.Increment(ref Skipped);
            _services.Instruments.DecisionsSkipped.Add(1);
            RuntimeLog.DecisionSkipped(_services.Logger, d.Vm.Value, d.Target.Value, reason);
            await _services.AuditAsync(AuditKind.DecisionSkipped, planId, d.Vm, d.Source, d.Target, $"not executed: {reason}").ConfigureAwait(false);
            return false;
        }

        _services.OnMigrationStarting(d, now);
        IMigrationOperation operation;
        try
        {
            operation = await _services.CallAsync("StartMigration",
                ct => _hypervisor.StartMigrationAsync(new MigrationRequest(d.Vm, d.Target), ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Whatever went wrong (provider error, timeout, the runtime stopping mid-call), the reservation and the
            // counts are undone and the failure recorded; only then does a shutdown's cancellation propagate.
            bool stopping = ex is OperationCanceledException && cancellationToken.IsCancellationRequested;
            lock (_gate)
            {
                Unreserve(d);
                _backoffUntil[d.Vm] = now + _options.FailureBackoff;
            }

            _services.OnMigrationEnded(d.Vm, moved: false);
            await RecordFailureAsync(planId, d, stopping, ex.Message,
                stopping ? "could not start: the runtime stopped during the call" : $"could not start: {ex.Message}").ConfigureAwait(false);
            if (stopping || ex is not (HypervisorException or TimeoutException or OperationCanceledException))
            {
                throw;
            }

            return false;
        }

        var running = new RunningMigration(planId, d, operation, now);
        lock (_gate)
        {
            _running[d.Vm] = running;
            int inCluster = _running.Count;
            PeakInCluster = Math.Max(PeakInCluster, inCluster);
        }

        Interlocked.Increment(ref Started);
        _services.Instruments.MigrationsStarted.Add(1);
        RuntimeLog.MigrationStarted(_services.Logger, d.Vm.Value, d.Source.Value, d.Target.Value, d.Rule);
        await _services.AuditAsync(AuditKind.MigrationStarted, planId, d.Vm, d.Source, d.Target, $"migration {operation.Id} started ({d.Stage}/{d.Rule})").ConfigureAwait(false);
        _ = TrackAsync(running);
        return true;
    }

    /// <summary>Notes a VM's host from the change feed (null: it left).</summary>
    public void NoteHost(VmId vm, HostId? host)
    {
        lock (_gate)
        {
            if (host is { } h)
            {
                _knownHost[vm] = h;
            }
            else
            {
                _knownHost.Remove(vm);
                _backoffUntil.Remove(vm);
                _lastStart.Remove(vm);
            }
        }
    }

    private string? SkipReason(MigrationDecision d, IReadOnlySet<HostId> maintenance, DateTimeOffset now)
    {
        if (_running.ContainsKey(d.Vm))
        {
            return "the VM is already migrating";
        }

        if (_knownHost.TryGetValue(d.Vm, out var knownHost) && knownHost != d.Source)
        {
            // Planned on an older observation: the VM has moved since, so the decision's costs and limits no longer apply.
            return $"the plan is stale: the VM is on {knownHost} now, not {d.Source}";
        }

        if (maintenance.Contains(d.Target))
        {
            return $"target {d.Target} is in maintenance";
        }

        if (_backoffUntil.TryGetValue(d.Vm, out var until) && now < until)
        {
            return $"the VM's last migration failed; retry after {until:O}";
        }

        if (_options.VmCooldown > TimeSpan.Zero && _lastStart.TryGetValue(d.Vm, out var last) && now - last < _options.VmCooldown)
        {
            return $"the VM moved {now - last} ago (cooldown {_options.VmCooldown})";
        }

        if (_running.Count >= _options.MaxConcurrentMigrationsInCluster)
        {
            return $"{_running.Count} migrations already run in the cluster (limit {_options.MaxConcurrentMigrationsInCluster})";
        }

        foreach (var host in new[] { d.Source, d.Target })
        {
            if (_perHost.GetValueOrDefault(host) >= _options.MaxConcurrentMigrationsPerHost)
            {
                return $"{_perHost[host]} migrations already touch host {host} (limit {_options.MaxConcurrentMigrationsPerHost})";
            }
        }

        while (_window.Count > 0 && now - _window.Peek() >= _options.RateWindow)
        {
            _window.Dequeue();
        }

        if (_window.Count >= _options.MaxMigrationsPerWindow)
        {
            return $"{_window.Count} migrations started in the last {_options.RateWindow} (limit {_options.MaxMigrationsPerWindow})";
        }

        return null;
    }

    private void Reserve(MigrationDecision d, DateTimeOffset now)
    {
        _perHost[d.Source] = _perHost.GetValueOrDefault(d.Source) + 1;
        _perHost[d.Target] = _perHost.GetValueOrDefault(d.Target) + 1;
        PeakPerHost = Math.Max(PeakPerHost, Math.Max(_perHost[d.Source], _perHost[d.Target]));
        _window.Enqueue(now);
        _lastStart[d.Vm] = now;
    }

    private void Unreserve(MigrationDecision d)
    {
        _perHost[d.Source]--;
        _perHost[d.Target]--;
    }

    private async Task TrackAsync(RunningMigration running)
    {
        MigrationResult? result = null;
        Exception? error = null;
        using (var timeout = new CancellationTokenSource(_options.MigrationTimeout, _time))
        {
            try
            {
                result = await running.Operation.Completion.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Too long: ask the provider to cancel; a cancelled migration leaves the VM on its source.
                try
                {
                    await running.Operation.CancelAsync(CancellationToken.None).ConfigureAwait(false);
                    result = await running.Operation.Completion.ConfigureAwait(false);
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
        _services.Quiescence.Enter();
        Interlocked.Increment(ref _recording); // still "unhandled" after it leaves _running, until counted and audited
        try
        {
            await RecordOutcomeAsync(running, result, error).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _recording);
            _services.Quiescence.Exit();
        }
    }

    private async Task RecordOutcomeAsync(RunningMigration running, MigrationResult? result, Exception? error)
    {
        var d = running.Decision;
        var now = _time.GetUtcNow();
        bool succeeded = result?.Outcome == Hypervisor.MigrationOutcome.Succeeded;
        lock (_gate)
        {
            _running.Remove(d.Vm);
            Unreserve(d);
            if (result is not null)
            {
                _knownHost[d.Vm] = result.FinalHost;
            }

            if (!succeeded)
            {
                _backoffUntil[d.Vm] = now + _options.FailureBackoff;
            }
        }

        _services.OnMigrationEnded(d.Vm, succeeded);
        double seconds = (now - running.StartedAt).TotalSeconds;
        if (succeeded)
        {
            Interlocked.Increment(ref Succeeded);
            _services.Instruments.MigrationsSucceeded.Add(1);
            RuntimeLog.MigrationEnded(_services.Logger, d.Vm.Value, d.Target.Value, "succeeded", seconds);
            await _services.AuditAsync(AuditKind.MigrationSucceeded, running.PlanId, d.Vm, d.Source, d.Target,
                $"migration {running.Operation.Id} succeeded in {result!.Duration.TotalSeconds:F1} s").ConfigureAwait(false);
        }
        else
        {
            bool cancelled = result?.Outcome == Hypervisor.MigrationOutcome.Cancelled;
            string why = result?.Error?.Message ?? error?.Message ?? (cancelled ? "cancelled" : "unknown");
            await RecordFailureAsync(running.PlanId, d, cancelled, why,
                $"migration {running.Operation.Id} {(cancelled ? "cancelled" : "failed")}: {why}; the VM stays on {result?.FinalHost.Value ?? d.Source.Value}").ConfigureAwait(false);
        }

        _services.Signal();
    }

    // Counted, measured, logged and audited alike whether the start call or the migration itself failed.
    private async Task RecordFailureAsync(string planId, MigrationDecision d, bool cancelled, string why, string message)
    {
        Interlocked.Increment(ref Failed);
        _services.Instruments.MigrationsFailed.Add(1);
        RuntimeLog.MigrationFailed(_services.Logger, d.Vm.Value, d.Target.Value, why);
        await _services.AuditAsync(cancelled ? AuditKind.MigrationCancelled : AuditKind.MigrationFailed, planId, d.Vm, d.Source, d.Target, message).ConfigureAwait(false);
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

/// <summary>What the executor needs from the runtime (audit, telemetry, reservations, provider calls).</summary>
internal sealed class RuntimeServices(
    Quiescence quiescence,
    IAuditStore audit,
    TimeProvider time,
    RuntimeInstruments instruments,
    ILogger logger,
    RuntimeOptions options,
    Action<MigrationDecision, DateTimeOffset> onStarting,
    Action<VmId, bool> onEnded,
    Action signal)
{
    public RuntimeInstruments Instruments => instruments;

    public Quiescence Quiescence => quiescence;

    public ILogger Logger => logger;

    public long AuditFailures;

    public void OnMigrationStarting(MigrationDecision d, DateTimeOffset now) => onStarting(d, now);

    public void OnMigrationEnded(VmId vm, bool moved) => onEnded(vm, moved);

    public void Signal() => signal();

    /// <summary>Appends to the audit trail; a failing store is logged and counted, never fatal.</summary>
    public async Task AuditAsync(AuditKind kind, string? planId, VmId? vm, HostId? source, HostId? target, string message, string? detail = null)
    {
        try
        {
            await audit.AppendAsync(new AuditRecord(0, time.GetUtcNow(), kind, planId, vm, source, target, message, detail)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Interlocked.Increment(ref AuditFailures);
            logger.LogError(ex, "The audit store failed to record {Kind}: {Message}", kind, message);
        }
    }

    /// <summary>A provider call with a timeout (on the injected clock) and retries of transient failures.</summary>
    public async Task<T> CallAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var timeout = new CallTimeout(quiescence, linked);
            try
            {
                using (time.CreateTimer(static t => ((CallTimeout)t!).Fire(), timeout, options.CallTimeout, Timeout.InfiniteTimeSpan))
                {
                    return await quiescence.Waiting(call(linked.Token).WaitAsync(linked.Token)).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (timeout.Fired && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= options.CallRetries)
                {
                    throw new TimeoutException($"{operation} did not answer within {options.CallTimeout} ({attempt + 1} attempts).");
                }
            }
            catch (HypervisorException ex) when (ex.IsTransient && attempt < options.CallRetries)
            {
                // Retried after a short pause.
            }
            finally
            {
                timeout.Done();
            }

            await quiescence.DelayAsync(options.IterationBackoff * (1 << Math.Min(attempt, 10)), time, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// The timeout of one provider call. Firing counts the runtime busy until the call's caller has handled it, so a
/// virtual-clock driver never sees the runtime idle between a timeout and its handling.
/// </summary>
internal sealed class CallTimeout(Quiescence quiescence, CancellationTokenSource call)
{
    private readonly Lock _gate = new();
    private bool _done;

    public bool Fired { get; private set; }

    public void Fire()
    {
        lock (_gate)
        {
            if (_done)
            {
                return;
            }

            Fired = true;
            quiescence.Enter();
        }

        call.Cancel();
    }

    public void Done()
    {
        lock (_gate)
        {
            _done = true;
            if (Fired)
            {
                quiescence.Exit();
            }
        }
    }
}
