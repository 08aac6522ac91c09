using VmEcosystem.Reservations;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using VmEcosystem.Forecasting;

namespace VmEcosystem.Runtime;

/// <summary>What the executor does with a plan.</summary>
public enum ExecutionMode
{
    /// <summary>Plan and explain only; nothing is executed (the default: safe until an operator opts in).</summary>
    DryRun = 0,

    /// <summary>Plans wait for <see cref="EcosystemRuntime.ApproveAsync"/> (or expire).</summary>
    Approve = 1,

    /// <summary>Plans are executed as soon as they are made, within the executor's limits.</summary>
    Automatic = 2,
}

/// <summary>What a full observation channel does when the collector has a new observation.</summary>
public enum BackPressureMode
{
    /// <summary>The collector waits for room and skips the intervals it missed (counted); forecasters see every observation that was taken.</summary>
    Wait = 0,

    /// <summary>The oldest queued observation is dropped (counted); the planner always sees the newest.</summary>
    DropOldest = 1,
}

/// <summary>Settings of the runtime loops and the migration executor (section <c>VmEcosystem:Runtime</c>).</summary>
public sealed class RuntimeOptions
{
    /// <summary>What happens to proposed actions of every kind without an entry in <see cref="Modes"/>.</summary>
    public ExecutionMode Mode { get; set; } = ExecutionMode.DryRun;

