using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Reservations;

namespace VmEcosystem.Runtime;

/// <summary>One migration's reservation as the runtime tracks it, from admission to the end of its hold.</summary>
internal sealed class TrackedReservation(MigrationDecision decision, ReservationRequest request, MigrationSteering steering, double linkMbps)
{
    public MigrationDecision Decision { get; } = decision;

    public ReservationRequest Request { get; } = request;

    public MigrationSteering Steering { get; } = steering;

    /// <summary>The copy's link share when it started, Mbit/s (what a bandwidth share of 1 means).</summary>
    public double LinkMbps { get; } = linkMbps;

    public bool Started { get; set; }

    public DateTimeOffset? SwitchedOverAt { get; set; }

    public DateTimeOffset? HoldUntil { get; set; }

    public double AppliedShare { get; set; } = 1;

    public DateTimeOffset? LastTick { get; set; }

    /// <summary>The destination VM's controls before the reservation's were applied (restored when the hold ends).</summary>
    public ResourceControls? SavedControls { get; set; }

    public bool ControlsApplied { get; set; }

    /// <summary>The copy's spike as measured on the destination so far (see <see cref="ReservationTracker.Measure"/>).</summary>
    public SpikeMeasurement Spike { get; } = new();
}

/// <summary>
/// What a running copy costs its destination, measured: the destination's CPU not explained by the VMs it runs
/// (host use minus its resident VMs' use: the host's own overhead and, while the copy runs, the copy's), against the
/// same when the copy started.
/// </summary>
internal sealed class SpikeMeasurement
{
    public double BaselineMhz { get; set; } = double.NaN;

    public double MeasuredSum { get; set; }

    public double EstimatedSum { get; set; }

    public int Count { get; set; }
}

/// <summary>
/// The runtime's migration reservations (issue: predicted, reserved, steered): a planned move is admitted only when
/// its destination can hold its <see cref="ReservationRequest"/> (else the executor skips it as deferred, with the
/// reason); the request then is the move's in-flight slot in the planner's ledger until the move fails, or until its
/// hold after switch-over ends. Called under the runtime model's lock.
/// </summary>
internal sealed class ReservationTracker
{
    private readonly ReservationOptions _options;
    private readonly ReservationPredictor _predictor;
    private readonly MigrationReservations _reservations;
    private readonly IWorkloadClassifier _classifier = new DefaultWorkloadClassifier();
    private readonly Dictionary<VmId, TrackedReservation> _entries = [];
    private readonly Dictionary<VmId, SpikeRecord> _measured = [];
    private long _learnt;

    public ReservationTracker(ReservationOptions options, PlanningSession session)
    {
        _options = options;
        _predictor = new ReservationPredictor(options);
        _reservations = new MigrationReservations(session.Ledger);
    }

    public ReservationOptions Options => _options;

    /// <summary>Called when a reservation is admitted (wakes the steering controller).</summary>
    public Action? Admitted { get; set; }

    public IReadOnlyList<TrackedReservation> Snapshot() => [.. _entries.Values.OrderBy(e => e.Decision.Vm.Value, StringComparer.Ordinal)];

