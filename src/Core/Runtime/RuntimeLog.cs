using Microsoft.Extensions.Logging;

namespace VmEcosystem.Runtime;

/// <summary>Source-generated, allocation-free log messages of the runtime.</summary>
internal static partial class RuntimeLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "VmEcosystem runtime started in {Mode} mode with policy {Policy}")]
    public static partial void Started(ILogger logger, ExecutionMode mode, string policy);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "VmEcosystem runtime stopped ({Running} migrations still running were {Outcome})")]
    public static partial void Stopped(ILogger logger, int running, string outcome);

    [LoggerMessage(EventId = 110, Level = LogLevel.Debug, Message = "Plan {PlanId} by {Policy}: {Decisions} moves ({Trigger})")]
    public static partial void Planned(ILogger logger, string planId, string policy, int decisions, string trigger);

    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "Migrating {Vm} from {Source} to {Target} ({Rule})")]
    public static partial void MigrationStarted(ILogger logger, string vm, string source, string target, string rule);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "Migration of {Vm} to {Target} {Outcome} after {Seconds:F1} s")]
    public static partial void MigrationEnded(ILogger logger, string vm, string target, string outcome, double seconds);

    [LoggerMessage(EventId = 122, Level = LogLevel.Warning, Message = "Migration of {Vm} to {Target} failed: {Reason}")]
    public static partial void MigrationFailed(ILogger logger, string vm, string target, string reason);

    [LoggerMessage(EventId = 123, Level = LogLevel.Debug, Message = "Skipped moving {Vm} to {Target}: {Reason}")]
    public static partial void DecisionSkipped(ILogger logger, string vm, string target, string reason);

    [LoggerMessage(EventId = 130, Level = LogLevel.Error, Message = "The {Loop} loop failed (attempt {Attempt}); retrying in {Delay}")]
    public static partial void LoopFailed(ILogger logger, Exception exception, string loop, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 131, Level = LogLevel.Warning, Message = "Planning is behind: {Dropped} observations dropped or skipped so far")]
    public static partial void ObservationsDropped(ILogger logger, long dropped);

    [LoggerMessage(EventId = 124, Level = LogLevel.Warning, Message = "Reconciled {Count} intents without outcome at start: {Summary}")]
    public static partial void Reconciled(ILogger logger, int count, string summary);

    [LoggerMessage(EventId = 125, Level = LogLevel.Error, Message = "{Count} intents without outcome could not be checked against the provider at start; their VMs are held back")]
    public static partial void ReconcileFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 126, Level = LogLevel.Warning, Message = "The runtime stopped with {Pending} audit records not yet written; they are retried until the runtime is disposed")]
    public static partial void AuditBehind(ILogger logger, long pending);

    [LoggerMessage(EventId = 140, Level = LogLevel.Information, Message = "Host {Host} {Action} maintenance")]
    public static partial void Maintenance(ILogger logger, string host, string action);

    [LoggerMessage(EventId = 127, Level = LogLevel.Warning, Message = "Audit record {Sequence} could not be restored at start and is skipped: {Reason}")]
    public static partial void RestoreSkipped(ILogger logger, long sequence, string reason);

    [LoggerMessage(EventId = 128, Level = LogLevel.Information, Message = "Runtime state restored from the audit trail: {Summary}")]
    public static partial void Restored(ILogger logger, string summary);

    [LoggerMessage(EventId = 141, Level = LogLevel.Warning, Message = "Reservation controls an earlier run left set could not be looked up in the audit trail")]
    public static partial void LeftoversUnknown(ILogger logger, Exception exception);
}
