using VmEcosystem.Hypervisor;

namespace VmEcosystem.Simulation;

/// <summary>A running migration's state, and its bandwidth changed while it runs (the pre-copy model only: CloudSim's time has no bandwidth to tune).</summary>
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

    private sealed class RunningMigration(MigrationExecution execution, int vm, double start, double end, long bytes)
    {
        public MigrationExecution Execution { get; } = execution;

        public int Vm { get; } = vm;

        public double Start { get; private set; } = start;

        public double End { get; private set; } = end;

        /// <summary>Share of the bytes already sent at <see cref="Start"/> (above 0 after a bandwidth change).</summary>
        public double SentBefore { get; private set; }

        /// <summary>Share of the bytes sent at simulated time <paramref name="now"/> (never decreasing).</summary>
        public double ShareAt(double now) =>
            SentBefore + ((1 - SentBefore) * Math.Clamp((now - Start) / Math.Max(1e-9, End - Start), 0, 1));

        /// <summary>The rest of the move runs from <paramref name="now"/> to <paramref name="end"/>.</summary>
        public void Reschedule(double now, double end)
        {
            SentBefore = ShareAt(now);
            Start = now;
            End = end;
        }

        public long Bytes { get; } = bytes;

        public ITimer? Completion { get; set; }

        public ITimer? Progress { get; set; }

        public ITimer? Failure { get; set; }

        public bool Failed { get; set; }

        public void DisposeTimers()
        {
            Completion?.Dispose();
            Progress?.Dispose();
            Failure?.Dispose();
        }
    }
}
