namespace VmEcosystem.Hypervisor;

/// <summary>Changing a running migration's bandwidth cap (what a reservation controller steers while a move runs).</summary>
public abstract partial class HypervisorProvider
{
    private const string SetBandwidthOperation = "SetMigrationBandwidth";

    /// <summary>
    /// Applies a new bandwidth cap to a running migration. Called only with a finite positive value, for a migration
    /// of this provider that has not ended, when <see cref="HypervisorCapabilities.MigrationTuning"/> is declared.
    /// The default refuses with <see cref="HypervisorErrorKind.NotSupported"/>.
    /// </summary>
    /// <param name="operation">The running migration.</param>
    /// <param name="bandwidthMbps">The new cap, Mbit/s.</param>
    /// <param name="cancellationToken">Cancels the call (not the migration).</param>
    protected virtual Task SetMigrationBandwidthCoreAsync(IMigrationOperation operation, double bandwidthMbps, CancellationToken cancellationToken) =>
        throw new HypervisorException(HypervisorErrorKind.NotSupported, $"Provider '{Name}' cannot change a running migration's bandwidth.", Name, SetBandwidthOperation);

    // The guarded entry every operation of this provider routes SetBandwidthAsync to.
    private Task SetMigrationBandwidthAsync(MigrationOperation operation, double bandwidthMbps, CancellationToken cancellationToken)
    {
        if (!double.IsFinite(bandwidthMbps) || bandwidthMbps <= 0)
        {
            throw new HypervisorException(HypervisorErrorKind.InvalidArgument,
                $"A migration bandwidth must be a finite number of Mbit/s above 0; got {bandwidthMbps}.", Name, SetBandwidthOperation);
        }

        if (operation.Completion.IsCompleted)
        {
            throw new HypervisorException(HypervisorErrorKind.Conflict,
                $"The migration of VM '{operation.Vm}' has ended; its bandwidth can no longer change.", Name, SetBandwidthOperation);
        }

        return InvokeAsync(SetBandwidthOperation, HypervisorCapabilities.MigrationTuning, cancellationToken, async ct =>
        {
            await SetMigrationBandwidthCoreAsync(operation, bandwidthMbps, ct).ConfigureAwait(false);
            return true;
        });
    }

    private void AllowTuning(MigrationOperation operation) => operation.TuneWith((mbps, ct) => SetMigrationBandwidthAsync(operation, mbps, ct));
}
