using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>
/// Migrations found running in the daemons that this instance did not start: a previous process's peer-to-peer move
/// (the source daemon drives it, so it outlives the client; libvirt aborts a client-driven move when its client goes
/// away) or an operator's. The source daemon holds an outgoing migration job (<c>virDomainGetJobStats</c>, operation
/// "outgoing migration"); the destination holds the domain paused for migration. The job is followed by polling the
/// source until it ends; where the VM then runs decides the outcome.
/// </summary>
internal sealed partial class LibvirtHypervisor
{
    private const int JobOperationMigrationOut = 5; // VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT
    private const int JobCancelled = 5; // virDomainJobType
    private const int PausedForMigration = 2; // virDomainPausedReason

    private enum DomainRole
    {
        Absent,
        Other,
        Running,
        MigratingOut,
        MigratingIn,
    }

    private readonly record struct DomainJob(DomainRole Role, double ElapsedMs = 0, Dictionary<string, double>? Stats = null);

    /// <inheritdoc />
    protected override async Task<IMigrationOperation?> FindRunningMigrationCoreAsync(VmId vm, CancellationToken cancellationToken)
    {
        var scan = await ScanForMigrationAsync(vm, cancellationToken).ConfigureAwait(false);
        // The destination's paused copy appears a moment after the source's job starts: wait for it a little.
        for (int attempt = 0; attempt < 20 && scan.Source is not null && scan.Target is null && scan.Unreachable is null; attempt++)
        {
            await Task.Delay(_options.MigrationProgressInterval, TimeProvider, cancellationToken).ConfigureAwait(false);
            scan = await ScanForMigrationAsync(vm, cancellationToken).ConfigureAwait(false);
        }

        if (scan.Source is not { } source || scan.Target is not { } target)
        {
            // Without both ends there is nothing this provider can follow (the other end may be a host it does not manage).
            return scan.Unreachable is not { } unreachable ? null : throw new HypervisorException(HypervisorErrorKind.Unavailable,
                $"Whether VM '{vm}' is migrating cannot be told while a libvirt host does not answer: {unreachable.Message}", innerException: unreachable);
        }

        var startedAt = TimeProvider.GetUtcNow() - TimeSpan.FromMilliseconds(scan.ElapsedMs);
        return AdoptRunningMigration(vm, source.Host, target.Host, startedAt,
            execution => _ = Task.Run(() => FollowFoundMigrationAsync(vm, source, target, execution)));
    }

    /// <summary>Asks every host what it holds of the VM: the host with its outgoing job, and the one with its incoming copy.</summary>
    private async Task<(LibvirtConnection? Source, double ElapsedMs, LibvirtConnection? Target, HypervisorException? Unreachable)> ScanForMigrationAsync(
        VmId vm, CancellationToken cancellationToken)
    {
        LibvirtConnection? source = null, target = null;
        double elapsedMs = 0;
        HypervisorException? unreachable = null;
        foreach (var c in _connections.Values)
        {
            DomainJob job;
            try
            {
                job = await OnHostAsync(c, cancellationToken, h => ReadDomainJob(h, c.Host, vm)).ConfigureAwait(false);
            }
            catch (HypervisorException ex) when (ex.IsTransient)
            {
                unreachable ??= ex;
                continue;
            }

            if (job.Role == DomainRole.MigratingOut)
            {
                (source, elapsedMs) = (c, job.ElapsedMs);
            }
            else if (job.Role == DomainRole.MigratingIn)
            {
                target = c;
            }
        }

        return (source, elapsedMs, target, unreachable);
    }

