using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Reservations;

namespace VmEcosystem.Runtime;

/// <summary>
/// The <c>reservations</c> controller: while moves hold reservations, every
/// <see cref="ReservationOptions.SteeringInterval"/> it reads the moving VMs' and their destinations' use from the
/// provider and ticks each move's <see cref="MigrationSteering"/>: the reservation follows what the move uses plus
/// headroom (the planner's ledger sees it at once), and the copy slows when its destination passes its target (a
/// bandwidth command, through the executor). After switch-over the destination VM gets CPU shares by its SLO
/// priority until the hold ends, when its previous controls come back and the reservation is released. Idle (no
/// timer) while nothing is held.
/// </summary>
internal sealed class ReservationController(RuntimeCore core, RuntimeModel model, ActionExecutor executor, ReservationTracker tracker) : IRuntimeController
{
    public const string ControllerName = "reservations";

    /// <summary>CPU shares per priority (libvirt's default weight is 1024).</summary>
    private static readonly int[] SharesByPriority = [2048, 1024, 512];

    public string Name => ControllerName;

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        IReadOnlyList<TrackedReservation> entries;
        lock (model.Gate)
        {
            entries = tracker.Snapshot();
        }

        if (entries.Count == 0)
        {
            await context.WaitAsync(tracker.Admitted.WaitAsync(cancellationToken)).ConfigureAwait(false);
            return;
        }

        await context.DelayAsync(tracker.Options.SteeringInterval, cancellationToken).ConfigureAwait(false);
        var now = core.Time.GetUtcNow();
        var running = entries.Where(e => e.Started).ToList();
        if (running.Count == 0)
        {
            return;
        }

        var usage = (await context.CallAsync("GetVmMetrics", (h, ct) => h.GetVmMetricsAsync([.. running.Select(e => e.Decision.Vm)], ct), cancellationToken)
            .ConfigureAwait(false)).ToDictionary(s => s.Vm, s => s.CpuMhz);
        var hosts = (await context.CallAsync("GetHostMetrics", (h, ct) => h.GetHostMetricsAsync(ct), cancellationToken).ConfigureAwait(false))
            .ToDictionary(s => s.Host, s => s.CpuUtilization);
        foreach (var e in running)
        {
            await SteerAsync(e, usage, hosts, now, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SteerAsync(TrackedReservation e, Dictionary<VmId, double> usage, Dictionary<HostId, double> hosts, DateTimeOffset now, CancellationToken ct)
    {
        var d = e.Decision;
        if (e.HoldUntil is { } until && now >= until)
        {
            await EndHoldAsync(e, ct).ConfigureAwait(false);
            return;
        }

        bool copying = e.SwitchedOverAt is null;
        double dt = Math.Max(0.1, (now - (e.LastTick ?? now - tracker.Options.SteeringInterval)).TotalSeconds);
        e.LastTick = now;
        double capacity = CapacityOf(d.Target);
        // Before switch-over the VM runs on its source: what it needs on the destination is the copy's overhead (the
        // model's, at the share it runs at); after it, what the provider measures the VM using.
        double demand = copying ? e.Request.Explanation.SpikeMhz * e.AppliedShare : usage.GetValueOrDefault(d.Vm);
        double destination = hosts.TryGetValue(d.Target, out double u) ? u * capacity : 0;
        var command = e.Steering.Tick(demand, destination, capacity, copying, dt);
        lock (model.Gate)
        {
            tracker.Resize(d.Vm, command.ReservedMhz);
        }

        if (copying && Math.Abs(command.BandwidthShare - e.AppliedShare) > 0.05)
        {
            double mbps = Math.Max(1, e.LinkMbps * command.BandwidthShare);
            string why = $"destination {d.Target} at {destination / Math.Max(1, capacity):P0} of its CPU (target {tracker.Options.DestinationUtilizationTarget:P0}, priority {e.Steering.Priority})";
            if (await executor.SteerMigrationBandwidthAsync(Name, d.Vm, mbps, why, ct).ConfigureAwait(false))
            {
                e.AppliedShare = command.BandwidthShare;
            }
        }

        if (!copying && !e.ControlsApplied && core.Hypervisor.Capabilities.HasFlag(HypervisorCapabilities.CpuShares))
        {
            e.ControlsApplied = true; // once, whatever the outcome (a failure is audited)
            e.SavedControls = await executor.ApplyReservationControlsAsync(Name, d.Vm, d.Target,
                new ResourceControls { CpuShares = SharesByPriority[(int)e.Steering.Priority] },
                $"reservation of {command.ReservedMhz:F0} MHz held after switch-over (priority {e.Steering.Priority})", save: true, ct).ConfigureAwait(false);
        }
    }

    private async Task EndHoldAsync(TrackedReservation e, CancellationToken ct)
    {
        if (e.SavedControls is { } saved)
        {
            await executor.ApplyReservationControlsAsync(Name, e.Decision.Vm, e.Decision.Target, new ResourceControls { CpuShares = saved.CpuShares ?? 1024 },
                "reservation ended: previous CPU shares restored", save: false, ct).ConfigureAwait(false);
        }

        lock (model.Gate)
        {
            tracker.Release(e.Decision.Vm);
        }
    }

    private double CapacityOf(HostId host)
    {
        lock (model.Gate)
        {
            var s = model.LastState;
            int h = s is null ? -1 : Array.IndexOf(s.HostIds, host, 0, s.HostCount);
            return h >= 0 ? s!.HostCapacityMips(h) : 0;
        }
    }
}
