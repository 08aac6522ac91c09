namespace VmEcosystem.Runtime.Audit;

/// <summary>One named piece of warm runtime state, as last saved.</summary>
/// <param name="Name">What it is (<c>forecasters</c>, ...).</param>
/// <param name="Timestamp">When it was saved (runtime clock).</param>
/// <param name="Data">The saved bytes (format owned by the runtime, versioned inside).</param>
public sealed record RuntimeCheckpoint(string Name, DateTimeOffset Timestamp, ReadOnlyMemory<byte> Data);

/// <summary>
/// Named state kept beside the audit trail: the runtime saves warm state that the trail cannot rebuild (the
/// forecasters' recent demand) every <see cref="RuntimeOptions.CheckpointInterval"/> and at stop, and reads it back at
/// start. An audit store implements it when it can keep such state (the in-memory and SQLite stores do); with a
/// store that does not, forecasters start cold after a restart.
/// </summary>
public interface IRuntimeCheckpointStore
{
    /// <summary>Replaces the checkpoint of the same name.</summary>
    ValueTask SaveCheckpointAsync(RuntimeCheckpoint checkpoint, CancellationToken cancellationToken = default);

    /// <summary>The checkpoint named <paramref name="name"/>, or null when none was saved.</summary>
    ValueTask<RuntimeCheckpoint?> LoadCheckpointAsync(string name, CancellationToken cancellationToken = default);
}
