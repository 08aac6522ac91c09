using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>
/// Live migration with <c>virDomainMigrate3</c> from the source host's connection to the destination's (or, with
/// <see cref="LibvirtOptions.PeerToPeerMigration"/>, <c>virDomainMigrateToURI3</c> driven by the source daemon), progress
/// from <c>virDomainGetJobStats</c>, cancellation with <c>virDomainAbortJob</c>, and bandwidth/downtime settings.
/// A persistent VM is defined on the destination and undefined on the source in the same job, so it is never
/// listed on two hosts once the move is over.
/// </summary>
internal sealed partial class LibvirtHypervisor
{
    private const int JobTypeNone = 0;

    /// <inheritdoc />
    protected override async Task<HostId> ResolveMigrationSourceAsync(MigrationRequest request, CancellationToken cancellationToken)
    {
        _ = Connection(request.Target, "StartMigration"); // an unknown destination is NotFound before anything happens
        var c = await LocateAsync(request.Vm, "StartMigration", cancellationToken).ConfigureAwait(false);
        return c.Host;
    }

    /// <inheritdoc />
    protected override async Task StartMigrationCoreAsync(MigrationRequest request, HostId source, MigrationExecution execution, CancellationToken cancellationToken)
    {
        var src = Connection(source, "StartMigration");
        var dst = Connection(request.Target, "StartMigration");
        var options = request.Options ?? MigrationOptions.Default;

        // Open the destination first: an unreachable destination fails the start with a clear error and no job.
        var dstHandle = await Task.Run(dst.Acquire, cancellationToken).ConfigureAwait(false);
        var (domain, persistent) = await OnHostAsync(src, cancellationToken, h =>
        {
            var d = Lookup(h, source, request.Vm);
            try
            {
                if (LibvirtNative.virDomainGetInfo(d, out var info) < 0)
                {
                    throw LibvirtErrors.Fail($"Reading VM '{request.Vm}'");
                }

                if (info.State is not (LibvirtNative.DomainRunning or LibvirtNative.DomainBlocked or LibvirtNative.DomainPaused))
                {
                    throw new HypervisorException(HypervisorErrorKind.Conflict, $"VM '{request.Vm}' is not running on '{source}'; only running VMs are live-migrated.");
                }

                if (options.MaxDowntime is { } downtime
                    && LibvirtNative.virDomainMigrateSetMaxDowntime(d, (ulong)Math.Max(1, downtime.TotalMilliseconds), 0) < 0)
                {
                    throw LibvirtErrors.Fail($"Setting the maximum downtime of VM '{request.Vm}'");
                }

                return (d, LibvirtNative.virDomainIsPersistent(d) == 1);
            }
            catch
            {
                d.Dispose();
                throw;
            }
        }).ConfigureAwait(false);

        uint flags = LibvirtNative.MigrateLive
            | (persistent ? LibvirtNative.MigratePersistDest | LibvirtNative.MigrateUndefineSource : 0)
            | (_options.AllowUnsafeMigration ? LibvirtNative.MigrateUnsafe : 0);
        var job = new MigrationJob(this, request.Vm, src, dst, domain, dstHandle, flags, options, execution);
        _jobs[request.Vm] = job;
        var thread = new Thread(job.Run) { IsBackground = true, Name = $"libvirt-migrate-{request.Vm}" };
        thread.Start();
        LogMigrationJob(Logger, request.Vm.Value, source.Value, request.Target.Value, flags);
    }

    /// <summary>Builds the <c>virDomainMigrate3</c> parameters for a destination.</summary>
    internal static TypedParameterList MigrationParameters(LibvirtHostOptions target, MigrationOptions options)
    {
        var p = new TypedParameterList();
        if (target.MigrationUri is { } uri)
        {
            p.AddString("migrate_uri", uri);
        }

        if (target.MigrationListenAddress is { } listen)
        {
            p.AddString("listen_address", listen);
        }

        if (options.BandwidthMbps is { } mbps)
        {
            p.AddULong("bandwidth", ToLibvirtBandwidth(mbps)); // MiB/s
        }

        return p;
    }

