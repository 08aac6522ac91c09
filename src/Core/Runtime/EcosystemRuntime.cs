using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Runtime.Leadership;

namespace VmEcosystem.Runtime;

/// <summary>
/// The runtime: a host of small controllers connected by bounded queues, and one executor. <em>collection</em>
/// observes the cluster; <em>planning</em> feeds the forecasters and plans; <em>execution</em> applies each action
/// kind's mode (dry run, approval, automatic) and runs the executor; <em>inventory</em> follows the provider's change
/// feed. Applications add controllers of their own (<see cref="RuntimeComponents.Controllers"/>, or
/// <c>builder.AddController&lt;T&gt;()</c>); every action of every controller goes through the same executor, limits,
/// modes and audit. Every controller survives failing iterations (logged, counted, audited, retried with backoff).
/// All timing is on the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed partial class EcosystemRuntime : IAsyncDisposable
{
    private readonly RuntimeCore _core;
    private readonly RuntimeModel _model;
    private readonly ActionExecutor _executor;
    private readonly ControllerHost _host;
    private readonly CollectionController _collection;
    private readonly PlanningController _planning;
    private readonly ForecasterCheckpoints _checkpoints;
    private readonly ExecutionController _execution;
    private readonly ActionRequests _requests;
    private readonly IReadOnlyList<IRuntimeController> _controllers;
    private readonly ILogger _logger;
    private readonly Leadership.LeadershipController? _leadership;
    private QuietChannel<Observation>? _observations;
    private CancellationTokenSource? _stopping;

    /// <summary>Creates a runtime (not started).</summary>
    /// <param name="hypervisor">The provider.</param>
    /// <param name="policy">The planning policy (the predictive one by default in DI).</param>
    /// <param name="options">Runtime options (validated here too, naming the bad setting).</param>
    /// <param name="timeProvider">The clock every controller uses.</param>
    /// <param name="components">Audit store, randomness, logging, metrics, ecosystem graph and application controllers.</param>
    public EcosystemRuntime(IHypervisor hypervisor, IMigrationPolicy policy, IOptions<RuntimeOptions> options, TimeProvider timeProvider, RuntimeComponents? components = null)
    {
        ArgumentNullException.ThrowIfNull(hypervisor);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var validation = new RuntimeOptionsValidator().Validate(null, options.Value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(RuntimeOptions), typeof(RuntimeOptions), validation.Failures);
        }

        components ??= new RuntimeComponents();
        var o = options.Value;
        _logger = components.Loggers?.CreateLogger<EcosystemRuntime>() ?? (ILogger)NullLogger.Instance;
        var outcomes = o.LearnFromOutcomes ? new OutcomeRecorder(new Ecosystem.Learning.MigrationOutcomeLearner(), components.Graph, o.FailureBackoff) : null;
        // Always a rule set: VM labels from the provider can add rules at any inventory read (PlacementLabels).
        var constraints = components.Constraints ?? new PlacementConstraints();
        Policy = Compose(policy, components.Graph, constraints: true, outcomes);
        var session = new PlanningSession((components.Session ?? new PlanningSessionOptions()) with
        {
            Tick = components.Session?.Tick ?? o.MetricsInterval,
            TrackForecastError = true,
        });
        // One set of limits: plans stay within what the executor will start, so a plan is executable as made.
        var context = new PlanningContext(components.Random ?? new Random(42), o.MetricsInterval.TotalSeconds)
        {
            ExecutorLimits = new ExecutorConcurrency(o.MaxConcurrentMigrationsPerHost, o.MaxConcurrentMigrationsInCluster),
        };
        context.With(constraints);

        var cycle = new PlanningCycle(Policy, session, context, observeAlways: true);
        var reservations = o.Reservations is { Mode: not VmEcosystem.Reservations.ReservationMode.None } r ? new ReservationTracker(r, session) : null;
        _model = new RuntimeModel(cycle, components.Graph, components.Declarations, o.ObservationQueueCapacity + 2, new PlacementRecheck(constraints, o.RecheckCapacity))
        {
            Outcomes = outcomes,
            Constraints = constraints,
            Reservations = reservations,
        };
        var instruments = new RuntimeInstruments(components.MeterFactory, Gauges);
        var standing = new Leadership.LeadershipState(components.LeaderElection is null ? null : o.Leadership, timeProvider);
        _core = new RuntimeCore(hypervisor, o, timeProvider, components.Audit ?? new InMemoryAuditStore(), instruments, _logger)
        {
            Leadership = standing,
            ApplicationMetrics = components.ApplicationMetrics,
            ActionRestorers = components.ActionRestorers,
        };
        Audit = new FlushingAuditStore(_core.Audit, o.CallTimeout);
        var crossSet = components.LeaderElection is not null && o.Leadership.ShardByHostSet
            ? new Leadership.CrossSetMoves(_core, _model, components.LeaderElection as IMoveClaims)
            : null;
        _executor = new ActionExecutor(_core, _model) { CrossSet = crossSet };
        _host = new ControllerHost(_core, components.Loggers);
        _collection = new CollectionController(_core, _model, _executor);
        _observations = _collection.Open();
        _checkpoints = new ForecasterCheckpoints(_core, _model, _logger);
        _planning = new PlanningController(_core, _model, _observations, _checkpoints);
        _execution = new ExecutionController(_core, _model, _executor);
        _requests = new ActionRequests(_core, _model, _executor, _execution);
        var steeringController = reservations is null ? null : new ReservationController(_core, _model, _executor, reservations);
        standing.OnLead = steeringController is null ? null : steeringController.Wake;
        IRuntimeController[] steering = steeringController is null ? [] : [steeringController];
        _leadership = components.LeaderElection is { } election ? new Leadership.LeadershipController(_core, election, o.Leadership, TakeOverAsync, crossSet) : null;
        IRuntimeController[] electing = _leadership is null ? [] : [_leadership];
        _controllers = [.. electing, _collection, _planning, _execution, new InventoryController(_core, _model, _executor, _collection), .. steering, .. components.Controllers];
        ControllerHost.Validate(_controllers);
    }

    /// <summary>The default execution mode.</summary>
    public ExecutionMode Mode => _core.Options.Mode;

    /// <summary>The policy the runtime plans with (the configured one, with evacuation and the ecosystem added).</summary>
    public IMigrationPolicy Policy { get; }

    /// <summary>The audit trail (a query first waits, up to <see cref="RuntimeOptions.CallTimeout"/>, for the records appended before it to be written).</summary>
    public IAuditStore Audit { get; }

    /// <summary>The planning session (forecasters, ledger, history); tests read it under the model's gate.</summary>
    internal Planning.PlanningSession Session => _model.Session;

    /// <summary>
    /// What the runtime learned from its own moves (duration over expectation per VM type, failures per target, move
    /// patterns and their application gains), restored from the audit trail at start; null when
    /// <see cref="RuntimeOptions.LearnFromOutcomes"/> is off.
    /// </summary>
    public Ecosystem.Learning.MigrationOutcomeLearner? Learner => _model.Outcomes?.Learner;

    /// <summary>The controllers the runtime hosts, built-in ones first.</summary>
    public IReadOnlyList<string> Controllers => [.. _controllers.Select(c => c.Name)];

    /// <summary>Migrations running now.</summary>
    public IReadOnlyList<RunningMigration> RunningMigrations => _executor.Running;

    /// <summary>Plans waiting for approval.</summary>
    public IReadOnlyList<PendingPlan> PendingPlans => _execution.Pending;

    /// <summary>Raised after every planning pass (on the planning controller; a throwing handler is logged and never stops planning).</summary>
    public event Action<RuntimePlan>? PlanMade
    {
        add => _planning.PlanMade += value;
        remove => _planning.PlanMade -= value;
    }

    /// <summary>Reservations held in the shadow-slot ledger (the ledger is thread-safe: reading never waits for a planning pass).</summary>
    public IReadOnlyList<ShadowSlot> Reservations => _model.Session.Ledger.Snapshot();

    /// <summary>
    /// The correction the migration reservations have learnt for a workload class's copy spike from the moves measured
    /// so far (the destination's CPU the copy really cost, against the pre-copy model), and how many moves taught it;
    /// (1, 0) before any, or without reservations.
    /// </summary>
    public (double Factor, int Samples) MigrationSpikeCorrectionOf(string? workloadClass)
    {
        lock (_model.Gate)
        {
            return _model.Reservations?.CorrectionOf(workloadClass) ?? (1.0, 0);
        }
    }

    /// <summary>The counters and state now (never waits for a planning pass).</summary>
    public RuntimeStatus Status
    {
        get
        {
            var actions = _executor.Counts;
            var m = actions.GetValueOrDefault(MigrateAction.KindName) ?? new ActionCounts(0, 0, 0, 0);
            return new RuntimeStatus
            {
                Running = _stopping is { IsCancellationRequested: false },
                Mode = _core.Options.Mode,
                Observations = _collection.Observed,
                ObservationsDropped = _collection.Dropped,
                PlanningPasses = _planning.Passes,
                Migrations = (m.Started, m.Succeeded, m.Failed, m.Skipped),
                Actions = actions,
                MigrationsRunning = _executor.RunningCount,
                PeakConcurrency = _executor.Peak,
                LoopErrors = _host.Errors,
                LoopsAlive = _host.Alive,
                PendingApprovals = _execution.Pending.Count,
                QueueDepths = (_observations?.Count ?? 0, _core.Proposals.Count),
                HostsInMaintenance = [.. _model.Maintenance()],
                Reservations = _model.Session.Ledger.Count,
                AuditFailures = _core.Audit.Failures,
                AuditPending = _core.Audit.Pending,
                AuditLost = _core.Audit.Lost,
                SubscriberFailures = _planning.SubscriberFailures,
                Leadership = _core.Leadership.Status,
            };
        }
    }

    /// <summary>Starts the controllers. The first observation happens one <see cref="RuntimeOptions.MetricsInterval"/> after start.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_stopping is not null)
        {
            throw new InvalidOperationException("The runtime has already been started; create a new one to start again.");
        }

        _stopping = new CancellationTokenSource();
        var o = _core.Options;
        await _core.Audit.AppendAsync(AuditKind.RuntimeStarted, null, null, null, null, null,
            $"runtime started: mode {o.Mode}, policy {Policy.Name}, metrics every {o.MetricsInterval}, planning every {o.PlanningInterval}; controllers {string.Join(", ", Controllers)}")
            .ConfigureAwait(false);
        RuntimeLog.Started(_logger, o.Mode, Policy.Name);
        // What a previous process set (declarations, maintenance) and the limits its recent actions impose come back first.
        string restored = await RestoreAsync(cancellationToken).ConfigureAwait(false);
        RuntimeLog.Restored(_logger, restored);
        await _core.Audit.AppendAsync(AuditKind.RuntimeStarted, null, null, null, null, null, restored).ConfigureAwait(false);
        // Intents a stopped or killed process left without outcome are resolved against the provider before any plan.
        // With an election only the leader does it, when it takes the lead (a follower would close a live leader's).
        if (_leadership is not null)
        {
            using var busy = _core.Quiet.Busy(); // a virtual clock's driver waits for it
            await _leadership.BeatAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (await _executor.ReconcileAsync(cancellationToken).ConfigureAwait(false) is > 0 and var reconciled)
        {
            await _core.Audit.AppendAsync(AuditKind.RuntimeStarted, null, null, null, null, null,
                $"reconciled {reconciled} actions intended before the last stop without a recorded outcome").ConfigureAwait(false);
        }

        var now = _core.Time.GetUtcNow();
        _collection.Arm(now);
        _planning.Arm(now);
        _host.Start(_controllers, _stopping.Token);
    }

    /// <summary>
    /// Stops the controllers, then awaits running migrations up to <see cref="RuntimeOptions.ShutdownDeadline"/> and
    /// cancels what still runs (a cancelled migration leaves its VM on the source); nothing is abandoned half-way.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopping is null || _stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _observations?.Complete();
        _core.Proposals.Complete();
        try
        {
            await _host.WhenStopped.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Controllers end by cancellation.
        }

        var (completed, cancelled) = await _executor.DrainAsync(_core.Options.ShutdownDeadline).ConfigureAwait(false);
        _model.ReleaseHoldsAtStop();
        if (_leadership is not null)
        {
            await _leadership.ReleaseAsync().ConfigureAwait(false); // after the drain: what it started has its outcome recorded
        }

        await _checkpoints.SaveIfDueAsync(_core.Time.GetUtcNow(), force: true, cancellationToken).ConfigureAwait(false);
        RuntimeLog.Stopped(_logger, completed + cancelled, cancelled == 0 ? "awaited" : $"awaited ({cancelled} cancelled at the deadline)");
        await _core.Audit.AppendAsync(AuditKind.RuntimeStopped, null, null, null, null, null,
            $"runtime stopped; {completed} running migrations completed, {cancelled} cancelled at the deadline").ConfigureAwait(false);
        try
        {
            // What the runtime did is in the store when StopAsync returns (unless the store still fails: then it is retried until disposal).
            await _core.Audit.FlushAsync(cancellationToken).WaitAsync(_core.Options.ShutdownDeadline + _core.Options.CallTimeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            RuntimeLog.AuditBehind(_logger, _core.Audit.Pending);
        }
    }

    /// <summary>
    /// Completes when the runtime has no runnable work: no queued observation or proposal, no controller busy, no
    /// finished migration whose outcome is not yet recorded. Drivers of a virtual clock call it before advancing time.
    /// </summary>
    public async Task WhenIdleAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var changed = _core.Quiet.Changed;
            if (_core.Quiet.IsQuiet && !_executor.HasUnhandledCompletions)
            {
                return;
            }

            // A completion handler pulses when it finishes; the short real-time fallback only guards against a missed pulse.
            await Task.WhenAny(changed, Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Asks for an observation and a planning pass now.</summary>
    public void RequestPlanning(string trigger = "on-demand") => _collection.Trigger(trigger, debounce: false);

    /// <summary>Approves a plan waiting for approval and executes it (actions that became invalid are skipped and audited).</summary>
    /// <returns>How many actions started.</returns>
    public Task<int> ApproveAsync(string planId, CancellationToken cancellationToken = default) => _execution.ApproveAsync(planId, cancellationToken);

    /// <summary>Rejects a plan waiting for approval.</summary>
    public Task RejectAsync(string planId, string? reason = null) => _execution.RejectAsync(planId, reason);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _core.Audit.DisposeAsync().ConfigureAwait(false);
        _core.Instruments.Dispose();
        _stopping?.Dispose();
    }

    private static IMigrationPolicy Compose(IMigrationPolicy policy, EcosystemGraph? graph, bool constraints, OutcomeRecorder? outcomes)
    {
        if (policy is not MigrationPlanner planner)
        {
            return policy;
        }

        if (outcomes is not null && !planner.Scorers.Any(s => s is Ecosystem.Learning.MigrationFailureScorer))
        {
            // Targets where the runtime's recent moves failed cost more, and one where most fail is left alone until
            // its failure backoff has passed (nothing changes until a move fails).
            planner = planner.With(filters: [new BrokenHostFilter(outcomes.IsBroken)], scorers: [new Ecosystem.Learning.MigrationFailureScorer(outcomes.Learner)]);
        }

        if (!planner.Stages.Any(s => s is EvacuationStage))
        {
            planner = planner.WithStagesFirst(new EvacuationStage());
        }

        if (constraints && !planner.Filters.Any(f => f is PlacementConstraintFilter))
        {
            planner = planner.With(filters: [new PlacementConstraintFilter()]);
        }

        if (constraints && !planner.Scorers.Any(s => s is PlacementPreferenceScorer))
        {
            planner = planner.With(scorers: [new PlacementPreferenceScorer()]);
        }

        if (graph is not null && !planner.Filters.Any(f => f is VmEcosystem.Ecosystem.Planning.DependencyGuardFilter))
        {
            planner = VmEcosystem.Ecosystem.Planning.EcosystemPlanning.WithEcosystem(planner, graph);
        }

        return planner;
    }

    // Gauges never take the model lock: a long planning pass must not block a metrics scrape.
    private RuntimeGauges Gauges() =>
        new(_observations?.Count ?? 0, _core.Proposals.Count, _executor.RunningCount, _model.Session.Ledger.Count, _model.DependencyScore,
            _core.Audit.Pending, _core.Audit.Failures, _core.Audit.Lost, _core.Leadership.Enabled ? _core.Leadership.MayAct : null);
}