    /// <summary>Why the move cannot start now (its destination cannot hold it), or null when its request is held.</summary>
    public string? Admit(MigrationDecision d, PlanningState? state, PlanningCycle cycle, DateTimeOffset now)
    {
        int v = state?.IndexOf(d.Vm) ?? -1;
        int target = state is null ? -1 : Array.IndexOf(state.HostIds, d.Target, 0, state.HostCount);
        if (v < 0 || target < 0)
        {
            return null; // nothing known to size it with: the planner's own slot stands
        }

        var s = state!;
        int source = s.VmHost[v];
        double link = Math.Min(s.HostBandwidthMbps[target], source >= 0 ? s.HostBandwidthMbps[source] : double.PositiveInfinity) * cycle.Context.MigrationBandwidthShare;
        double memory = s.VmMemoryMiB[v];
        double copy = Math.Max(1e-6, link / 8);
        var estimate = cycle.Context.MigrationModel.Estimate(memory, s.DirtyMiBps(v), copy);
        string cls = cycle.Session.WorkloadClassOf(d.Vm) ?? _classifier.Classify(d.Vm, s.History(v), 1.0);
        var move = new PlannedMove(d.Vm, d.Target, new ResourceVector(s.VmPes[v], s.VmTotalMips[v], memory),
            cycle.Session.UpperBound(d.Vm, 1, _options.Confidence), s.VmRequestedMips[v],
            new ResourceVector(0, 0, 0, s.NetworkMbps(v), s.DiskIops(v)), cls, copy, estimate.TotalSeconds, s.HostCoreMips(target));

        // CPU here; memory is already held per move, in-flight ones included, by the placement recheck before this.
        double load = 0;
        for (int u = 0; u < s.VmCount; u++)
        {
            bool held = _entries.TryGetValue(s.VmIds[u], out var e) && e.Decision.Target == d.Target;
            load += u != v && s.VmActive[u] && s.VmHost[u] == target && !held ? s.VmRequestedMips[u] : 0;
        }

        // A copy too costly for what the destination has free starts slower instead (its spike then fits).
        double free = s.HostTotalMips[target] - load - _reservations.ReservedMhzOn(d.Target) + (_reservations.HeldBy(d.Vm)?.CpuMhz ?? 0);
        double dirty = s.DirtyMiBps(v);
        var model = cycle.Context.MigrationModel;
        var request = _predictor.FitTo(move, free, rate => model.Estimate(memory, dirty, Math.Max(1e-6, rate)).TotalSeconds) ?? _predictor.Predict(move);
        var admission = _reservations.TryReserve(request, s.HostTotalMips[target], load, double.PositiveInfinity, now);
        if (!admission.Admitted)
        {
            return $"deferred: {admission.Reason}";
        }

        double staticMhz = s.VmTotalMips[v] + request.Explanation.SpikeMhz;
        double share = link > 0 ? Math.Min(1, request.Explanation.CopyMiBps * 8 / link) : 1;
        _entries[d.Vm] = new TrackedReservation(d, request, new MigrationSteering(request, staticMhz, _options, share), link) { AppliedShare = share };
        Admitted?.Invoke();
        return null;
    }

    /// <summary>The move started: its request replaces the planner's own in-flight slot. Returns it (null when none was admitted).</summary>
    public ReservationRequest? OnStarted(VmId vm, DateTimeOffset now, PlanningState? state = null)
    {
        if (!_entries.TryGetValue(vm, out var e))
        {
            return null;
        }

        e.Started = true;
        if (state is not null && Unexplained(state, e.Decision.Target, e.Decision.Vm) is { } baseline)
        {
            e.Spike.BaselineMhz = baseline;
        }

        _reservations.Hold(e.Request, now);
        _reservations.ResizeCpu(vm, e.Steering.Command.ReservedMhz);
        return e.Request;
    }

    /// <summary>The move ended: moved, its reservation is kept for the hold after switch-over; otherwise it is released at once.</summary>
    /// <returns>True when the reservation is kept (the caller keeps the ledger slot).</returns>
    public bool OnEnded(VmId vm, bool moved, DateTimeOffset now)
    {
        if (!_entries.TryGetValue(vm, out var e))
        {
            return false;
        }

        if (moved && e.Spike.Count > 0)
        {
            // Online correction: what the copies of this class really cost their destinations, against the model.
            var spike = new SpikeRecord(e.Request.Explanation.WorkloadClass, e.Spike.EstimatedSum / e.Spike.Count, e.Spike.MeasuredSum / e.Spike.Count, now, ++_learnt);
            _predictor.ObserveSpike(spike.WorkloadClass, spike.EstimatedMhz, spike.MeasuredMhz);
            _measured[vm] = spike;
        }

        if (!moved || _options.HoldAfterSwitchOver <= TimeSpan.Zero)
        {
            Release(vm);
            return false;
        }

        e.SwitchedOverAt = now;
        e.HoldUntil = now + _options.HoldAfterSwitchOver;
        var held = _reservations.HeldBy(vm) ?? e.Request.Amount;
        _reservations.Hold(e.Request with { Amount = held, Window = _options.HoldAfterSwitchOver }, now);
        return true;
    }