    /// <summary>One running migration: the blocking <c>virDomainMigrate3</c> call on its own thread, plus a progress poller.</summary>
    private sealed class MigrationJob(
        LibvirtHypervisor owner, VmId vm, LibvirtConnection src, LibvirtConnection dst, DomainHandle domain,
        ConnectionHandle dstHandle, uint flags, MigrationOptions options, MigrationExecution execution)
    {
        private readonly Lock _gate = new();
        private readonly ProgressTracker _progress = new();
        private long _wantedMiBps = -1;

        private long Bytes
        {
            get
            {
                lock (_gate)
                {
                    return _progress.Bytes;
                }
            }
        }

        public unsafe void Run()
        {
            using var done = new CancellationTokenSource();
            var poller = Task.Run(() => PollAsync(done.Token));
            using var abort = execution.CancellationRequested.Register(() => Task.Run(() =>
            {
                try
                {
                    if (LibvirtNative.virDomainAbortJob(domain) < 0)
                    {
                        LibvirtNative.virResetLastError(); // no job (finished or not yet started): the result says what happened
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The migration already ended.
                }
            }));
            try
            {
                bool succeeded;
                LibvirtException? error = null;
                DomainHandle? destination = null;
                using (var parameters = MigrationParameters(dst.Options, options))
                {
                    if (owner._options.PeerToPeerMigration)
                    {
                        // The source daemon connects to the destination's URI itself (it must be able to reach it).
                        int rc = parameters.Invoke((p, n) => LibvirtNative.virDomainMigrateToURI3(
                            domain, dst.Options.Uri, (TypedParameter*)p, (uint)n, flags | LibvirtNative.MigratePeerToPeer));
                        succeeded = rc == 0;
                        error = succeeded ? null : LibvirtErrors.Last("virDomainMigrateToURI3 failed");
                        // A destination not visible yet only costs the final byte count.
                        destination = succeeded ? TryLookup(dstHandle, vm.Value, out _) : null;
                    }
                    else
                    {
                        IntPtr moved = parameters.Invoke((p, n) => LibvirtNative.virDomainMigrate3(domain, dstHandle, (TypedParameter*)p, (uint)n, flags));
                        succeeded = moved != IntPtr.Zero;
                        error = succeeded ? null : LibvirtErrors.Last("virDomainMigrate3 failed");
                        destination = succeeded ? DomainHandle.Own(moved) : null;
                    }
                }

                done.Cancel();
                poller.Wait(TimeSpan.FromSeconds(5));
                var now = owner.TimeProvider.GetUtcNow();
                using (destination)
                {
                    if (succeeded)
                    {
                        Complete(destination, now);
                    }
                    else
                    {
                        Fail(error!, now);
                    }
                }
            }
            catch (Exception ex)
            {
                execution.Fail(owner.TimeProvider.GetUtcNow(), ex as HypervisorException
                    ?? new HypervisorException(HypervisorErrorKind.ProviderFault, $"Migration of VM '{vm}' failed: {ex.Message}", "libvirt", "StartMigration", innerException: ex));
            }
            finally
            {
                owner._jobs.TryRemove(new KeyValuePair<VmId, MigrationJob>(vm, this));
                domain.Dispose();
            }
        }

        /// <summary>Remembers the bandwidth asked for while the job runs (MiB/s), so the poller can re-apply it.</summary>
        public void Want(ulong mibps) => Interlocked.Exchange(ref _wantedMiBps, (long)mibps);

        // A cap set just before virDomainMigrate3 started the job is overwritten by the job's own "bandwidth"
        // parameter; while the job runs, the poller puts the last one asked for back.
        private void ReconcileBandwidth()
        {
            long wanted = Interlocked.Read(ref _wantedMiBps);
            if (wanted > 0 && LibvirtNative.virDomainMigrateGetMaxSpeed(domain, out ulong current, 0) == 0 && current != (ulong)wanted
                && LibvirtNative.virDomainMigrateSetMaxSpeed(domain, (ulong)wanted, 0) == 0)
            {
                return;
            }

            LibvirtNative.virResetLastError();
        }

        private void Complete(DomainHandle? destination, DateTimeOffset now)
        {
            long bytes = Bytes;
            if (destination is not null
                && LibvirtNative.virDomainGetJobStats(destination, out _, out IntPtr p, out int n, LibvirtNative.JobStatsCompleted) == 0 && p != IntPtr.Zero)
            {
                var stats = TypedParameterReader.Numbers(p, n);
                LibvirtNative.virTypedParamsFree(p, n);
                bytes = (long)Math.Max(bytes, stats.GetValueOrDefault("data_processed", stats.GetValueOrDefault("memory_processed")));
            }
            else
            {
                LibvirtNative.virResetLastError();
            }

            owner._vmRates.Forget((src.Host, vm.Value)); // CPU time restarts in the destination's QEMU process
            if (owner.NoteHost(vm, dst.Host))
            {
                owner.PublishInventoryChange(new VmMoved(vm, src.Host, dst.Host) { Timestamp = now });
            }

            execution.ReportProgress(new MigrationProgress(MigrationPhase.Completed, 100, bytes, 0, null, now));
            execution.Succeed(now, bytes);
        }

        private void Fail(LibvirtException error, DateTimeOffset now)
        {
            // Where is the VM now? Normally still on the source; a failure after switch-over (for example while
            // making the destination persistent) leaves it running on the destination, and the result says so.
            HostId final = src.Host;
            using (var there = TryLookup(dstHandle, vm.Value, out _))
            {
                if (there is not null && LibvirtNative.virDomainGetInfo(there, out var info) == 0 && info.State == LibvirtNative.DomainRunning)
                {
                    final = dst.Host;
                    owner.NoteHost(vm, dst.Host);
                }
            }

            LibvirtNative.virResetLastError();
            // QEMU reports an aborted job as "operation aborted" or as a failed job "canceled by client",
            // depending on the phase; either way, a cancel we asked for that left the VM home is a cancellation.
            if ((error.Code == LibvirtErrors.OperationAborted || execution.CancellationRequested.IsCancellationRequested) && final == src.Host)
            {
                execution.Cancel(now, Bytes);
                return;
            }

            var failure = new HypervisorException(LibvirtErrors.Classify(error.Code),
                $"Live migration of VM '{vm}' from '{src.Host}' to '{dst.Host}' failed: {error.Message} ({error.CodeName})",
                "libvirt", "StartMigration", error.CodeName, error);
            execution.Fail(now, failure, Bytes, final);
        }

        private async Task PollAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(owner._options.MigrationProgressInterval, owner.TimeProvider, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                if (LibvirtNative.virDomainGetJobStats(domain, out int type, out IntPtr p, out int n, 0) < 0 || p == IntPtr.Zero)
                {
                    LibvirtNative.virResetLastError();
                    continue;
                }

                var stats = TypedParameterReader.Numbers(p, n);
                LibvirtNative.virTypedParamsFree(p, n);
                if (type == JobTypeNone)
                {
                    continue;
                }

                ReconcileBandwidth();
                MigrationProgress report;
                lock (_gate)
                {
                    report = _progress.Next(stats, owner.TimeProvider.GetUtcNow());
                }

                execution.ReportProgress(report);
            }
        }
    }

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "libvirt migration of {Vm} from {Source} to {Target} started (flags 0x{Flags:x})")]
    private static partial void LogMigrationJob(ILogger logger, string vm, string source, string target, uint flags);
}