    /// <summary>
    /// The mode per action kind (<c>migrate</c>, <c>hot-plug</c>, <c>resource-controls</c>, or a kind of an
    /// application's own), overriding <see cref="Mode"/>; for example automatic migrations with approved hot-plugs.
    /// </summary>
    public Dictionary<string, ExecutionMode> Modes { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How often metrics are collected (1 s to 60 min).</summary>
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a planning pass runs regardless of events (at least <see cref="MetricsInterval"/>).</summary>
    public TimeSpan PlanningInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Plan as soon as the inventory changes (a VM added, removed, moved by someone else, a host changed).</summary>
    public bool PlanOnInventoryChange { get; set; } = true;

    /// <summary>Plan as soon as dependency declarations change.</summary>
    public bool PlanOnDependencyChange { get; set; } = true;

    /// <summary>Plan as soon as a host's predicted upper utilisation crosses this share (null: never).</summary>
    public double? PlanOnForecastAbove { get; set; } = 1.0;

    /// <summary>Least time between two event-triggered passes.</summary>
    public TimeSpan EventDebounce { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Dirty-page rates assumed per workload class for VMs whose provider does not measure them (section
    /// <c>VmEcosystem:Runtime:DirtyRateEstimate</c>); the migration cost the planner weighs uses them.
    /// </summary>
    public DirtyRateEstimateOptions DirtyRateEstimate { get; set; } = new();

    /// <summary>
    /// Migration reservations (section <c>VmEcosystem:Runtime:Reservations</c>): what a move holds on its destination,
    /// its admission, the PID steering and the hold after switch-over. <see cref="ReservationMode.None"/> turns them off.
    /// </summary>
    public ReservationOptions Reservations { get; set; } = new();

    /// <summary>
    /// Leader election (section <c>VmEcosystem:Runtime:Leadership</c>): used when an election is registered, so that of
    /// several instances on one store only the leader of a scope acts.
    /// </summary>
    public Leadership.LeadershipOptions Leadership { get; set; } = new();

    /// <summary>
    /// How often the forecasters' warm state is saved to the audit store (when it keeps checkpoints; also at stop)
    /// and refitted from at start; zero turns it off.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Observations queued between collection and planning.</summary>
    public int ObservationQueueCapacity { get; set; } = 4;

    /// <summary>What a full observation queue does.</summary>
    public BackPressureMode ObservationBackPressure { get; set; } = BackPressureMode.Wait;

    /// <summary>
    /// Audit records that may wait for the store (written in the background, retried with backoff while the store
    /// fails); beyond it a record is lost, counted in <see cref="RuntimeStatus.AuditLost"/> and logged.
    /// </summary>
    public int AuditQueueCapacity { get; set; } = 100_000;

    /// <summary>Plans queued between planning and execution (a newer plan supersedes the oldest; superseded plans are audited).</summary>
    public int PlanQueueCapacity { get; set; } = 1;

    /// <summary>
    /// Learn from the runtime's own moves (<see cref="EcosystemRuntime.Learner"/>): failed targets cost more in later
    /// plans, durations are compared with what the planner expected, application gains are kept per move pattern.
    /// </summary>
    public bool LearnFromOutcomes { get; set; } = true;

    /// <summary>Requested actions (<see cref="IEcosystemControl"/>) waiting for the executor; a request beyond them is refused.</summary>
    public int MaxQueuedRequests { get; set; } = 100;

    /// <summary>Most migrations running at once that touch one host (source or target).</summary>
    public int MaxConcurrentMigrationsPerHost { get; set; } = 4;

    /// <summary>Most migrations running at once in the cluster.</summary>
    public int MaxConcurrentMigrationsInCluster { get; set; } = 64;

    /// <summary>Most migrations started within <see cref="RateWindow"/>.</summary>
    public int MaxMigrationsPerWindow { get; set; } = 2000;

    /// <summary>The window of <see cref="MaxMigrationsPerWindow"/>.</summary>
    public TimeSpan RateWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A VM is not migrated again by the executor within this time of its last start (the planner has its own cooldown).</summary>
    public TimeSpan VmCooldown { get; set; } = TimeSpan.Zero;

    /// <summary>After a failed migration, the VM is not migrated again within this time.</summary>
    public TimeSpan FailureBackoff { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Timeout of one provider call (inventory, metrics, starting a migration).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of a provider call that failed transiently (timeout, unavailable); starting a migration is idempotent, so retrying it is safe.</summary>
    public int CallRetries { get; set; } = 2;

    /// <summary>
    /// Right before a move starts, check that the target's memory and current CPU demand, with the moves in flight
    /// counted on their targets, still hold the VM (anti-affinity, proximity and required dependencies are always
    /// re-checked). Turn off only for studies that over-commit by design (CloudSim-compatible runs).
    /// </summary>
    public bool RecheckCapacity { get; set; } = true;

    /// <summary>A running migration is cancelled after this long (at most 7 days); the provider then has <see cref="CallTimeout"/> to confirm the cancel.</summary>
    public TimeSpan MigrationTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>On stop, running migrations are awaited this long, then cancelled (and awaited again as long).</summary>
    public TimeSpan ShutdownDeadline { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Plans waiting for approval expire after this long.</summary>
    public TimeSpan ApprovalTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>First delay after a failed loop iteration (doubles up to <see cref="MaxIterationBackoff"/>).</summary>
    public TimeSpan IterationBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between retries of a failing loop.</summary>
    public TimeSpan MaxIterationBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The mode of actions of <paramref name="kind"/>.</summary>
    public ExecutionMode ModeOf(string kind) => Modes.TryGetValue(kind, out var mode) ? mode : Mode;

    internal BoundedChannelFullMode ObservationFullMode =>
        ObservationBackPressure == BackPressureMode.DropOldest ? BoundedChannelFullMode.DropOldest : BoundedChannelFullMode.Wait;
}

/// <summary>Validates <see cref="RuntimeOptions"/> at start, naming each bad setting.</summary>
internal sealed class RuntimeOptionsValidator : IValidateOptions<RuntimeOptions>
{
    public ValidateOptionsResult Validate(string? name, RuntimeOptions o)
    {
        const string p = "VmEcosystem:Runtime:";
        var errors = new List<string>();
        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(p + message);
            }
        }

        Check(Enum.IsDefined(o.Mode), $"Mode must be DryRun, Approve or Automatic; got {o.Mode}.");
        foreach (var (kind, mode) in o.Modes)
        {
            Check(Enum.IsDefined(mode), $"Modes:{kind} must be DryRun, Approve or Automatic; got {mode}.");
        }

        // Every duration has an upper bound that timers (at most about 49 days) and dates can hold, so no setting the
        // validator accepts can overflow the executor's timers or expiries.
        void Within(string name, TimeSpan value, TimeSpan min, TimeSpan max, bool minExclusive = false)
        {
            bool ok = (minExclusive ? value > min : value >= min) && value <= max;
            Check(ok, $"{name} must be {(minExclusive ? "above" : "at least")} {min} and at most {max}; got {value}.");
        }

        Within(nameof(o.MetricsInterval), o.MetricsInterval, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(60));
        Within(nameof(o.PlanningInterval), o.PlanningInterval, o.MetricsInterval, TimeSpan.FromDays(1));
        Check(o.PlanOnForecastAbove is null or > 0 and <= 10, $"PlanOnForecastAbove must be above 0 and at most 10, or null; got {o.PlanOnForecastAbove}.");
        Within(nameof(o.EventDebounce), o.EventDebounce, TimeSpan.Zero, TimeSpan.FromDays(1));
        Check(o.ObservationQueueCapacity is >= 1 and <= 10_000, $"ObservationQueueCapacity must be between 1 and 10000; got {o.ObservationQueueCapacity}.");
        Check(Enum.IsDefined(o.ObservationBackPressure), $"ObservationBackPressure must be Wait or DropOldest; got {o.ObservationBackPressure}.");
        Check(o.AuditQueueCapacity is >= 1 and <= 10_000_000, $"AuditQueueCapacity must be between 1 and 10000000; got {o.AuditQueueCapacity}.");
        Check(o.PlanQueueCapacity is >= 1 and <= 1000, $"PlanQueueCapacity must be between 1 and 1000; got {o.PlanQueueCapacity}.");
        Check(o.MaxQueuedRequests is >= 1 and <= 100_000, $"MaxQueuedRequests must be between 1 and 100000; got {o.MaxQueuedRequests}.");
        Check(o.MaxConcurrentMigrationsPerHost is >= 1 and <= 1_000_000, $"MaxConcurrentMigrationsPerHost must be between 1 and 1000000; got {o.MaxConcurrentMigrationsPerHost}.");
        Check(o.MaxConcurrentMigrationsInCluster is >= 1 and <= 1_000_000, $"MaxConcurrentMigrationsInCluster must be between 1 and 1000000; got {o.MaxConcurrentMigrationsInCluster}.");
        Check(o.MaxMigrationsPerWindow is >= 1 and <= 10_000_000, $"MaxMigrationsPerWindow must be between 1 and 10000000; got {o.MaxMigrationsPerWindow}.");
        Within(nameof(o.RateWindow), o.RateWindow, TimeSpan.Zero, TimeSpan.FromDays(30), minExclusive: true);
        Within(nameof(o.VmCooldown), o.VmCooldown, TimeSpan.Zero, TimeSpan.FromDays(30));
        Within(nameof(o.FailureBackoff), o.FailureBackoff, TimeSpan.Zero, TimeSpan.FromDays(30));
        Within(nameof(o.CallTimeout), o.CallTimeout, TimeSpan.Zero, TimeSpan.FromHours(1), minExclusive: true);
        Check(o.CallRetries is >= 0 and <= 10, $"CallRetries must be between 0 and 10; got {o.CallRetries}.");
        Within(nameof(o.MigrationTimeout), o.MigrationTimeout, TimeSpan.Zero, TimeSpan.FromDays(7), minExclusive: true);
        Within(nameof(o.ShutdownDeadline), o.ShutdownDeadline, TimeSpan.Zero, TimeSpan.FromHours(1));
        Within(nameof(o.ApprovalTimeout), o.ApprovalTimeout, TimeSpan.Zero, TimeSpan.FromDays(30), minExclusive: true);
        Within(nameof(o.IterationBackoff), o.IterationBackoff, TimeSpan.Zero, TimeSpan.FromHours(1), minExclusive: true);
        Within(nameof(o.MaxIterationBackoff), o.MaxIterationBackoff, o.IterationBackoff, TimeSpan.FromHours(1));
        if (o.CheckpointInterval != TimeSpan.Zero)
        {
            Within(nameof(o.CheckpointInterval), o.CheckpointInterval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        }

        errors.AddRange((o.DirtyRateEstimate ?? new()).Validate(p + "DirtyRateEstimate"));
        errors.AddRange((o.Reservations ?? new()).Validate(p + "Reservations"));
        errors.AddRange((o.Leadership ?? new()).Validate(p + "Leadership"));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
