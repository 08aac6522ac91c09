using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
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

namespace VmEcosystem.Runtime;

/// <summary>A plan waiting for approval.</summary>
/// <param name="PlanId">Its id (pass it to <see cref="EcosystemRuntime.ApproveAsync"/>).</param>
/// <param name="Plan">The plan with its explanations.</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="ExpiresAt">When it is discarded unless approved.</param>
public sealed record PendingPlan(string PlanId, MigrationPlan Plan, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>A plan the runtime made, with why it was made.</summary>
/// <param name="PlanId">Its id.</param>
/// <param name="Plan">The plan.</param>
/// <param name="Trigger">What started the pass (<c>periodic</c>, <c>inventory</c>, <c>dependencies</c>, <c>forecast</c>, <c>maintenance</c>, <c>on-demand</c>).</param>
/// <param name="Time">When.</param>
public sealed record RuntimePlan(string PlanId, MigrationPlan Plan, string Trigger, DateTimeOffset Time);

/// <summary>The runtime's counters and state at one moment.</summary>
public sealed record RuntimeStatus
{
    /// <summary>True between start and stop.</summary>
    public required bool Running { get; init; }

    /// <summary>Execution mode.</summary>
    public required ExecutionMode Mode { get; init; }

    /// <summary>Observations taken.</summary>
    public required long Observations { get; init; }

    /// <summary>Observations dropped or skipped because planning was behind.</summary>
    public required long ObservationsDropped { get; init; }

    /// <summary>Planning passes.</summary>
    public required long PlanningPasses { get; init; }

    /// <summary>Migrations started, succeeded, failed (including calls that failed to start), skipped by the executor's limits.</summary>
    public required (long Started, long Succeeded, long Failed, long Skipped) Migrations { get; init; }

    /// <summary>Migrations running now.</summary>
    public required int MigrationsRunning { get; init; }

    /// <summary>Most migrations that ran at once touching one host, and in the cluster.</summary>
    public required (int PerHost, int InCluster) PeakConcurrency { get; init; }

    /// <summary>Failed iterations per loop (each was retried).</summary>
    public required IReadOnlyDictionary<string, long> LoopErrors { get; init; }

    /// <summary>Loops that are running (all four while the runtime runs).</summary>
    public required IReadOnlyList<string> LoopsAlive { get; init; }

    /// <summary>Plans waiting for approval.</summary>
    public required int PendingApprovals { get; init; }

    /// <summary>Items queued now between collection and planning, and between planning and execution (bounded by the capacities).</summary>
    public required (int Observations, int Plans) QueueDepths { get; init; }

    /// <summary>Hosts in maintenance.</summary>
    public required IReadOnlyList<HostId> HostsInMaintenance { get; init; }

    /// <summary>Shadow-slot reservations held.</summary>
    public required int Reservations { get; init; }

    /// <summary>Audit appends that failed (logged; the runtime goes on).</summary>
    public required long AuditFailures { get; init; }
}

/// <summary>
/// The runtime: four loops connected by bounded channels. <em>Collection</em> observes the cluster every
/// <see cref="RuntimeOptions.MetricsInterval"/> (or at once on a trigger) into a planning state; <em>planning</em>
/// feeds the forecasters and plans every <see cref="RuntimeOptions.PlanningInterval"/> or on triggers (inventory and
/// dependency changes, forecasts crossing a threshold, maintenance); <em>execution</em> dry-runs, queues for approval
/// or executes each plan within its limits; <em>inventory</em> follows the provider's change feed (ecosystem graph,
/// triggers). Every loop survives failing iterations (logged, counted, audited, retried with backoff). All timing
/// is on the injected <see cref="TimeProvider"/>. Start and stop it directly or through the hosted service that
/// <c>AddVmEcosystem</c> registers.
/// </summary>
public sealed partial class EcosystemRuntime : IAsyncDisposable
{
    private const string CollectionLoop = "collection";
    private const string PlanningLoop = "planning";
    private const string ExecutionLoop = "execution";
    private const string InventoryLoop = "inventory";

    private readonly IHypervisor _hypervisor;
    private readonly IMigrationPolicy _policy;
    private readonly RuntimeOptions _options;
    private readonly TimeProvider _time;
    private readonly IAuditStore _audit;
    private readonly ILogger _logger;
    private readonly EcosystemGraph? _graph;
    private readonly PlanningSession _session;
    private readonly PlanningContext _context;
    private readonly Lock _model = new();
    private readonly Quiescence _quiet = new();
    private readonly RuntimeInstruments _instruments;
    private readonly RuntimeServices _services;
    private readonly MigrationExecutor _executor;
    private readonly InventoryStateBuilder _builder = new();
    private readonly Stack<PlanningState> _statePool = new();
    private readonly Dictionary<string, PendingPlan> _pending = [];
    private readonly HashSet<HostId> _maintenance = [];
    private readonly Dictionary<string, long> _loopErrors = [];
    private readonly HashSet<string> _loopsAlive = [];
    private readonly HashSet<VmId> _ownMoves = [];
    private Channel<Observation>? _observations;
    private Channel<RuntimePlan>? _plans;
    private CancellationTokenSource? _stopping;
    private Task[] _loops = [];
    private string? _pendingTrigger;
    private DateTimeOffset _nextPlanAt;
    private DateTimeOffset _lastEventPass = DateTimeOffset.MinValue;
    private bool[] _hotHosts = [];
    private long _observationCount;
    private long _dropped;
    private long _passes;
    private long _planSequence;
    private bool _graphLoaded;

    /// <summary>Creates a runtime (not started).</summary>
    /// <param name="hypervisor">The provider.</param>
    /// <param name="policy">The planning policy (the predictive one by default in DI).</param>
    /// <param name="options">Runtime options.</param>
    /// <param name="timeProvider">The clock every loop uses.</param>
    /// <param name="audit">Where the audit trail goes (null: in memory).</param>
    /// <param name="random">Seeded randomness for the planner.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="meterFactory">Meter factory (null: a standalone meter).</param>
    /// <param name="graph">The ecosystem graph, when dependency declarations are used.</param>
    /// <param name="declarations">Declarations loaded into the graph at start.</param>
    /// <param name="sessionOptions">Forecasting settings of the planning session.</param>
    public EcosystemRuntime(
        IHypervisor hypervisor,
        IMigrationPolicy policy,
        IOptions<RuntimeOptions> options,
        TimeProvider timeProvider,
        IAuditStore? audit = null,
        Random? random = null,
        ILogger<EcosystemRuntime>? logger = null,
        IMeterFactory? meterFactory = null,
        EcosystemGraph? graph = null,
        IEnumerable<VmDeclaration>? declarations = null,
        PlanningSessionOptions? sessionOptions = null)
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

        _hypervisor = hypervisor;
        _options = options.Value;
        _time = timeProvider;
        _audit = audit ?? new InMemoryAuditStore();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _graph = graph;
        _declarations = declarations?.ToList() ?? [];
        _policy = Compose(policy, graph);
        _session = new PlanningSession((sessionOptions ?? new PlanningSessionOptions()) with
        {
            Tick = sessionOptions?.Tick ?? _options.MetricsInterval,
            TrackForecastError = true,
        });
        _context = new PlanningContext(random ?? new Random(42), _options.MetricsInterval.TotalSeconds);
        _instruments = new RuntimeInstruments(meterFactory, Gauges);
        _services = new RuntimeServices(_quiet, _audit, _time, _instruments, _logger, _options, OnMigrationStarting, OnMigrationEnded, _quiet.Pulse);
        _executor = new MigrationExecutor(_hypervisor, _options, _time, _services);
    }

    private readonly List<VmDeclaration> _declarations;

    /// <summary>The execution mode.</summary>
    public ExecutionMode Mode => _options.Mode;

    /// <summary>The policy the runtime plans with (the configured one, with evacuation and the ecosystem added).</summary>
    public IMigrationPolicy Policy => _policy;

    /// <summary>The audit trail.</summary>
    public IAuditStore Audit => _audit;

    /// <summary>The ecosystem graph, when one is used.</summary>
    public EcosystemGraph? Graph => _graph;

    /// <summary>Migrations running now.</summary>
    public IReadOnlyList<RunningMigration> RunningMigrations => _executor.Running;

    /// <summary>Plans waiting for approval.</summary>
    public IReadOnlyList<PendingPlan> PendingPlans
    {
        get
        {
            lock (_pending)
            {
                return [.. _pending.Values.OrderBy(p => p.CreatedAt)];
            }
        }
    }

    /// <summary>Raised after every planning pass (on the planning loop; keep handlers short).</summary>
    public event Action<RuntimePlan>? PlanMade;

    /// <summary>Reservations held in the shadow-slot ledger (the ledger is thread-safe: reading never waits for a planning pass).</summary>
    public IReadOnlyList<ShadowSlot> Reservations => _session.Ledger.Snapshot();

    /// <summary>The counters and state now.</summary>
    public RuntimeStatus Status
    {
        get
        {
            lock (_loopsAlive)
            {
                return new RuntimeStatus
                {
                    Running = _stopping is { IsCancellationRequested: false },
                    Mode = _options.Mode,
                    Observations = Interlocked.Read(ref _observationCount),
                    ObservationsDropped = Interlocked.Read(ref _dropped),
                    PlanningPasses = Interlocked.Read(ref _passes),
                    Migrations = (Interlocked.Read(ref _executor.Started), Interlocked.Read(ref _executor.Succeeded), Interlocked.Read(ref _executor.Failed),
                        Interlocked.Read(ref _executor.Skipped)),
                    MigrationsRunning = _executor.RunningCount,
                    PeakConcurrency = (_executor.PeakPerHost, _executor.PeakInCluster),
                    LoopErrors = new Dictionary<string, long>(_loopErrors),
                    LoopsAlive = [.. _loopsAlive.Order(StringComparer.Ordinal)],
                    PendingApprovals = PendingPlans.Count,
                    QueueDepths = (_observations?.Reader.Count ?? 0, _plans?.Reader.Count ?? 0),
                    HostsInMaintenance = MaintenanceHosts(),
                    Reservations = Reservations.Count,
                    AuditFailures = Interlocked.Read(ref _services.AuditFailures),
                };
            }
        }
    }

    /// <summary>Starts the loops. The first observation happens one <see cref="RuntimeOptions.MetricsInterval"/> after start.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_stopping is not null)
        {
            throw new InvalidOperationException("The runtime has already been started; create a new one to start again.");
        }

        _stopping = new CancellationTokenSource();
        var now = _time.GetUtcNow();
        _nextPlanAt = now + _options.PlanningInterval;
        _nextObservation = now + _options.MetricsInterval;
        _observations = Channel.CreateBounded<Observation>(
            new BoundedChannelOptions(_options.ObservationQueueCapacity) { FullMode = _options.ObservationFullMode, SingleReader = true, SingleWriter = true },
            dropped =>
            {
                // DropOldest: the dropped observation never reaches the planner.
                Interlocked.Increment(ref _dropped);
                _instruments.ObservationsDropped.Add(1);
                ReturnState(dropped.State);
                _quiet.Dequeued(Quiescence.Observations);
            });
        _plans = Channel.CreateBounded<RuntimePlan>(
            new BoundedChannelOptions(_options.PlanQueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            dropped =>
            {
                _ = _services.AuditAsync(AuditKind.PlanDiscarded, dropped.PlanId, null, null, null, "superseded by a newer plan before execution");
                _quiet.Dequeued(Quiescence.Plans);
            });
        await _services.AuditAsync(AuditKind.RuntimeStarted, null, null, null, null,
            $"runtime started: mode {_options.Mode}, policy {_policy.Name}, metrics every {_options.MetricsInterval}, planning every {_options.PlanningInterval}").ConfigureAwait(false);
        RuntimeLog.Started(_logger, _options.Mode, _policy.Name);
        var token = _stopping.Token;
        for (int i = 0; i < 4; i++)
        {
            _quiet.Enter();
        }

        _loops =
        [
            Supervise(CollectionLoop, CollectOnceAsync, token),
            Supervise(PlanningLoop, PlanOnceAsync, token),
            Supervise(ExecutionLoop, ExecuteOnceAsync, token),
            Supervise(InventoryLoop, WatchInventoryAsync, token),
        ];
    }

    /// <summary>
    /// Stops the loops, then awaits running migrations up to <see cref="RuntimeOptions.ShutdownDeadline"/> and cancels
    /// what still runs (a cancelled migration leaves its VM on the source); nothing is abandoned half-way.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopping is null || _stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _observations?.Writer.TryComplete();
        _plans?.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Loops end by cancellation.
        }

        var (completed, cancelled) = await _executor.DrainAsync(_options.ShutdownDeadline).ConfigureAwait(false);
        RuntimeLog.Stopped(_logger, completed + cancelled, cancelled == 0 ? "awaited" : $"awaited ({cancelled} cancelled at the deadline)");
        await _services.AuditAsync(AuditKind.RuntimeStopped, null, null, null, null,
            $"runtime stopped; {completed} running migrations completed, {cancelled} cancelled at the deadline").ConfigureAwait(false);
    }

    /// <summary>
    /// Completes when the runtime has no runnable work: no queued observation or plan, no loop busy, no finished
    /// migration whose outcome is not yet recorded. Drivers of a virtual clock call it before advancing time.
    /// </summary>
    public async Task WhenIdleAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var changed = _quiet.Changed;
            if (_quiet.IsQuiet && !_executor.HasUnhandledCompletions)
            {
                return;
            }

            // A completion handler pulses when it finishes; the short real-time fallback only guards against a missed pulse.
            await Task.WhenAny(changed, Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Asks for an observation and a planning pass now (debounced like other triggers).</summary>
    public void RequestPlanning(string trigger = "on-demand") => Trigger(trigger, debounce: false);

    /// <summary>Approves a plan waiting for approval and executes it (decisions that became invalid are skipped and audited).</summary>
    /// <returns>How many migrations started.</returns>
    public async Task<int> ApproveAsync(string planId, CancellationToken cancellationToken = default)
    {
        PendingPlan? pending;
        lock (_pending)
        {
            _pending.Remove(planId, out pending);
        }

        if (pending is null)
        {
            throw new InvalidOperationException($"No plan '{planId}' waits for approval (it may have expired, been rejected or approved already).");
        }

        await _services.AuditAsync(AuditKind.PlanApproved, planId, null, null, null, $"approved: {pending.Plan.Decisions.Count} moves").ConfigureAwait(false);
        return await _executor.ExecuteAsync(planId, pending.Plan, MaintenanceSet(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rejects a plan waiting for approval.</summary>
    public async Task RejectAsync(string planId, string? reason = null)
    {
        bool removed;
        lock (_pending)
        {
            removed = _pending.Remove(planId);
        }

        if (!removed)
        {
            throw new InvalidOperationException($"No plan '{planId}' waits for approval.");
        }

        await _services.AuditAsync(AuditKind.PlanRejected, planId, null, null, null, $"rejected{(reason is null ? string.Empty : $": {reason}")}").ConfigureAwait(false);
    }

    /// <summary>
    /// Puts a host in maintenance: it takes no VMs, and the next pass (requested at once) evacuates its VMs within
    /// the limits and the execution mode.
    /// </summary>
    public async Task EnterMaintenanceAsync(HostId host)
    {
        lock (_maintenance)
        {
            if (!_maintenance.Add(host))
            {
                return;
            }
        }

        RuntimeLog.Maintenance(_logger, host.Value, "entered");
        await _services.AuditAsync(AuditKind.MaintenanceEntered, null, null, null, host, $"host {host} entered maintenance; its VMs will be evacuated").ConfigureAwait(false);
        Trigger("maintenance", debounce: false);
    }

    /// <summary>Takes a host out of maintenance.</summary>
    public async Task ExitMaintenanceAsync(HostId host)
    {
        lock (_maintenance)
        {
            if (!_maintenance.Remove(host))
            {
                return;
            }
        }

        RuntimeLog.Maintenance(_logger, host.Value, "left");
        await _services.AuditAsync(AuditKind.MaintenanceExited, null, null, null, host, $"host {host} left maintenance").ConfigureAwait(false);
    }

    /// <summary>Adds or replaces a dependency declaration (requires an ecosystem graph); triggers planning when configured.</summary>
    public void SetDeclaration(VmDeclaration declaration)
    {
        ArgumentNullException.ThrowIfNull(declaration);
        if (_graph is null)
        {
            throw new InvalidOperationException("This runtime has no ecosystem graph; register declarations with UseEcosystem(...).");
        }

        lock (_model)
        {
            _graph.SetDeclaration(declaration);
        }

        if (_options.PlanOnDependencyChange)
        {
            Trigger("dependencies", debounce: true);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _instruments.Dispose();
        _stopping?.Dispose();
    }

    private static IMigrationPolicy Compose(IMigrationPolicy policy, EcosystemGraph? graph)
    {
        if (policy is not MigrationPlanner planner)
        {
            return policy;
        }

        if (!planner.Stages.Any(s => s is EvacuationStage))
        {
            planner = planner.WithStagesFirst(new EvacuationStage());
        }

        if (graph is not null && !planner.Filters.Any(f => f is Ecosystem.Planning.DependencyGuardFilter))
        {
            planner = Ecosystem.Planning.EcosystemPlanning.WithEcosystem(planner, graph);
        }

        return planner;
    }

    // Status and gauges never take the model lock: a long planning pass must not block a metrics scrape. The
    // dependency score is the one computed at the end of the last pass.
    private double _dependencyScore = double.NaN;

    private RuntimeGauges Gauges() =>
        new(_observations?.Reader.Count ?? 0, _plans?.Reader.Count ?? 0, _executor.RunningCount, _session.Ledger.Count, Volatile.Read(ref _dependencyScore));

    private IReadOnlyList<HostId> MaintenanceHosts()
    {
        lock (_maintenance)
        {
            return [.. _maintenance];
        }
    }

    private HashSet<HostId> MaintenanceSet()
    {
        lock (_maintenance)
        {
            return [.. _maintenance];
        }
    }

    private void OnMigrationStarting(MigrationDecision d, DateTimeOffset now)
    {
        lock (_model)
        {
            _ownMoves.Add(d.Vm);
            // The in-flight reservation: the VM's upper demand and memory on the target until the migration ends.
            var state = _lastState;
            int v = state?.IndexOf(d.Vm) ?? -1;
            var forecasts = _session.Forecasts;
            double upper = v >= 0 && v < forecasts.Count ? forecasts.Upper(v) : 0;
            double memory = v >= 0 ? state!.VmMemoryMiB[v] : 0;
            int target = state is null ? -1 : Array.IndexOf(state.HostIds, d.Target, 0, state.HostCount);
            double bandwidth = target >= 0 ? state!.HostBandwidthMbps[target] : 1000;
            var duration = TimeSpan.FromSeconds(_context.MigrationSeconds(memory, bandwidth));
            _session.OnMigrationStarted(d.Vm, d.Source, d.Target, now, duration, upper, memory);
        }
    }

    private void OnMigrationEnded(VmId vm, bool moved)
    {
        lock (_model)
        {
            _session.OnMigrationEnded(vm);
            if (!moved)
            {
                // No move event will come for it: a later move of this VM is someone else's news.
                _ownMoves.Remove(vm);
            }
        }
    }
}
