using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere;

/// <summary>vMotion through <c>RelocateVM_Task</c>, followed with <c>WaitForUpdatesEx</c> and cancelled with <c>CancelTask</c>.</summary>
internal sealed partial class VSphereHypervisor
{
    private static readonly string[] HostPlacementPaths = ["parent"];

    protected override Task<HostId> ResolveMigrationSourceAsync(MigrationRequest request, CancellationToken cancellationToken) =>
        VimAsync("StartMigration", $"VM '{request.Vm}'", async () =>
        {
            VimObject vm;
            try
            {
                vm = await _reader.ReadOneAsync(new Mor("VirtualMachine", request.Vm.Value), ["runtime.host"], cancellationToken).ConfigureAwait(false);
            }
            catch (VimFault fault) when (fault.Kind == HypervisorErrorKind.NotFound)
            {
                throw VmNotFound(request.Vm, "StartMigration");
            }

            try
            {
                await _reader.ReadOneAsync(new Mor("HostSystem", request.Target.Value), HostPlacementPaths, cancellationToken).ConfigureAwait(false);
            }
            catch (VimFault fault) when (fault.Kind == HypervisorErrorKind.NotFound)
            {
                // Checked here because vcsim drops the connection (and a real vCenter fails late) on an unknown host.
                throw HostNotFound(request.Target, "StartMigration");
            }

            return vm.Ref("runtime.host") is { } host ? new HostId(host.Value)
                : throw new HypervisorException(HypervisorErrorKind.Conflict, $"VM '{request.Vm}' is not registered on any host.", Name, "StartMigration");
        });

    protected override Task StartMigrationCoreAsync(MigrationRequest request, HostId source, MigrationExecution execution, CancellationToken cancellationToken) =>
        VimAsync("StartMigration", $"VM '{request.Vm}' to '{request.Target}'", async () =>
        {
            var targetHost = new Mor("HostSystem", request.Target.Value);
            var pool = await PoolForMoveAsync(source, targetHost, cancellationToken).ConfigureAwait(false);
            var vm = new Mor("VirtualMachine", request.Vm.Value);
            // Never retried by the HTTP pipeline: a repeated relocate would start a second task.
            var r = await _session.CallAsync(_ => E("RelocateVM_Task", This(vm),
                E("spec", pool is { } p ? Ref("pool", p) : null, Ref("host", targetHost)),
                E("priority", "defaultPriority")), idempotent: false, cancellationToken).ConfigureAwait(false);
            var task = Mor.From(r.Child("returnval")!);
            execution.ReportProgress(new MigrationProgress(MigrationPhase.Copying, 0, 0, 0, null, TimeProvider.GetUtcNow()));
            _ = Task.Run(() => FollowMigrationAsync(vm, task, execution), CancellationToken.None);
            return true;
        });

    /// <summary>The target cluster's root pool when the move leaves the VM's cluster (vMotion needs one then); else null.</summary>
    private async Task<Mor?> PoolForMoveAsync(HostId source, Mor target, CancellationToken cancellationToken)
    {
        var from = await _reader.ReadOneAsync(new Mor("HostSystem", source.Value), HostPlacementPaths, cancellationToken).ConfigureAwait(false);
        var to = await _reader.ReadOneAsync(target, HostPlacementPaths, cancellationToken).ConfigureAwait(false);
        if (to.Ref("parent") is not { } toParent || from.Ref("parent") == toParent)
        {
            return null;
        }

        var compute = await _reader.ReadOneAsync(toParent, ["resourcePool"], cancellationToken).ConfigureAwait(false);
        return compute.Ref("resourcePool");
    }

    /// <summary>
    /// Follows the task to its end and reports exactly one result. Losing the connection while following does not end
    /// the move (the server keeps running it): the follower reconnects a few times before it reports the move failed,
    /// with the VM where the server says it is.
    /// </summary>
    private async Task FollowMigrationAsync(Mor vm, Mor task, MigrationExecution execution)
    {
        var op = execution.Operation;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await TaskFollower.FollowAsync(_session, task,
                    percent => execution.ReportProgress(new MigrationProgress(MigrationPhase.Copying, Math.Clamp(percent, 0, 99), 0, 0, null, TimeProvider.GetUtcNow())),
                    execution.CancellationRequested, _options.EventWait, _stopping.Token).ConfigureAwait(false);
                execution.Succeed(TimeProvider.GetUtcNow(), 0);
                return;
            }
            catch (VimFault fault) when (fault.FaultType == "RequestCanceled")
            {
                execution.Cancel(TimeProvider.GetUtcNow());
                return;
            }
            catch (VimFault fault)
            {
                execution.Fail(TimeProvider.GetUtcNow(), fault.ToHypervisorException(Name, "Migration", $"VM '{op.Vm}' to '{op.Target}'"),
                    finalHost: await WhereIsAsync(vm).ConfigureAwait(false) ?? op.Source);
                return;
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return; // disposed: the move goes on in vCenter; a restarted runtime reconciles it
            }
            catch (Exception ex) when (ex is HttpRequestException or TimeoutException && attempt < 5)
            {
                LogFollowRetry(Logger, op.Vm.Value, attempt, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(attempt), TimeProvider, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                execution.Fail(TimeProvider.GetUtcNow(), new HypervisorException(HypervisorErrorKind.Unavailable,
                    $"Lost the migration task {task.Value} of VM '{op.Vm}': {ex.Message}", Name, "Migration", null, ex),
                    finalHost: await WhereIsAsync(vm).ConfigureAwait(false) ?? op.Source);
                return;
            }
        }
    }

    private async Task<HostId?> WhereIsAsync(Mor vm)
    {
        try
        {
            using var cts = new CancellationTokenSource(_options.RequestTimeout);
            var o = await _reader.ReadOneAsync(vm, ["runtime.host"], cts.Token).ConfigureAwait(false);
            return o.Ref("runtime.host") is { } h ? new HostId(h.Value) : null;
        }
        catch (Exception ex) when (ex is VimFault or HttpRequestException or TimeoutException or OperationCanceledException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 4110, Level = LogLevel.Warning, Message = "vSphere: following the migration of VM {Vm} failed (attempt {Attempt}): {Reason}; following again")]
    private static partial void LogFollowRetry(ILogger logger, string vm, int attempt, string reason);
}
