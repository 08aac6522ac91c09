using VmEcosystem.Hypervisor;

namespace VmEcosystem.Simulation;

/// <summary>Migration bandwidth changed while a move runs (the pre-copy model only: CloudSim's time has no bandwidth to tune).</summary>
internal sealed partial class SimulatorHypervisor
{
    protected override Task SetMigrationBandwidthCoreAsync(IMigrationOperation operation, double bandwidthMbps, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sync();
            int v = ActiveVm(operation.Vm, "SetMigrationBandwidth");
            if (!_running.TryGetValue(v, out var running) || running.Execution.IsCompleted)
            {
                throw new HypervisorException(HypervisorErrorKind.Conflict, $"The migration of VM '{operation.Vm}' has ended.", Name, "SetMigrationBandwidth");
            }

            double end = _sim.SetMigrationBandwidth(v, bandwidthMbps);
            running.Reschedule(_sim.Now, end);
            running.Completion?.Change(DueIn(end), Timeout.InfiniteTimeSpan);
            var step = TimeSpan.FromSeconds(Math.Max((end - _sim.Now) / 10, 0.001));
            running.Progress?.Change(step, step);
            return Task.CompletedTask;
        }
    }
}
