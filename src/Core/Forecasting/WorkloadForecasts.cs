using VmEcosystem.Cluster;

namespace VmEcosystem.Forecasting;

/// <summary>A forecast of one VM's metric.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Metric">The metric.</param>
/// <param name="Horizon">How far ahead.</param>
/// <param name="Forecast">Point and interval.</param>
/// <param name="Method">The model that produced it.</param>
public sealed record VmForecast(VmId Vm, MetricKind Metric, TimeSpan Horizon, Forecast Forecast, string Method);

/// <summary>A forecast of the sum of several VMs' metric (a host or a host set).</summary>
/// <param name="Metric">The metric.</param>
/// <param name="Horizon">How far ahead.</param>
/// <param name="Forecast">Sum of points, aggregated interval.</param>
/// <param name="Vms">VMs included.</param>
/// <param name="Correlation">The average pairwise error correlation used to aggregate the intervals.</param>
public sealed record AggregateForecast(MetricKind Metric, TimeSpan Horizon, Forecast Forecast, int Vms, double Correlation);

/// <summary>Why a VM is a hot spot.</summary>
public enum HotSpotKind
{
    /// <summary>Demand is forecast to grow fast.</summary>
    Rising = 0,

    /// <summary>Demand is unpredictable (wide interval).</summary>
    Volatile = 1,
}

/// <summary>A VM whose demand needs attention before it causes contention.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Kind">Rising or volatile.</param>
/// <param name="Score">How far past the threshold (1 = at the threshold).</param>
/// <param name="Detail">Figures behind the verdict.</param>
public sealed record HotSpot(VmId Vm, HotSpotKind Kind, double Score, string Detail);

/// <summary>Classifies a VM's workload from its CPU history (a hook: plug in your own).</summary>
public interface IWorkloadClassifier
{
    /// <summary>A class name such as <c>idle</c>, <c>steady</c>, <c>bursty</c>.</summary>
    string Classify(VmId vm, ReadOnlySpan<double> cpuHistory, double cpuCapacity);
}

/// <summary>The default classifier: idle, steady or bursty from the median and the spread of CPU demand.</summary>
public sealed class DefaultWorkloadClassifier : IWorkloadClassifier
{
    /// <inheritdoc />
    public string Classify(VmId vm, ReadOnlySpan<double> cpuHistory, double cpuCapacity)
    {
        if (cpuHistory.Length == 0 || cpuCapacity <= 0)
        {
            return "unknown";
        }

        Span<double> scratch = cpuHistory.Length <= 1024 ? stackalloc double[cpuHistory.Length] : new double[cpuHistory.Length];
        double median = RobustStatistics.Median(cpuHistory, scratch) / cpuCapacity;
        double p95 = RobustStatistics.Quantile(cpuHistory, 0.95, scratch) / cpuCapacity;
        if (p95 < 0.05)
        {
            return "idle";
        }

        return p95 > (2 * median) + 0.1 ? "bursty" : "steady";
    }
}
