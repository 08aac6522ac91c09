using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime.Tuning;

/// <summary>
/// Runs tuning runs in the background: at most <see cref="TuningServiceOptions.MaxConcurrentRuns"/> measure at once;
/// each run is recorded in the audit trail when it starts, resumes and ends (<see cref="AuditKind.TuningRunChanged"/>,
/// with its request), and checkpointed after every generation in the audit store's
/// <see cref="IRuntimeCheckpointStore"/>. At start the service reads the trail back: finished runs are listed again,
/// running ones resume from their last checkpoint (or from the start when they had none).
/// </summary>
internal sealed partial class TuningRunService : ITuningRuns, IHostedService, IDisposable
{
    private readonly IServiceProvider _services;
    private readonly TuningServiceOptions _options;
    private readonly TimeProvider _time;
    private readonly ApplicationMetricStore _store;
    private readonly ILogger _logger;
    private readonly Dictionary<string, TuningRun> _runs = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly List<Task> _executions = [];
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _turns;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Meter? _ownMeter;
    private readonly Counter<long> _measurements;
    private int _disposed;
    private Task? _watch;

    public TuningRunService(IServiceProvider services, IOptions<TuningServiceOptions> options, TimeProvider time, ApplicationMetricStore store, ILogger<TuningRunService>? logger = null)
    {
        _services = services;
        _options = options.Value;
        _time = time;
        _store = store;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _turns = new SemaphoreSlim(_options.MaxConcurrentRuns);
        var meter = services.GetService<IMeterFactory>()?.Create(RuntimeTelemetry.MeterName) ?? (_ownMeter = new Meter(RuntimeTelemetry.MeterName));
        _measurements = meter.CreateCounter<long>("vmeco.tuning.measurements", "{measurement}", "Configurations measured by tuning runs, by run and outcome (measured, failed).");
        meter.CreateObservableGauge("vmeco.tuning.runs.running", () => (long)List().Count(r => r.State == TuningRunState.Running), "{run}", "Tuning runs running.");
        Leads = () => services.GetService<EcosystemRuntime>()?.Status.Leadership is not { IsLeader: false };
    }

    /// <summary>Whether this instance leads the runtime (always, without a leader election): only the leader runs tuning runs.</summary>
    internal Func<bool> Leads { get; set; }

    /// <summary>How often leadership is checked: a new leader resumes the running runs, one that lost it hands them over.</summary>
    internal TimeSpan LeadershipCheck { get; set; } = TimeSpan.FromSeconds(5);

    private IAuditStore? Audit => _services.GetService<IAuditStore>();

    public TuningRunStatus Start(TuningRunRequest request)
    {
        var (space, goals, baseline) = TuningRequestValidation.Validate(request);
        if (!Leads())
        {
            throw new InvalidOperationException("This instance does not lead the runtime: start tuning runs on the leader, which runs them.");
        }

        if (_services.GetKeyedService<ITuningEvaluator>(request.Evaluator) is null)
        {
            throw new ArgumentException($"Evaluator: no tuning evaluator named '{request.Evaluator}' is registered (AddTuningEvaluator).");
        }

        var run = new TuningRun(request, space, goals, baseline, _time.GetUtcNow());
        lock (_gate)
        {
            if (_runs.ContainsKey(request.Id))
            {
                throw new InvalidOperationException($"A tuning run '{request.Id}' exists.");
            }

            Add(run);
        }

        Launch(run, resumed: false);
        return run.Status();
    }

    public TuningRunStatus? GetStatus(string id)
    {
        lock (_gate)
        {
            return _runs.GetValueOrDefault(id)?.Status();
        }
    }

    public IReadOnlyList<TuningRunStatus> List()
    {
        lock (_gate)
        {
            return [.. _order.Select(id => _runs[id].Status())];
        }
    }

    public IReadOnlyList<TuningEvaluationInfo> Evaluations(string id) => Find(id).Evaluations();

    public bool Cancel(string id)
    {
        var run = Find(id);
        if (run.State != TuningRunState.Running)
        {
            return false;
        }

        run.Cancellation.Cancel();
        return true;
    }

