using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Planning;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>The runtime's counters and state at one moment.</summary>
public sealed record RuntimeStatus
{
    /// <summary>True between start and stop.</summary>
    public required bool Running { get; init; }

    /// <summary>Default execution mode (<see cref="RuntimeOptions.Modes"/> may override it per action kind).</summary>
    public required ExecutionMode Mode { get; init; }

    /// <summary>Observations taken.</summary>
    public required long Observations { get; init; }

    /// <summary>Observations dropped or skipped because planning was behind.</summary>
    public required long ObservationsDropped { get; init; }

    /// <summary>Planning passes.</summary>
    public required long PlanningPasses { get; init; }

    /// <summary>Migrations started, succeeded, failed (including calls that failed to start), skipped by the executor's limits.</summary>
    public required (long Started, long Succeeded, long Failed, long Skipped) Migrations { get; init; }

    /// <summary>Counts per action kind (<c>migrate</c>, <c>hot-plug</c>, ...), whichever controller proposed them.</summary>
    public required IReadOnlyDictionary<string, ActionCounts> Actions { get; init; }

    /// <summary>Migrations running now.</summary>
    public required int MigrationsRunning { get; init; }

    /// <summary>Most actions that ran at once touching one host, and in the cluster.</summary>
    public required (int PerHost, int InCluster) PeakConcurrency { get; init; }

    /// <summary>Failed iterations per controller (each was retried).</summary>
    public required IReadOnlyDictionary<string, long> LoopErrors { get; init; }

    /// <summary>Controllers that are running (the four built-in ones and any an application added).</summary>
    public required IReadOnlyList<string> LoopsAlive { get; init; }

    /// <summary>Plans waiting for approval.</summary>
    public required int PendingApprovals { get; init; }

    /// <summary>Items queued now between collection and planning, and proposals waiting for execution (bounded).</summary>
    public required (int Observations, int Plans) QueueDepths { get; init; }

    /// <summary>Hosts in maintenance.</summary>
    public required IReadOnlyList<HostId> HostsInMaintenance { get; init; }

    /// <summary>Shadow-slot reservations held.</summary>
    public required int Reservations { get; init; }

    /// <summary>Audit write attempts that failed (logged and retried; the runtime goes on).</summary>
    public required long AuditFailures { get; init; }

    /// <summary>Audit records waiting to be written (queued, or kept for a retry while the store fails).</summary>
    public long AuditPending { get; init; }

    /// <summary>Audit records lost: the queue was full (<see cref="RuntimeOptions.AuditQueueCapacity"/>) or the store still failed at disposal.</summary>
    public long AuditLost { get; init; }

    /// <summary>Exceptions thrown by subscribers to runtime events (each logged; none stops a loop).</summary>
    public long SubscriberFailures { get; init; }

    /// <summary>Where this instance stands in the leader election (null: no election, it always acts).</summary>
    public Leadership.LeadershipStatus? Leadership { get; init; }
}

/// <summary>Optional parts of a runtime beyond its provider, policy, options and clock (all have defaults).</summary>
public sealed record RuntimeComponents
{
    /// <summary>Where the audit trail goes (null: in memory).</summary>
    public IAuditStore? Audit { get; init; }

    /// <summary>Seeded randomness for the planner (null: seed 42).</summary>
    public Random? Random { get; init; }

    /// <summary>Loggers (null: none). Controllers log under <c>VmEcosystem.Runtime.Controllers.{name}</c>.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? Loggers { get; init; }

    /// <summary>Meter factory (null: a standalone meter).</summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }

    /// <summary>The ecosystem graph, when dependency declarations are used.</summary>
    public EcosystemGraph? Graph { get; init; }

    /// <summary>
    /// Hard placement rules (anti-affinity, proximity) the planner keeps and the executor re-checks before every move
    /// (null: none). Add rules before the runtime starts; the runtime reads them under its planning lock.
    /// </summary>
    public PlacementConstraints? Constraints { get; init; }

    /// <summary>Declarations loaded into the graph at start.</summary>
    public IReadOnlyList<VmDeclaration> Declarations { get; init; } = [];

    /// <summary>Forecasting settings of the planning session.</summary>
    public PlanningSessionOptions? Session { get; init; }

    /// <summary>The application's own metrics, read around each migration for what the runtime learns (null: none).</summary>
    public IApplicationMetricsSource? ApplicationMetrics { get; init; }

    /// <summary>Rebuild the library's own action kinds that need services (configure) from plans held for approval.</summary>
    internal IReadOnlyList<IPendingActionRestorer> ActionRestorers { get; init; } = [];

    /// <summary>Controllers of the application's own, hosted beside the built-in ones.</summary>
    public IReadOnlyList<IRuntimeController> Controllers { get; init; } = [];

    /// <summary>
    /// Leader election shared with the other instances on the same store (null: this runtime always acts). With one,
    /// only the leader of <see cref="RuntimeOptions.Leadership"/>'s scope proposes and executes; followers observe and
    /// forecast, so a takeover is warm.
    /// </summary>
    public Leadership.ILeaderElection? LeaderElection { get; init; }
}
