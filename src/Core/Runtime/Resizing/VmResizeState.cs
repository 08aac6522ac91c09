using VmEcosystem.Adjustment;
using VmEcosystem.Forecasting;

namespace VmEcosystem.Runtime;

/// <summary>
/// A VM's sizes as the resizing controller sees them: CPU in cores (its quota), its vCPUs, memory in MiB, and its disk
/// IOPS and network bandwidth limits (+∞: none).
/// </summary>
internal readonly record struct VmSizes(double Cores, int Vcpus, double MemoryMiB, double DiskIops = double.PositiveInfinity, double NetworkMbps = double.PositiveInfinity)
{
    public double this[int resource] => resource switch
    {
        ResizingController.Cpu => Cores,
        ResizingController.Memory => MemoryMiB,
        ResizingController.Disk => DiskIops,
        _ => NetworkMbps,
    };

    public VmSizes With(int resource, double value) => resource switch
    {
        ResizingController.Cpu => this with { Cores = value },
        ResizingController.Memory => this with { MemoryMiB = value },
        ResizingController.Disk => this with { DiskIops = value },
        _ => this with { NetworkMbps = value },
    };

    // quotas read back are shares, limits are rounded to whole IOPS and KiB/s: allow their rounding
    public bool SameAs(VmSizes other) => SameExceptMemory(other) && Math.Abs(MemoryMiB - other.MemoryMiB) < 0.5;

    public bool SameExceptMemory(VmSizes other) =>
        Vcpus == other.Vcpus && Math.Abs(Cores - other.Cores) < 1e-4 && SameLimit(DiskIops, other.DiskIops) && SameLimit(NetworkMbps, other.NetworkMbps);

    public static bool SameLimit(double a, double b) =>
        a == b || (double.IsFinite(a) && double.IsFinite(b) && Math.Abs(a - b) <= Math.Max(1, 0.01 * Math.Max(Math.Abs(a), Math.Abs(b))));

    public override string ToString()
    {
        string text = FormattableString.Invariant($"{Cores:0.##} cores on {Vcpus} vCPUs, {MemoryMiB:0} MiB");
        text += double.IsFinite(DiskIops) ? FormattableString.Invariant($", {DiskIops:0} IOPS") : string.Empty;
        return text + (double.IsFinite(NetworkMbps) ? FormattableString.Invariant($", {NetworkMbps:0.#} Mbit/s") : string.Empty);
    }
}

/// <summary>What the resizing controller remembers about one VM between passes.</summary>
internal sealed class VmResizeState
{
    /// <summary>One forecaster per resource (CPU cores, memory MiB, disk IOPS and network Mbit/s used).</summary>
    public IForecaster[] Forecasters { get; } =
        [ExponentialSmoothingForecaster.Simple(), ExponentialSmoothingForecaster.Simple(), ExponentialSmoothingForecaster.Simple(), ExponentialSmoothingForecaster.Simple()];

    /// <summary>The advisor's history per resource.</summary>
    public ResizeTrack[] Tracks { get; } = [ResizeTrack.New, ResizeTrack.New, ResizeTrack.New, ResizeTrack.New];

    /// <summary>The disk IOPS and network limits last read or applied (+∞: none); null until first read from the provider.</summary>
    public (double DiskIops, double NetworkMbps)? Limits { get; set; }

    /// <summary>The CPU quota last applied, cores (null: none set by the controller, the VM has all its vCPUs).</summary>
    public double? QuotaCores { get; set; }

    /// <summary>True once the VM's resource controls were read (on first sight, so a restarted controller knows its quota).</summary>
    public bool ControlsRead { get; set; }

    /// <summary>The sizes asked for by the last proposal and those the VM had then (null: nothing outstanding).</summary>
    public (VmSizes Before, VmSizes Asked)? Outstanding { get; set; }

    /// <summary>Passes spent waiting for the outstanding change to show.</summary>
    public int WaitedPasses { get; set; }

    /// <summary>Sizes a rollback must bring the VM back to (null: none); proposed again each pass until observed.</summary>
    public VmSizes? RollbackTo { get; set; }

    /// <summary>Per resource, the size before a shrink that took effect (NaN: none to check).</summary>
    public double[] ShrunkFrom { get; } = [double.NaN, double.NaN, double.NaN, double.NaN];

    /// <summary>Each resource's forecast upper bound at the policy's horizon, as of the last pass (NaN: not known yet).</summary>
    public double[] Upper { get; } = [double.NaN, double.NaN, double.NaN, double.NaN];

    /// <summary>The application's latency, ms: an extra series forecast like the resources (a policy may grow CPU on it).</summary>
    public IForecaster Latency { get; } = ExponentialSmoothingForecaster.Simple();

    /// <summary>Latency samples the forecaster has seen.</summary>
    public int LatencySamples { get; set; }

    /// <summary>The application's throughput, per second: an extra series forecast like the resources (a policy may size CPU on it).</summary>
    public IForecaster Throughput { get; } = ExponentialSmoothingForecaster.Simple();

    /// <summary>Throughput samples the forecaster has seen.</summary>
    public int ThroughputSamples { get; set; }

    /// <summary>The application's latency while the sizes held still, ms (smoothed; NaN: none reported).</summary>
    public double LatencyBaseline { get; set; } = double.NaN;

    /// <summary>The latency baseline when the last shrink was granted (NaN: none to check).</summary>
    public double LatencyBeforeShrink { get; set; } = double.NaN;

    /// <summary>When the planner was last asked to make room for this VM.</summary>
    public DateTimeOffset PlannerAskedAt { get; set; } = DateTimeOffset.MinValue;
}