    public async Task<TuningRunStatus> WaitAsync(string id, CancellationToken cancellationToken = default) =>
        await Find(id).Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await AdoptAsync(Leads(), cancellationToken).ConfigureAwait(false);
        _watch = Task.Run(() => WatchAsync(_stopping.Token), CancellationToken.None);
    }

    // Reads the trail: runs not known here are listed (finished ones with what they found); with `resume`, every
    // running run this instance does not measure resumes from its last checkpoint.
    private async Task AdoptAsync(bool resume, CancellationToken cancellationToken)
    {
        if (Audit is not { } audit)
        {
            return;
        }

        foreach (var entry in await TuningTrail.ReadAsync(audit, cancellationToken).ConfigureAwait(false))
        {
            TuningRun? run;
            lock (_gate)
            {
                run = _runs.GetValueOrDefault(entry.Request.Id);
            }

            if (run is null)
            {
                try
                {
                    var (space, goals, baseline) = TuningRequestValidation.Validate(entry.Request);
                    run = new TuningRun(entry.Request, space, goals, baseline, entry.Status.StartedAt);
                }
                catch (ArgumentException ex)
                {
                    _logger.LogWarning(ex, "Tuning run {Run} in the audit trail cannot be read back", entry.Request.Id);
                    continue;
                }

                lock (_gate)
                {
                    if (_runs.ContainsKey(run.Request.Id))
                    {
                        continue;
                    }

                    Add(run);
                }

                if (entry.Status.State != TuningRunState.Running)
                {
                    if (await TuningTrail.LoadAsync(audit, run, cancellationToken).ConfigureAwait(false) is { } done)
                    {
                        run.Progress(done);
                    }

                    run.Restore(entry.Status);
                    run.Done.TrySetResult(run.Status());
                    continue;
                }
            }

            bool idle;
            lock (_gate)
            {
                idle = run.State == TuningRunState.Running && !run.Executing && entry.Status.State == TuningRunState.Running;
            }

            if (resume && idle)
            {
                // from the last checkpoint, wherever it was measured
                if (await TuningTrail.LoadAsync(audit, run, cancellationToken).ConfigureAwait(false) is { } checkpoint)
                {
                    run.Progress(checkpoint);
                }

                Launch(run, resumed: true);
            }
        }
    }

    // A new leader takes the running runs over; an instance that lost the lead hands its runs over (they stay running
    // in the trail, and the next leader resumes them from their last checkpoint).
    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        bool led = Leads();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(LeadershipCheck, _time, cancellationToken).ConfigureAwait(false);
                bool leads = Leads();
                if (leads)
                {
                    await AdoptAsync(resume: true, cancellationToken).ConfigureAwait(false);
                }
                else if (led)
                {
                    List<TuningRun> executing;
                    lock (_gate)
                    {
                        executing = [.. _runs.Values.Where(r => r.Executing)];
                    }

                    foreach (var run in executing)
                    {
                        await run.Handover.CancelAsync().ConfigureAwait(false);
                    }
                }

                led = leads;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Tuning runs: the leadership check failed; retried");
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] running;
        lock (_gate)
        {
            running = [.. _executions, .. _watch is null ? [] : new[] { _watch }];
        }

        await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    // Runs still measuring are cancelled as at a stop (they resume at the next start); the token source and the
    // semaphore are left to the collector, since a run may still be unwinding with them.
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stopping.Cancel();
            _ownMeter?.Dispose();
        }
    }

    private void Add(TuningRun run)
    {
        _runs[run.Request.Id] = run;
        _order.Add(run.Request.Id);
        // Forget the oldest finished runs beyond MaxRuns (their records stay in the audit trail).
        for (int i = 0; _order.Count > _options.MaxRuns && i < _order.Count;)
        {
            if (_runs[_order[i]].State != TuningRunState.Running)
            {
                _runs.Remove(_order[i]);
                _order.RemoveAt(i);
            }
            else
            {
                i++;
            }
        }
    }

    private TuningRun Find(string id)
    {
        lock (_gate)
        {
            return _runs.TryGetValue(id, out var run) ? run : throw new KeyNotFoundException($"No tuning run '{id}'.");
        }
    }

    private void Launch(TuningRun run, bool resumed)
    {
        lock (_gate)
        {
            if (run.Executing)
            {
                return;
            }

            run.Executing = true;
            if (run.Handover.IsCancellationRequested)
            {
                run.Handover = new CancellationTokenSource(); // measured here again after a handover
            }

            _executions.RemoveAll(t => t.IsCompleted);
            _executions.Add(Task.Run(() => ExecuteAsync(run, resumed)));
        }
    }
}