    /// <summary>The spike the VM's landed move was measured at (once; null when none was): for the audit trail.</summary>
    public SpikeRecord? TakeMeasured(VmId vm) => _measured.Remove(vm, out var spike) ? spike : null;

    /// <summary>Teaches a spike measured by an earlier process (from its audit record).</summary>
    public void Replay(SpikeRecord spike) => _predictor.ObserveSpike(spike.WorkloadClass, spike.EstimatedMhz, spike.MeasuredMhz);

    /// <summary>The spike correction learnt for a workload class from the moves measured so far.</summary>
    public (double Factor, int Samples) CorrectionOf(string? workloadClass) => _predictor.CorrectionOf(workloadClass);

    /// <summary>
    /// One measurement of a running copy's spike from a fresh sample of its destination's CPU
    /// (<paramref name="destinationMhz"/>): what the VMs placed there (in <paramref name="state"/>) do not explain, over
    /// the baseline taken when the copy started, against the model's spike (uncorrected) at the share the copy runs at.
    /// </summary>
    public void Measure(TrackedReservation e, double destinationMhz, PlanningState? state)
    {
        var m = e.Spike;
        if (state is null || double.IsNaN(m.BaselineMhz) || !double.IsFinite(destinationMhz) || SharesItsDestination(e)
            || Residents(state, e.Decision.Target, e.Decision.Vm) is not { } residents)
        {
            return;
        }

        var why = e.Request.Explanation;
        double startShare = e.LinkMbps > 0 ? Math.Min(1, why.CopyMiBps * 8 / e.LinkMbps) : 1;
        double estimated = why.SpikeMhz / Math.Max(1e-9, why.SpikeCorrection) * (startShare > 0 ? e.AppliedShare / startShare : 1);
        m.MeasuredSum += Math.Max(0, destinationMhz - residents.Mhz - m.BaselineMhz);
        m.EstimatedSum += estimated;
        m.Count++;
    }

    // Another copy into or out of the same destination would be counted as this one's: such samples are not taken.
    private bool SharesItsDestination(TrackedReservation e)
    {
        foreach (var o in _entries.Values)
        {
            if (!ReferenceEquals(o, e) && o.Started && o.SwitchedOverAt is null && (o.Decision.Target == e.Decision.Target || o.Decision.Source == e.Decision.Target))
            {
                return true;
            }
        }

        return false;
    }

    private static double? Unexplained(PlanningState s, HostId host, VmId incoming) =>
        Residents(s, host, incoming) is { } r ? (s.HostUtilizationAtUpdate(r.Host) * s.HostCapacityMips(r.Host)) - r.Mhz : null;

    // The host's index and what the VMs placed on it use (the incoming VM left out), MHz; null when the host is unknown.
    private static (int Host, double Mhz)? Residents(PlanningState s, HostId host, VmId incoming)
    {
        int h = Array.IndexOf(s.HostIds, host, 0, s.HostCount);
        if (h < 0)
        {
            return null;
        }

        double residents = 0;
        for (int u = 0; u < s.VmCount; u++)
        {
            residents += s.VmActive[u] && s.VmHost[u] == h && s.VmIds[u] != incoming ? s.VmRequestedMips[u] : 0;
        }

        return (h, residents);
    }

    /// <summary>Applies the controller's reservation to the ledger.</summary>
    public void Resize(VmId vm, double cpuMhz) => _reservations.ResizeCpu(vm, cpuMhz);

    /// <summary>Forgets a reservation and frees its slot (failure, abandon, end of hold).</summary>
    public bool Release(VmId vm)
    {
        bool had = _entries.Remove(vm);
        _reservations.Release(vm);
        return had;
    }
}
