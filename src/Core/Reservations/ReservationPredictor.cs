using VmEcosystem.Cluster;

namespace VmEcosystem.Reservations;

/// <summary>What the predictor needs to know about a planned move.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Destination">Where it moves.</param>
/// <param name="Allocation">The VM's allocation (cores, MHz, memory, GPU memory).</param>
/// <param name="ForecastUpperMhz">Upper bound of the VM's CPU forecast over the window at the configured confidence (null: no forecast).</param>
/// <param name="CurrentMhz">What the VM asks for now.</param>
/// <param name="Usage">The VM's latest network and disk use (its own traffic, not the copy).</param>
/// <param name="WorkloadClass">The VM's workload class (null: unknown).</param>
/// <param name="CopyMiBps">The copy rate the move is expected to get.</param>
/// <param name="ExpectedSeconds">The move's expected duration (pre-copy model).</param>
/// <param name="HostCoreMhz">Speed of one destination core (turns the spike into cores).</param>
public readonly record struct PlannedMove(
    VmId Vm, HostId Destination, ResourceVector Allocation, double? ForecastUpperMhz, double CurrentMhz, ResourceVector Usage,
    string? WorkloadClass, double CopyMiBps, double ExpectedSeconds, double HostCoreMhz)
{
    /// <summary>The storage the move copies (disks not shared with the destination); none by default.</summary>
    public StorageCopy Storage { get; init; }
}

/// <summary>
/// Sizes a planned move's reservation: the VM's own forecast at the destination over the window (upper bound of
/// the interval at <see cref="ReservationOptions.Confidence"/>) plus the copy's spike from the pre-copy model,
/// corrected per workload class from the spikes measured on past moves (an exponential average of measured over
/// estimated). <see cref="ReservationMode.Static"/> holds the full allocation instead of the forecast. Plain
/// arithmetic; one dictionary of corrections; deterministic.
/// </summary>
public sealed class ReservationPredictor
{
    private readonly ReservationOptions _options;
    private readonly PreCopyModelOptions _model;
    private readonly Dictionary<string, (double Factor, int Samples)> _corrections = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Creates a predictor.</summary>
    /// <exception cref="ArgumentException">Invalid options; the message names the setting.</exception>
    public ReservationPredictor(ReservationOptions? options = null, PreCopyModelOptions? model = null)
    {
        _options = options ?? new ReservationOptions();
        _model = model ?? new PreCopyModelOptions();
        var errors = _options.Validate().Concat(_model.Validate()).ToArray();
        if (errors.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }
    }

    /// <summary>The settings.</summary>
    public ReservationOptions Options => _options;

    /// <summary>The spike correction learnt for a class (1 before any measurement), and how many moves taught it.</summary>
    public (double Factor, int Samples) CorrectionOf(string? workloadClass)
    {
        lock (_gate)
        {
            return _corrections.GetValueOrDefault(workloadClass ?? "unknown", (1.0, 0));
        }
    }

    /// <summary>The request for a planned move under <paramref name="mode"/> (the configured mode when null).</summary>
    public ReservationRequest Predict(in PlannedMove move, ReservationMode? mode = null)
    {
        string cls = move.WorkloadClass ?? "unknown";
        var (factor, _) = CorrectionOf(cls);
        double current = Math.Max(0, move.CurrentMhz);
        double baseline = (mode ?? _options.Mode) == ReservationMode.Static
            ? move.Allocation.CpuMhz
            : Math.Min(move.Allocation.CpuMhz, Math.Max(current, move.ForecastUpperMhz ?? move.Allocation.CpuMhz));
        double spike = _model.CpuOverhead(move.CopyMiBps).DestinationMhz * factor;
        double cores = Math.Max(1, move.Allocation.CpuCores) + (move.HostCoreMhz > 0 ? Math.Ceiling(spike / move.HostCoreMhz) : 0);
        double copyIops = CopyDiskIops(move);
        var amount = new ResourceVector(
            cores,
            baseline + spike,
            move.Allocation.MemoryMiB,
            (move.CopyMiBps * 8 * 1.048576) + Math.Max(0, move.Usage.NetworkMbps), // the copy arrives on the destination's link
            Math.Max(0, move.Usage.DiskIops) + copyIops,
            move.Allocation.GpuMemoryGiB);
        var window = TimeSpan.FromSeconds(Math.Max(0, move.ExpectedSeconds)) + _options.HoldAfterSwitchOver;
        var why = new ReservationExplanation(baseline, spike, factor, cls, _options.Confidence, _options.PriorityOf(move.WorkloadClass), move.CopyMiBps, move.ExpectedSeconds)
        {
            CopyDiskIops = copyIops,
        };
        return new ReservationRequest(move.Vm, move.Destination, amount, window, why);
    }

