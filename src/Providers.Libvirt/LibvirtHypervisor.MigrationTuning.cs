using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>A running migration's bandwidth cap, changed on the source with <c>virDomainMigrateSetMaxSpeed</c> while the job runs.</summary>
internal sealed partial class LibvirtHypervisor
{
    /// <summary>Mbit/s to libvirt's MiB/s (at least 1: libvirt reads 0 as "unlimited").</summary>
    internal static ulong ToLibvirtBandwidth(double mbps) => (ulong)Math.Max(1, Math.Round(mbps * 1e6 / 8 / 1024 / 1024));

    /// <inheritdoc />
    protected override async Task SetMigrationBandwidthCoreAsync(IMigrationOperation operation, double bandwidthMbps, CancellationToken cancellationToken)
    {
        var src = Connection(operation.Source, "SetMigrationBandwidth");
        await OnHostAsync(src, cancellationToken, h =>
        {
            using var d = Lookup(h, operation.Source, operation.Vm);
            if (LibvirtNative.virDomainMigrateSetMaxSpeed(d, ToLibvirtBandwidth(bandwidthMbps), 0) < 0)
            {
                throw LibvirtErrors.Fail($"Setting the migration bandwidth of VM '{operation.Vm}'");
            }

            return true;
        }).ConfigureAwait(false);
    }
}