    /// <summary>What a host holds of a VM: nothing, an outgoing migration job, an incoming (paused) copy, or a running VM.</summary>
    private static DomainJob ReadDomainJob(ConnectionHandle h, HostId host, VmId vm)
    {
        using var d = TryLookup(h, vm.Value, out var error);
        if (d is null)
        {
            return error!.Code == LibvirtErrors.NoDomain
                ? new DomainJob(DomainRole.Absent)
                : throw LibvirtErrors.ToHypervisorException(error, $"Looking up VM '{vm}' on host '{host}'");
        }

        if (LibvirtNative.virDomainGetJobStats(d, out int type, out IntPtr p, out int n, 0) == 0 && p != IntPtr.Zero)
        {
            var stats = TypedParameterReader.Numbers(p, n);
            LibvirtNative.virTypedParamsFree(p, n);
            if (type != JobTypeNone && (int)stats.GetValueOrDefault("operation") == JobOperationMigrationOut)
            {
                return new DomainJob(DomainRole.MigratingOut, stats.GetValueOrDefault("time_elapsed"), stats);
            }
        }

        LibvirtNative.virResetLastError(); // the destination answers "statistics are available only on the source host"
        if (LibvirtNative.virDomainGetState(d, out int state, out int reason, 0) < 0)
        {
            LibvirtNative.virResetLastError();
            return new DomainJob(DomainRole.Other);
        }

        return state switch
        {
            LibvirtNative.DomainPaused when reason == PausedForMigration => new DomainJob(DomainRole.MigratingIn),
            LibvirtNative.DomainRunning or LibvirtNative.DomainBlocked => new DomainJob(DomainRole.Running),
            _ => new DomainJob(DomainRole.Other),
        };
    }

    /// <summary>The type of the VM's last completed job on a host (completed, failed, cancelled), or 0.</summary>
    private static (int Type, long Bytes) ReadEndedJob(ConnectionHandle h, VmId vm)
    {
        using var d = TryLookup(h, vm.Value, out _);
        if (d is null || LibvirtNative.virDomainGetJobStats(d, out int type, out IntPtr p, out int n, LibvirtNative.JobStatsCompleted) < 0 || p == IntPtr.Zero)
        {
            LibvirtNative.virResetLastError();
            return (0, 0);
        }

        var stats = TypedParameterReader.Numbers(p, n);
        LibvirtNative.virTypedParamsFree(p, n);
        return (type, (long)Math.Max(stats.GetValueOrDefault("data_processed"), stats.GetValueOrDefault("memory_processed")));
    }

    private static bool AbortJob(ConnectionHandle h, VmId vm)
    {
        using var d = TryLookup(h, vm.Value, out _);
        if (d is null || LibvirtNative.virDomainAbortJob(d) < 0)
        {
            LibvirtNative.virResetLastError(); // no job any more: the end says what happened
        }

        return true;
    }

