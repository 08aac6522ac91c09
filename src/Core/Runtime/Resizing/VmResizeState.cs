using VmEcosystem.Adjustment;
using VmEcosystem.Forecasting;

namespace VmEcosystem.Runtime;

/// <summary>A VM's sizes as the resizing controller sees them: CPU in cores (its quota), its vCPUs, memory in MiB.</summary>
internal readonly record struct VmSizes(double Cores, int Vcpus, double MemoryMiB)
{
    public double this[int resource] => resource == ResizingController.Cpu ? Cores : MemoryMiB;

    public VmSizes With(int resource, double value) => resource == ResizingController.Cpu ? this with { Cores = value } : this with { MemoryMiB = value };

    public bool SameAs(VmSizes other) =>
        Vcpus == other.Vcpus && Math.Abs(Cores - other.Cores) < 1e-4 && Math.Abs(MemoryMiB - other.MemoryMiB) < 0.5; // quotas read back are shares: allow their rounding

    public override string ToString() =>
        FormattableString.Invariant($"{Cores:0.##} cores on {Vcpus} vCPUs, {MemoryMiB:0} MiB");
}

/// <summary>What the resizing controller remembers about one VM between passes.</summary>
internal sealed class VmResizeState
{
    /// <summary>One forecaster per resource (CPU cores used, memory MiB used).</summary>
    public IForecaster[] Forecasters { get; } = [ExponentialSmoothingForecaster.Simple(), ExponentialSmoothingForecaster.Simple()];

    /// <summary>The advisor's history per resource.</summary>
    public ResizeTrack[] Tracks { get; } = [ResizeTrack.New, ResizeTrack.New];

    /// <summary>The CPU quota last applied, cores (null: none set by the controller, the VM has all its vCPUs).</summary>
    public double? QuotaCores { get; set; }

    /// <summary>The sizes asked for by the last proposal and those the VM had then (null: nothing outstanding).</summary>
    public (VmSizes Before, VmSizes Asked)? Outstanding { get; set; }

    /// <summary>Passes spent waiting for the outstanding change to show.</summary>
    public int WaitedPasses { get; set; }

    /// <summary>Sizes a rollback must bring the VM back to (null: none); proposed again each pass until observed.</summary>
    public VmSizes? RollbackTo { get; set; }

    /// <summary>Per resource, the size before a shrink that took effect (NaN: none to check).</summary>
    public double[] ShrunkFrom { get; } = [double.NaN, double.NaN];

    /// <summary>When the planner was last asked to make room for this VM.</summary>
    public DateTimeOffset PlannerAskedAt { get; set; } = DateTimeOffset.MinValue;
}
