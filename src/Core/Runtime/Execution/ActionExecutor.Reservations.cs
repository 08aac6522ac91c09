using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// The reservation controller's commands: they adjust a move the executor already admitted and runs (its bandwidth,
/// then the landed VM's CPU controls until its hold ends), so they take no new limit slot, but like every change
/// they go through here: called with the provider-call policy, counted in <c>vmeco.actions</c> and audited.
/// </summary>
internal sealed partial class ActionExecutor
{
    public const string BandwidthKind = "migration-bandwidth";
    public const string ReservationControlsKind = "reservation-controls";

    /// <summary>Sets the bandwidth of the VM's running move; false when none runs or the provider refused (audited).</summary>
    public async Task<bool> SteerMigrationBandwidthAsync(string controller, VmId vm, double bandwidthMbps, string why, CancellationToken cancellationToken)
    {
        RunningMigration? running;
        lock (_gate)
        {
            _running.TryGetValue(vm, out running);
        }

        if (running is null || running.Operation.Completion.IsCompleted)
        {
            return false;
        }

        var d = running.Decision;
        Exception? error = null;
        try
        {
            await core.Calls.CallAsync("SetMigrationBandwidth", async ct =>
            {
                await running.Operation.SetBandwidthAsync(bandwidthMbps, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HypervisorException or TimeoutException)
        {
            error = ex;
        }

        // No plan id: the record must not read as the move's outcome (a request's state, a restart's reconciliation).
        await RecordAdjustmentAsync(controller, BandwidthKind, null, vm, d.Source, d.Target, error,
            $"{BandwidthKind} of migration {running.Operation.Id} set to {bandwidthMbps:F0} Mbit/s: {why}").ConfigureAwait(false);
        return error is null;
    }

    /// <summary>
    /// Applies <paramref name="controls"/> to the VM (on <paramref name="host"/>); with <paramref name="save"/>, first
    /// reads and returns the controls it had (null when reading or applying failed; audited).
    /// </summary>
    public async Task<ResourceControls?> ApplyReservationControlsAsync(
        string controller, VmId vm, HostId host, ResourceControls controls, string why, bool save, CancellationToken cancellationToken)
    {
        ResourceControls? before = null;
        Exception? error = null;
        try
        {
            if (save)
            {
                before = await core.Calls.CallAsync("GetResourceControls", ct => core.Hypervisor.GetResourceControlsAsync(vm, ct), cancellationToken).ConfigureAwait(false);
            }

            await core.Calls.CallAsync("SetResourceControls", ct => core.Hypervisor.SetResourceControlsAsync(vm, controls, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HypervisorException or TimeoutException)
        {
            error = ex;
        }

        // The controls it had go into the record: a runtime that stops before restoring them restores them on its next start.
        await RecordAdjustmentAsync(controller, ReservationControlsKind, null, vm, host, null, error,
            $"{ReservationControlsKind} on {vm}: {Describe(controls)}: {why}", error is null && before is not null ? SavedControls.ToJson(before) : null).ConfigureAwait(false);
        return error is null ? before : null;
    }

    private async Task RecordAdjustmentAsync(string controller, string kind, string? planId, VmId vm, HostId host, HostId? target, Exception? error, string message, string? detail = null)
    {
        Count(kind, error is null ? Succeeded : Failed);
        core.Instruments.Action(kind, error is null ? "succeeded" : "failed", controller, host, RuntimeInstruments.ReasonOf(error));
        await core.Audit.AppendAsync(error is null ? AuditKind.ActionSucceeded : AuditKind.ActionFailed, controller, planId, vm, host, target,
            error is null ? message : $"{message} (failed: {error.Message})", detail).ConfigureAwait(false);
    }
}