    /// <summary>
    /// Polls the source's job until it ends, then decides by where the VM runs: on the destination it succeeded; back
    /// on the source it was cancelled (when asked to, or the daemon says so) or failed. When the hosts cannot tell for
    /// longer than a few call timeouts, the move is reported failed with no final host, so the caller re-reads the inventory.
    /// </summary>
    private async Task FollowFoundMigrationAsync(VmId vm, LibvirtConnection source, LibvirtConnection target, MigrationExecution execution)
    {
        var progress = new ProgressTracker();
        bool abortSent = false;
        DateTimeOffset? unsureSince = null;
        var settle = TimeSpan.FromTicks(_options.CallTimeout.Ticks * 4);
        string unsure = "";
        while (true)
        {
            var now = TimeProvider.GetUtcNow();
            try
            {
                if (execution.CancellationRequested.IsCancellationRequested && !abortSent)
                {
                    abortSent = await OnHostAsync(source, CancellationToken.None, h => AbortJob(h, vm)).ConfigureAwait(false);
                }

                var job = await OnHostAsync(source, CancellationToken.None, h => ReadDomainJob(h, source.Host, vm)).ConfigureAwait(false);
                now = TimeProvider.GetUtcNow();
                if (job.Role == DomainRole.MigratingOut)
                {
                    unsureSince = null;
                    execution.ReportProgress(progress.Next(job.Stats!, now));
                }
                else
                {
                    var there = await OnHostAsync(target, CancellationToken.None, h => ReadDomainJob(h, target.Host, vm)).ConfigureAwait(false);
                    if (there.Role == DomainRole.Running)
                    {
                        var ended = await OnHostAsync(target, CancellationToken.None, h => ReadEndedJob(h, vm)).ConfigureAwait(false);
                        CompleteFound(vm, source.Host, target.Host, execution, Math.Max(progress.Bytes, ended.Bytes));
                        return;
                    }

                    if (there.Role == DomainRole.Absent && job.Role == DomainRole.Running)
                    {
                        var ended = await OnHostAsync(source, CancellationToken.None, h => ReadEndedJob(h, vm)).ConfigureAwait(false);
                        now = TimeProvider.GetUtcNow();
                        if (abortSent || ended.Type == JobCancelled)
                        {
                            execution.Cancel(now, progress.Bytes);
                        }
                        else
                        {
                            execution.Fail(now, new HypervisorException(HypervisorErrorKind.ProviderFault,
                                $"The migration of VM '{vm}' from '{source.Host}' to '{target.Host}' ended and the VM still runs on '{source.Host}' (libvirt job type {ended.Type}).",
                                "libvirt", "StartMigration"), progress.Bytes, source.Host);
                        }

                        return;
                    }

                    // The destination is still finishing (paused) or the VM runs nowhere yet.
                    unsure = $"the job on '{source.Host}' ended; on '{target.Host}' the VM is {there.Role}, on '{source.Host}' {job.Role}";
                    unsureSince ??= now;
                }
            }
            catch (HypervisorException ex) when (ex.IsTransient)
            {
                unsure = ex.Message;
                unsureSince ??= now;
            }
            catch (Exception ex)
            {
                execution.Fail(TimeProvider.GetUtcNow(), ex as HypervisorException
                    ?? new HypervisorException(HypervisorErrorKind.ProviderFault, $"Following the migration of VM '{vm}' failed: {ex.Message}", "libvirt", "StartMigration", innerException: ex),
                    progress.Bytes);
                return;
            }

            if (unsureSince is { } since && now - since > settle)
            {
                execution.Fail(now, new HypervisorException(HypervisorErrorKind.Unavailable,
                    $"The end of the migration of VM '{vm}' from '{source.Host}' to '{target.Host}' could not be told within {settle}: {unsure}.", "libvirt", "StartMigration"),
                    progress.Bytes);
                return;
            }

            await Task.Delay(_options.MigrationProgressInterval, TimeProvider).ConfigureAwait(false);
        }
    }

    private void CompleteFound(VmId vm, HostId source, HostId target, MigrationExecution execution, long bytes)
    {
        var now = TimeProvider.GetUtcNow();
        _vmRates.Forget((source, vm.Value)); // CPU time restarts in the destination's QEMU process
        if (NoteHost(vm, target))
        {
            PublishInventoryChange(new VmMoved(vm, source, target) { Timestamp = now });
        }

        execution.ReportProgress(new MigrationProgress(MigrationPhase.Completed, 100, bytes, 0, null, now));
        execution.Succeed(now, bytes);
        LogFoundMigrationEnded(Logger, vm.Value, source.Value, target.Value);
    }

    /// <summary>Turns job statistics into progress reports whose percentage and byte count never go back.</summary>
    private sealed class ProgressTracker
    {
        private double _percent;

        public long Bytes { get; private set; }

        public MigrationProgress Next(Dictionary<string, double> stats, DateTimeOffset now)
        {
            double total = stats.GetValueOrDefault("data_total"), processed = stats.GetValueOrDefault("data_processed");
            double? dirty = stats.TryGetValue("memory_dirty_rate", out double pages) ? pages * stats.GetValueOrDefault("memory_page_size", 4096) : null;
            // Remaining data can grow again as the guest dirties pages; the reported percentage never goes back.
            _percent = Math.Max(_percent, total > 0 ? Math.Min(99, 100 * processed / total) : 0);
            Bytes = Math.Max(Bytes, (long)processed);
            return new MigrationProgress(total > 0 ? MigrationPhase.Copying : MigrationPhase.Preparing, _percent, Bytes,
                (long)stats.GetValueOrDefault("data_remaining"), dirty, now);
        }
    }

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "libvirt migration of {Vm} from {Source} to {Target}, found running, succeeded")]
    private static partial void LogFoundMigrationEnded(ILogger logger, string vm, string source, string target);
}
