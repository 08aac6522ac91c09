using VmEcosystem.Cluster;

namespace VmEcosystem.Hypervisor;

/// <summary>Per-migration settings.</summary>
public sealed record MigrationOptions
{
    /// <summary>Defaults: provider's bandwidth and downtime, no timeout.</summary>
    public static MigrationOptions Default { get; } = new();

    /// <summary>Bandwidth cap for the migration stream, Mbit/s (null: provider default).</summary>
    public double? BandwidthMbps { get; init; }

    /// <summary>Longest acceptable pause of the guest at switch-over (null: provider default).</summary>
    public TimeSpan? MaxDowntime { get; init; }

    /// <summary>Abort the migration when it has not finished after this long (null: never).</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>A request to live-migrate a VM.</summary>
/// <param name="Vm">The VM to move.</param>
/// <param name="Target">The destination host.</param>
/// <param name="Options">Settings; <see cref="MigrationOptions.Default"/> when null.</param>
public sealed record MigrationRequest(VmId Vm, HostId Target, MigrationOptions? Options = null)
{
    /// <summary>
    /// The host the requester believes the VM is on. When set, every provider refuses the move with a
    /// <see cref="HypervisorErrorKind.Conflict"/> if the VM is elsewhere (a decision made on a stale view must not
    /// move the VM from wherever it is now); nothing is started.
    /// </summary>
    public HostId? ExpectedSource { get; init; }
}

/// <summary>Stage of a migration.</summary>
public enum MigrationPhase
{
    /// <summary>Accepted, not yet copying.</summary>
    Preparing = 0,

    /// <summary>Copying memory while the guest runs.</summary>
    Copying = 1,

    /// <summary>Guest paused for the final copy.</summary>
    SwitchingOver = 2,

    /// <summary>Finished (see the result).</summary>
    Completed = 3,
}

/// <summary>A progress report of a running migration.</summary>
/// <param name="Phase">Stage.</param>
/// <param name="Percent">Estimated completion, 0..100.</param>
/// <param name="BytesTransferred">Bytes sent so far.</param>
/// <param name="BytesRemaining">Bytes still to send (estimate).</param>
/// <param name="DirtyBytesPerSecond">Rate at which the guest dirties memory, when the provider knows it.</param>
/// <param name="Timestamp">When the report was taken.</param>
public readonly record struct MigrationProgress(
    MigrationPhase Phase,
    double Percent,
    long BytesTransferred,
    long BytesRemaining,
    double? DirtyBytesPerSecond,
    DateTimeOffset Timestamp);

/// <summary>How a migration ended.</summary>
public enum MigrationOutcome
{
    /// <summary>The VM runs on the target.</summary>
    Succeeded = 0,

    /// <summary>The migration failed; the VM runs on the source.</summary>
    Failed = 1,

    /// <summary>The migration was cancelled; the VM runs on the source.</summary>
    Cancelled = 2,
}

/// <summary>The end of a migration. The VM is on exactly one host: <see cref="FinalHost"/>.</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="FinalHost">Where the VM runs now.</param>
/// <param name="StartedAt">When the migration started.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="BytesTransferred">Bytes sent.</param>
/// <param name="Error">Why it failed; null on success.</param>
public sealed record MigrationResult(
    MigrationOutcome Outcome,
    HostId FinalHost,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    long BytesTransferred,
    HypervisorException? Error = null)
{
    /// <summary>How long the migration took.</summary>
    public TimeSpan Duration => FinishedAt - StartedAt;
}

/// <summary>A running (or finished) live migration.</summary>
public interface IMigrationOperation
{
    /// <summary>Identifier, unique within the provider instance.</summary>
    string Id { get; }

    /// <summary>The VM being moved.</summary>
    VmId Vm { get; }

    /// <summary>Where it came from.</summary>
    HostId Source { get; }

    /// <summary>Where it goes.</summary>
    HostId Target { get; }

    /// <summary>The latest progress report.</summary>
    MigrationProgress Progress { get; }

    /// <summary>Completes with the result; never faults (failures are results).</summary>
    Task<MigrationResult> Completion { get; }

    /// <summary>Streams progress reports until the migration ends. Late reports may be skipped; the last one is not.</summary>
    IAsyncEnumerable<MigrationProgress> WatchProgressAsync(CancellationToken cancellationToken = default);

    /// <summary>Asks the provider to abort. The migration may still complete if it is past the point of no return; await <see cref="Completion"/>.</summary>
    Task CancelAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Changes the bandwidth cap of the running migration, Mbit/s (providers with
    /// <see cref="HypervisorCapabilities.MigrationTuning"/>; the others, and this default, refuse with
    /// <see cref="HypervisorErrorKind.NotSupported"/>). A migration that has ended refuses with
    /// <see cref="HypervisorErrorKind.Conflict"/>, a value that is not a finite positive number with
    /// <see cref="HypervisorErrorKind.InvalidArgument"/>.
    /// </summary>
    Task SetBandwidthAsync(double bandwidthMbps, CancellationToken cancellationToken = default) =>
        Task.FromException(new HypervisorException(HypervisorErrorKind.NotSupported, "This migration's bandwidth cannot be changed.", null, "SetMigrationBandwidth"));
}
