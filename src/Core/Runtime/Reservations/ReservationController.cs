using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Reservations;
using VmEcosystem.Runtime.Audit;

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
    private readonly QuietSignal _admitted = Wire(core.Quiet, tracker);

    /// <summary>CPU shares per priority (libvirt's default weight is 1024).</summary>
    private static readonly int[] SharesByPriority = [2048, 1024, 512];

    /// <summary>Disk I/O weight per priority (blkio: 100 to 1000; libvirt reports 100 for a domain nobody tuned).</summary>
    private static readonly int[] DiskWeightByPriority = [1000, 500, 100];

    /// <summary>The disk weight to put back when the weight before could not be read.</summary>
    private const int DefaultDiskWeight = 100;

    private long _restoredAt = -1; // the leadership changes count when leftovers were last restored

    public string Name => ControllerName;

    /// <summary>Wakes the controller (this instance took the lead of a scope: what the old leader left set is restored).</summary>
    public void Wake() => _admitted.Set();

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        // At start, and whenever this instance takes the lead of a scope: the controls an earlier run or the previous
        // leader left set on landed VMs are put back first (only where this instance may act now).
        var standing = core.Leadership;
        long changes = standing.Status?.Changes ?? 0;
        if (standing.MayAct && changes != _restoredAt)
        {
            _restoredAt = changes;
            await RestoreLeftoversAsync(cancellationToken).ConfigureAwait(false);
        }

        IReadOnlyList<TrackedReservation> entries;
        lock (model.Gate)
        {
            entries = tracker.Snapshot();
        }

        if (entries.Count == 0)
        {
            await _admitted.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await context.DelayAsync(tracker.Options.SteeringInterval, cancellationToken).ConfigureAwait(false);
        var now = core.Time.GetUtcNow();
        var copying = entries.Where(e => e.Started && e.SwitchedOverAt is null).ToList();
        var copies = copying.Select(e => new RunningCopy(e.Decision.Vm, e.Decision.Target, tracker.Options.NetworkPriorityOf(e.Request.Explanation.WorkloadClass))).ToArray();
        foreach (var e in entries.Where(e => e.Started))
        {
            await SteerAsync(e, now, copies, cancellationToken).ConfigureAwait(false);
        }

        // Measuring comes after the commands: a provider call here must not delay what steering decided.
        if (copying.Count > 0 && await HostSamplesAsync(context, cancellationToken).ConfigureAwait(false) is { } hosts)
        {
            lock (model.Gate)
            {
                foreach (var e in copying)
                {
                    if (e.SwitchedOverAt is null && hosts.FirstOrDefault(x => x.Host == e.Decision.Target) is { } sample)
                    {
                        tracker.Measure(e, sample.CpuUtilization * Observed(e.Decision.Target, e.Decision.Vm).CapacityMhz, model.LastState);
                    }
                }
            }
        }
    }

    // A fresh sample of every host's CPU while copies run (what a copy costs its destination shows there as it runs);
    // null when the provider has no host metrics or the call fails (steering then goes on without measuring).
    private async Task<IReadOnlyList<HostMetricSample>?> HostSamplesAsync(ControllerContext context, CancellationToken ct)
    {
        if (!core.Hypervisor.Capabilities.HasFlag(HypervisorCapabilities.HostMetrics))
        {
            return null;
        }

        try
        {
            return await context.CallAsync("GetHostMetrics", (h, c) => h.GetHostMetricsAsync(c), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HypervisorException or TimeoutException)
        {
            return null;
        }
    }

    private async Task SteerAsync(TrackedReservation e, DateTimeOffset now, RunningCopy[] copies, CancellationToken ct)
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
        SteeringCommand command;
        double destination, capacity;
        lock (model.Gate)
        {
            // The latest observation (the collection loop's samples, as often as the provider reports): no provider
            // call here, which a provider busy with the move's own job could hold up. Before switch-over the VM runs on
            // its source, so what it needs on the destination is the copy's overhead (the model's, at the share it runs
            // at); after it, what the VM was last seen using.
            (destination, capacity, double used) = Observed(d.Target, d.Vm);
            double demand = copying ? e.Request.Explanation.SpikeMhz * e.AppliedShare : used;
            command = e.Steering.Tick(demand, destination, capacity, copying, dt);
            tracker.Resize(d.Vm, command.ReservedMhz);
        }

        // The CPU loop's share, capped while a copy of higher network priority runs into the same destination.
        var self = Array.Find(copies, c => c.Vm == d.Vm); // default (no copy) after switch-over, where no share is set
        var (cap, yieldsTo) = LinkPriority.CapOf(self, copies, tracker.Options.YieldedBandwidthShare);
        double share = Math.Min(command.BandwidthShare, cap);
        if (copying && Math.Abs(share - e.AppliedShare) > 0.05)
        {
            double mbps = Math.Max(1, e.LinkMbps * share);
            string why = $"destination {d.Target} at {destination / Math.Max(1, capacity):P0} of its CPU (target {tracker.Options.DestinationUtilizationTarget:P0}, priority {e.Steering.Priority})";
            if (yieldsTo is { } higher && share < command.BandwidthShare)
            {
                why = $"yields the link into {d.Target} to the copy of {higher.Vm} (network priority {higher.Priority} over {self.Priority})";
            }

            if (await executor.SteerMigrationBandwidthAsync(Name, d.Vm, mbps, why, ct).ConfigureAwait(false))
            {
                e.AppliedShare = share;
            }
        }

        var caps = core.Hypervisor.Capabilities;
        if (!copying && !e.ControlsApplied && caps.HasFlag(HypervisorCapabilities.CpuShares))
        {
            // CPU shares by priority and, where the provider has it, the request's memory as the VM's memory
            // reservation (libvirt: memory tune soft_limit): what the destination gives the VM under contention.
            e.ControlsApplied = true; // once, whatever the outcome (a failure is audited)
            var disk = tracker.Options.DiskPriorityOf(e.Request.Explanation.WorkloadClass);
            e.SavedControls = await executor.ApplyReservationControlsAsync(Name, d.Vm, d.Target, new ResourceControls
            {
                CpuShares = SharesByPriority[(int)e.Steering.Priority],
                MemoryReservationMiB = caps.HasFlag(HypervisorCapabilities.MemoryReservation) && e.Request.Amount.MemoryMiB > 0 ? e.Request.Amount.MemoryMiB : null,
                DiskWeight = caps.HasFlag(HypervisorCapabilities.DiskWeight) ? DiskWeightByPriority[(int)disk] : null,
            }, $"reservation of {command.ReservedMhz:F0} MHz held after switch-over (priority {e.Steering.Priority}, disk {disk})", save: true, ct).ConfigureAwait(false);
        }
    }

    private async Task EndHoldAsync(TrackedReservation e, CancellationToken ct)
    {
        if (e.SavedControls is { } saved)
        {
            await executor.ApplyReservationControlsAsync(Name, e.Decision.Vm, e.Decision.Target, Restoring(saved), "reservation ended: previous controls restored", save: false, ct).ConfigureAwait(false);
        }

        lock (model.Gate)
        {
            tracker.Release(e.Decision.Vm);
        }
    }

    // What puts a VM's controls back as they were before its reservation's (defaults where they were not reported).
    private ResourceControls Restoring(ResourceControls saved)
    {
        var caps = core.Hypervisor.Capabilities;
        return new ResourceControls
        {
            CpuShares = saved.CpuShares ?? 1024,
            MemoryReservationMiB = caps.HasFlag(HypervisorCapabilities.MemoryReservation) ? saved.MemoryReservationMiB ?? double.PositiveInfinity : null,
            DiskWeight = caps.HasFlag(HypervisorCapabilities.DiskWeight) ? saved.DiskWeight ?? DefaultDiskWeight : null,
        };
    }

    // A runtime that stopped (or died) while a landed VM held its reservation's controls left them set: the trail has
    // the change with the controls before it and no restore after. Put them back before anything else.
    private async Task RestoreLeftoversAsync(CancellationToken ct)
    {
        var last = new Dictionary<VmId, AuditRecord>();
        try
        {
            var query = new AuditQuery { Controller = ControllerName, Kinds = [AuditKind.ActionSucceeded], From = core.Time.GetUtcNow() - LeftoverWindow };
            await foreach (var r in core.Audit.Store.QueryAsync(query, ct).ConfigureAwait(false))
            {
                if (r.Vm is { } vm && r.Message.StartsWith(ActionExecutor.ReservationControlsKind, StringComparison.Ordinal))
                {
                    last[vm] = r; // the trail is in order: the last change per VM wins
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            RuntimeLog.LeftoversUnknown(core.Logger, ex);
            return;
        }

        HashSet<VmId> holding;
        lock (model.Gate)
        {
            holding = [.. tracker.Snapshot().Select(e => e.Decision.Vm)]; // this run's own holds are not leftovers
        }

        foreach (var (vm, r) in last)
        {
            if (holding.Contains(vm) || !core.Leadership.MayActOn(r.Source))
            {
                continue;
            }

            if (SavedControls.FromJson(r.Detail) is { } saved)
            {
                await executor.ApplyReservationControlsAsync(Name, vm, r.Source ?? default, Restoring(saved.ToControls()),
                    "reservation of an earlier run ended: previous controls restored", save: false, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>How far back the trail is read for controls an earlier run left set.</summary>
    private static readonly TimeSpan LeftoverWindow = TimeSpan.FromDays(7);

    // The destination's demand and capacity and the VM's own demand, MHz, in the latest observation (zeros when unknown).
    private (double DestinationMhz, double CapacityMhz, double VmMhz) Observed(HostId host, VmId vm)
    {
        var s = model.LastState;
        int h = s is null ? -1 : Array.IndexOf(s.HostIds, host, 0, s.HostCount);
        if (h < 0)
        {
            return (0, 0, 0);
        }

        int v = s!.IndexOf(vm);
        double capacity = s.HostCapacityMips(h);
        return (s.HostUtilizationAtUpdate(h) * capacity, capacity, v >= 0 ? s.VmRequestedMips[v] : 0);
    }

    // An admission wakes the controller through a signal the runtime's idleness sees (a driver of a virtual clock
    // must not move time between the admission and the controller's first tick).
    private static QuietSignal Wire(Quiescence quiet, ReservationTracker tracker)
    {
        var signal = new QuietSignal(quiet);
        tracker.Admitted = signal.Set;
        return signal;
    }
}
