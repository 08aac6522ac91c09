using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>
/// A running migration's bandwidth cap, changed on the source with <c>virDomainMigrateSetMaxSpeed</c>; for a move this
/// provider started, the job's poller also re-applies the last cap asked for while the job runs (a cap set in the
/// instant before the job started would otherwise be overwritten by the job's own start parameter).
/// </summary>
internal sealed partial class LibvirtHypervisor
{
    // Migrations this provider started, while their job runs (found migrations are tuned directly).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Cluster.VmId, MigrationJob> _jobs = new();

    /// <summary>Mbit/s to libvirt's MiB/s (at least 1: libvirt reads 0 as "unlimited").</summary>
    internal static ulong ToLibvirtBandwidth(double mbps) => (ulong)Math.Max(1, Math.Round(mbps * 1e6 / 8 / 1024 / 1024));

    /// <inheritdoc />
    protected override async Task SetMigrationBandwidthCoreAsync(IMigrationOperation operation, double bandwidthMbps, CancellationToken cancellationToken)
    {
        ulong mibps = ToLibvirtBandwidth(bandwidthMbps);
        if (_jobs.TryGetValue(operation.Vm, out var job))
        {
            job.Want(mibps);
        }

        var src = Connection(operation.Source, "SetMigrationBandwidth");
        await OnHostAsync(src, cancellationToken, h =>
        {
            using var d = Lookup(h, operation.Source, operation.Vm);
            if (LibvirtNative.virDomainMigrateSetMaxSpeed(d, mibps, 0) < 0)
            {
                throw LibvirtErrors.Fail($"Setting the migration bandwidth of VM '{operation.Vm}'");
            }

            return true;
        }).ConfigureAwait(false);
    }
}
