using Microsoft.Extensions.Logging;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// Saves the planning session's forecaster state to the audit store (when it is an
/// <see cref="IRuntimeCheckpointStore"/>) every <see cref="RuntimeOptions.CheckpointInterval"/> and at stop, and
/// refits the forecasters from it at start, so cooldowns are not the only thing a restart keeps. A failing save is
/// logged and retried at the next interval; it never stops planning.
/// </summary>
internal sealed class ForecasterCheckpoints(RuntimeCore core, RuntimeModel model, ILogger logger)
{
    public const string Name = "forecasters";
    private static readonly TimeSpan MaxAge = TimeSpan.FromDays(1);
    private DateTimeOffset _next = DateTimeOffset.MinValue;
    private long _saved;

    private IRuntimeCheckpointStore? Store => core.Options.CheckpointInterval > TimeSpan.Zero ? core.Audit.Store as IRuntimeCheckpointStore : null;

    /// <summary>Checkpoints written by this process.</summary>
    public long Saved => Interlocked.Read(ref _saved);

    /// <summary>Saves when the interval has passed since the last save (or <paramref name="force"/>).</summary>
    public async Task SaveIfDueAsync(DateTimeOffset now, bool force, CancellationToken cancellationToken)
    {
        if (Store is not { } store || (!force && now < _next))
        {
            return;
        }

        _next = now + core.Options.CheckpointInterval;
        byte[] data;
        lock (model.Gate)
        {
            data = model.Session.ExportForecasters();
        }

        try
        {
            await store.SaveCheckpointAsync(new RuntimeCheckpoint(Name, now, data), cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _saved);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            logger.LogWarning(ex, "Saving the forecaster checkpoint failed; retried at the next interval");
        }
    }

    /// <summary>Refits the forecasters from the last checkpoint younger than a day; returns what it did, for the restore summary.</summary>
    public async Task<string> RestoreAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (Store is not { } store)
        {
            return "no forecaster checkpoint (CheckpointInterval is zero, or the audit store keeps none)";
        }

        var checkpoint = await store.LoadCheckpointAsync(Name, cancellationToken).ConfigureAwait(false);
        if (checkpoint is null || now - checkpoint.Timestamp > MaxAge)
        {
            return checkpoint is null ? "no forecaster checkpoint" : $"forecaster checkpoint of {checkpoint.Timestamp:O} too old, not used";
        }

        try
        {
            int vms;
            lock (model.Gate)
            {
                vms = model.Session.ImportForecasters(checkpoint.Data);
            }

            return $"forecasters of {vms} VMs refitted from the checkpoint of {checkpoint.Timestamp:O}";
        }
        catch (InvalidDataException ex)
        {
            logger.LogWarning(ex, "The forecaster checkpoint could not be read; forecasters start cold");
            return "forecaster checkpoint unreadable, not used";
        }
    }
}
