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

    /// <summary>
    /// The CPU of copies that began after the simulation's last update, on their source and target (MHz per host),
    /// which that update's utilisation does not include yet: a provider's host sample shows what a copy costs as it
    /// runs. Empty without the pre-copy model (CloudSim's flat shares are charged at updates only).
    /// </summary>
    private double[]? CopiesSinceUpdate()
    {
        if (_scenario.Model.PreCopy is null || _running.Count == 0)
        {
            return null;
        }

        double[]? extra = null;
        foreach (var (v, running) in _running)
        {
            int source = _sim.HostOf(v), target = _sim.MigrationTargetOf(v);
            if (running.Execution.IsCompleted || running.StartedAt <= _sim.LastUpdateTime || source < 0 || target < 0)
            {
                continue;
            }

            extra ??= new double[_scenario.Hosts.Count];
            extra[source] += _sim.CopyOverheadMhz(v, atTarget: false);
            extra[target] += _sim.CopyOverheadMhz(v, atTarget: true);
        }

        return extra;
    }

    private sealed class RunningMigration(MigrationExecution execution, int vm, double start, double end, long bytes)
    {
        public MigrationExecution Execution { get; } = execution;

        public int Vm { get; } = vm;

        public double Start { get; private set; } = start;

        /// <summary>When the copy began (<see cref="Start"/> moves on a bandwidth change).</summary>
        public double StartedAt { get; } = start;

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

        /// <summary>The engine ended it while another migration's timer fired: reported when its own timer fires.</summary>
        public Action? PendingEnd { get; set; }

        public void DisposeTimers()
        {
            Completion?.Dispose();
            Progress?.Dispose();
            Failure?.Dispose();
        }
    }
}