    // The copy's peak disk operations on the destination: while the storage goes, its whole rate is written; during
    // the memory rounds, the mirrored writes and the memory copy's own (where the model gives it any).
    private double CopyDiskIops(in PlannedMove move)
    {
        double rate = Math.Max(0, move.CopyMiBps);
        if (move.Storage.DiskMiB <= 0)
        {
            return _model.DestinationDiskIops(rate, 0);
        }

        double mirror = Math.Min(Math.Max(0, move.Storage.WriteMiBps), rate / 2);
        return Math.Max(_model.DestinationDiskIops(0, rate), _model.DestinationDiskIops(rate - mirror, mirror));
    }

    /// <summary>
    /// The request for <paramref name="move"/> on a destination with <paramref name="freeMhz"/> of CPU to give: as
    /// predicted at the move's copy rate when it fits; otherwise (not under <see cref="ReservationMode.Static"/>,
    /// which never slows a copy) at the fastest slower rate, down to <see cref="ReservationOptions.MinBandwidthShare"/>
    /// of it, whose spike fits beside the baseline: the move then starts capped at that rate, takes longer
    /// (<paramref name="expectedSeconds"/> gives its duration at a rate) and costs the host less. Null when even the
    /// slowest rate does not fit: the move waits.
    /// </summary>
    public ReservationRequest? FitTo(in PlannedMove move, double freeMhz, Func<double, double> expectedSeconds, ReservationMode? mode = null)
    {
        ArgumentNullException.ThrowIfNull(expectedSeconds);
        var full = Predict(move, mode);
        if (full.Amount.CpuMhz <= freeMhz)
        {
            return full;
        }

        double perMiBps = full.Explanation.CopyMiBps > 0 ? full.Explanation.SpikeMhz / full.Explanation.CopyMiBps : 0;
        if ((mode ?? _options.Mode) == ReservationMode.Static || perMiBps <= 0)
        {
            return null;
        }

        double rate = (freeMhz - full.Explanation.BaselineMhz) / perMiBps;
        if (!(rate >= _options.MinBandwidthShare * move.CopyMiBps))
        {
            return null;
        }

        return Predict(move with { CopyMiBps = rate, ExpectedSeconds = expectedSeconds(rate) }, mode);
    }

    /// <summary>
    /// Teaches the class's correction from one finished move: the copy's mean CPU measured on the destination
    /// against what the model estimated for it (uncorrected). Ignored when either is not a positive number.
    /// </summary>
    public void ObserveSpike(string? workloadClass, double estimatedMhz, double measuredMhz)
    {
        if (!(estimatedMhz > 0) || !(measuredMhz >= 0) || !double.IsFinite(estimatedMhz) || !double.IsFinite(measuredMhz))
        {
            return;
        }

        // Bounded so one odd measurement cannot make the next reservations absurd.
        double ratio = Math.Clamp(measuredMhz / estimatedMhz, 0.25, 4);
        string cls = workloadClass ?? "unknown";
        lock (_gate)
        {
            var (factor, n) = _corrections.GetValueOrDefault(cls, (1.0, 0));
            _corrections[cls] = (factor + (_options.SpikeLearningRate * (ratio - factor)), n + 1);
        }
    }
}
