using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime.Audit;

/// <summary>What an audit record is about.</summary>
public enum AuditKind
{
    /// <summary>The runtime started.</summary>
    RuntimeStarted = 0,

    /// <summary>The runtime stopped.</summary>
    RuntimeStopped,

    /// <summary>A plan was made (detail: policy, trigger, decision count).</summary>
    PlanCreated,

    /// <summary>A decision of a plan, with its explanation (detail: JSON of the decision).</summary>
    DecisionPlanned,

    /// <summary>A decision the executor did not execute (limit, cooldown, backoff, maintenance, stale).</summary>
    DecisionSkipped,

    /// <summary>A plan waits for approval.</summary>
    PlanAwaitingApproval,

    /// <summary>A plan was approved.</summary>
    PlanApproved,

    /// <summary>A plan was rejected.</summary>
    PlanRejected,

    /// <summary>A plan expired or was superseded before execution.</summary>
    PlanDiscarded,

    /// <summary>A migration started.</summary>
    MigrationStarted,

    /// <summary>A migration completed.</summary>
    MigrationSucceeded,

    /// <summary>A migration (or the call starting it) failed.</summary>
    MigrationFailed,

    /// <summary>A migration was cancelled.</summary>
    MigrationCancelled,

    /// <summary>A host entered maintenance.</summary>
    MaintenanceEntered,

    /// <summary>A host left maintenance.</summary>
    MaintenanceExited,

    /// <summary>An iteration of a controller failed (it is retried).</summary>
    LoopError,

    /// <summary>An action other than a migration (hot-plug, resource controls, an application's own) started.</summary>
    ActionStarted,

    /// <summary>An action other than a migration completed.</summary>
    ActionSucceeded,

    /// <summary>An action other than a migration failed.</summary>
    ActionFailed,

    /// <summary>
    /// An action about to be sent to the provider (written, and durable, before the call). Every intent ends in an
    /// outcome record of the same plan and VM; one without is reconciled against the provider when the runtime starts.
    /// </summary>
    ActionIntended,

    /// <summary>A dependency declaration set at run time (the declaration as JSON in the detail); restored at start.</summary>
    DeclarationSet,

    /// <summary>A dependency declaration removed at run time (the VM's name in the message); restored at start.</summary>
    DeclarationRemoved,

    /// <summary>A version of the resizing policies came into use (its version and source in the message); decisions record the version they used.</summary>
    PolicyVersionInUse,

    /// <summary>
    /// What a landed move's copy cost its destination's CPU, measured, against the model's estimate (detail: class,
    /// estimated and measured MHz); replayed at start, so the spike corrections learnt survive a restart.
    /// </summary>
    SpikeMeasured,

    /// <summary>This instance became the leader of its scope (message: instance, scope, term, what it reconciled).</summary>
    LeadershipAcquired,

    /// <summary>This instance stopped leading its scope (message: why).</summary>
    LeadershipLost,

    /// <summary>
    /// The leader of a host set decided another instance's claim on moving a VM into it (message: accepted or refused,
    /// and why); the move starts only once accepted.
    /// </summary>
    MoveClaimDecided,

    /// <summary>A VM's configuration changed: a new version was applied (message: the changes; detail: the version as JSON).</summary>
    ConfigurationVersioned,

    /// <summary>A configuration rollout started, was promoted a step, rolled back or completed (message: why, with the test's figures).</summary>
    RolloutDecided,

    /// <summary>A VM lent headroom to another of its host set (message: who, what, how much, until when; detail: the loan as JSON).</summary>
    LoanOpened,

    /// <summary>A loan was returned (message: why: due, the lender's use or forecast rose, the borrower is done, a VM left; detail: the loan's id and why).</summary>
    LoanReturned,

    /// <summary>A host set asked for more instances or fewer (message: the forecast against the budget, how many, by when).</summary>
    ScaleRequested,

    /// <summary>A tuning run started, resumed, finished, was cancelled or failed (message: the best found so far; detail: the run's request and status as JSON).</summary>
    TuningRunChanged,
}

/// <summary>One entry of the audit trail. Immutable.</summary>
/// <param name="Sequence">Position in the store (assigned by the store; 0 before appending).</param>
/// <param name="Timestamp">When it happened (the runtime's clock).</param>
/// <param name="Kind">What happened.</param>
/// <param name="PlanId">The plan it belongs to, if any.</param>
/// <param name="Vm">The VM concerned, if any.</param>
/// <param name="Source">Source host, if any.</param>
/// <param name="Target">Target host (or the host in maintenance), if any.</param>
/// <param name="Message">One line for people.</param>
/// <param name="Detail">Structured detail (JSON), such as a decision's explanation.</param>
public sealed record AuditRecord(
    long Sequence,
    DateTimeOffset Timestamp,
    AuditKind Kind,
    string? PlanId,
    VmId? Vm,
    HostId? Source,
    HostId? Target,
    string Message,
    string? Detail = null)
{
    /// <summary>The controller that recorded it (<c>planning</c>, <c>execution</c>, an application's own), if any.</summary>
    public string? Controller { get; init; }

    /// <summary>
    /// The leadership scope whose fencing token the record carries (intents of a runtime with leader election; null
    /// otherwise). A store that keeps leases refuses the record when <see cref="FencingToken"/> is older than the scope's.
    /// </summary>
    public string? FencingScope { get; init; }

    /// <summary>The fencing token of the term that recorded it (with <see cref="FencingScope"/>).</summary>
    public long? FencingToken { get; init; }
}

/// <summary>A query over the audit trail; every criterion is optional and they combine with AND.</summary>
public sealed record AuditQuery
{
    /// <summary>Records about this VM.</summary>
    public VmId? Vm { get; init; }

    /// <summary>Records whose source or target is this host.</summary>
    public HostId? Host { get; init; }

    /// <summary>Records of this controller.</summary>
    public string? Controller { get; init; }

    /// <summary>Records of this plan.</summary>
    public string? PlanId { get; init; }

    /// <summary>Records at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Records before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Records of these kinds (null: all).</summary>
    public IReadOnlyCollection<AuditKind>? Kinds { get; init; }

    /// <summary>Most records returned (oldest first).</summary>
    public int? Limit { get; init; }

    /// <summary>Records after this sequence number: the last record of one page gives the start of the next.</summary>
    public long? AfterSequence { get; init; }

    /// <summary>True when <paramref name="r"/> matches.</summary>
    public bool Matches(AuditRecord r) =>
        (AfterSequence is null || r.Sequence > AfterSequence) && (Vm is null || r.Vm == Vm) && (Host is null || r.Source == Host || r.Target == Host) && (PlanId is null || r.PlanId == PlanId)
        && (Controller is null || r.Controller == Controller)
        && (From is null || r.Timestamp >= From) && (To is null || r.Timestamp < To) && (Kinds is null || Kinds.Count == 0 || Kinds.Contains(r.Kind));
}

/// <summary>Where audit records go. Implementations must be safe for concurrent appends.</summary>
public interface IAuditStore
{
    /// <summary>Appends a record; returns it with its sequence number.</summary>
    ValueTask<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default);

    /// <summary>Records matching <paramref name="query"/>, oldest first.</summary>
    IAsyncEnumerable<AuditRecord> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);
}
