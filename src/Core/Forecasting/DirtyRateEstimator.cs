using VmEcosystem.Cluster;

namespace VmEcosystem.Forecasting;

/// <summary>
/// How fast a VM whose provider does not measure it is assumed to dirty memory, per workload class. These are
/// assumptions, not measurements: set them from your own guests (libvirt measures the rate itself; see README).
/// </summary>
public sealed record DirtyRateEstimateOptions
{
    /// <summary>Rate of an idle VM (guest kernel background work), MiB/s.</summary>
    public double IdleMiBps { get; init; } = 0.5;

    /// <summary>
    /// Share of the VM's memory in use a steady VM dirties per second at full CPU (scaled by its CPU utilisation):
    /// 0.005 is 10 MiB/s for a 4 GiB VM at half load.
    /// </summary>
    public double SteadyShare { get; init; } = 0.005;

    /// <summary>Same for a bursty VM (bursts write more per unit of CPU): 0.01 is 20 MiB/s for a 4 GiB VM at half load.</summary>
    public double BurstyShare { get; init; } = 0.01;

    /// <summary>Problems with these settings, each naming the setting (empty when valid).</summary>
    public IEnumerable<string> Validate(string prefix = "DirtyRateEstimate")
    {
        if (!(IdleMiBps >= 0) || double.IsInfinity(IdleMiBps))
        {
            yield return $"{prefix}:IdleMiBps must be a finite number >= 0 (was {IdleMiBps}).";
        }

        if (!(SteadyShare is >= 0 and <= 1))
        {
            yield return $"{prefix}:SteadyShare must be within [0, 1] (was {SteadyShare}).";
        }

        if (!(BurstyShare is >= 0 and <= 1))
        {
            yield return $"{prefix}:BurstyShare must be within [0, 1] (was {BurstyShare}).";
        }
    }
}

/// <summary>
/// Estimates a VM's dirty-page rate from its workload class (an <see cref="IWorkloadClassifier"/> over its recent CPU
/// utilisation) where the provider reports none, so the migration cost the planner weighs is not the cost of a
/// guest that never writes. Allocation-free; deterministic.
/// </summary>
public sealed class DirtyRateEstimator
{
    private readonly DirtyRateEstimateOptions _options;
    private readonly IWorkloadClassifier _classifier;

    /// <summary>Creates an estimator.</summary>
    /// <exception cref="ArgumentException">Invalid options; the message names the setting.</exception>
    public DirtyRateEstimator(DirtyRateEstimateOptions? options = null, IWorkloadClassifier? classifier = null)
    {
        _options = options ?? new DirtyRateEstimateOptions();
        var errors = _options.Validate().ToArray();
        if (errors.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _classifier = classifier ?? new DefaultWorkloadClassifier();
    }

    /// <summary>The VM's class from its recent CPU utilisation (fractions of its allocation, any order).</summary>
    public string Classify(VmId vm, ReadOnlySpan<double> recentUtilization) => _classifier.Classify(vm, recentUtilization, 1.0);

    /// <summary>Estimated dirty rate, MiB/s, of a VM of <paramref name="workloadClass"/> using <paramref name="memoryUsedMiB"/> at <paramref name="cpuUtilization"/>.</summary>
    public double Estimate(string workloadClass, double cpuUtilization, double memoryUsedMiB)
    {
        double load = Math.Clamp(double.IsFinite(cpuUtilization) ? cpuUtilization : 0, 0, 1);
        double memory = double.IsFinite(memoryUsedMiB) ? Math.Max(0, memoryUsedMiB) : 0;
        double share = workloadClass switch
        {
            "idle" => 0,
            "bursty" => _options.BurstyShare,
            _ => _options.SteadyShare,
        };
        return _options.IdleMiBps + (share * memory * load);
    }
}
