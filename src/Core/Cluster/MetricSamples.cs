namespace VmEcosystem.Cluster;

/// <summary>The demand dimensions the forecasters and planner track per VM.</summary>
public enum MetricKind
{
    /// <summary>CPU demand in MHz.</summary>
    Cpu = 0,

    /// <summary>Memory in use, MiB.</summary>
    Memory = 1,

    /// <summary>Network throughput, Mbit/s (receive plus transmit).</summary>
    Network = 2,

    /// <summary>Disk operations per second (read plus write).</summary>
    Disk = 3,
}

/// <summary>Optional application-level measurements a provider or agent may report.</summary>
/// <param name="LatencyMs">Request latency in milliseconds (for example the 95th percentile).</param>
/// <param name="ThroughputPerSecond">Requests or operations per second.</param>
public readonly record struct ApplicationMetrics(double? LatencyMs, double? ThroughputPerSecond);

/// <summary>
/// One measurement of one VM's resource use over the interval ending at <see cref="Timestamp"/>.
/// A value type so that collecting the metrics of 100,000 VMs allocates one array, not 100,000 objects.
/// </summary>
public readonly record struct VmMetricSample
{
    /// <summary>The VM.</summary>
    public required VmId Vm { get; init; }

    /// <summary>End of the measurement interval.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>CPU used, MHz.</summary>
    public double CpuMhz { get; init; }

    /// <summary>CPU used as a share of the VM's allocation (0..1).</summary>
    public double CpuUtilization { get; init; }

    /// <summary>Memory in use (balloon/RSS), MiB.</summary>
    public double MemoryMiB { get; init; }

    /// <summary>Disk reads per second.</summary>
    public double DiskReadIops { get; init; }

    /// <summary>Disk writes per second.</summary>
    public double DiskWriteIops { get; init; }

    /// <summary>Disk bytes read per second.</summary>
    public double DiskReadBytesPerSecond { get; init; }

    /// <summary>Disk bytes written per second.</summary>
    public double DiskWriteBytesPerSecond { get; init; }

    /// <summary>Network receive, Mbit/s.</summary>
    public double NetworkRxMbps { get; init; }

    /// <summary>Network transmit, Mbit/s.</summary>
    public double NetworkTxMbps { get; init; }

    /// <summary>Memory the guest dirties per second, MiB/s, as the provider measured it (null: not measured; the runtime then estimates it from the workload class); a live migration copies it again.</summary>
    public double? DirtyMiBPerSecond { get; init; }

    /// <summary>Application measurements, when the provider has them.</summary>
    public ApplicationMetrics? Application { get; init; }

    /// <summary>The value of one tracked dimension.</summary>
    public double Value(MetricKind kind) => kind switch
    {
        MetricKind.Cpu => CpuMhz,
        MetricKind.Memory => MemoryMiB,
        MetricKind.Network => NetworkRxMbps + NetworkTxMbps,
        MetricKind.Disk => DiskReadIops + DiskWriteIops,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The sample as a resource vector (cores = CPU MHz / allocation is not known here, so 0).</summary>
    public ResourceVector AsDemand() => new(0, CpuMhz, MemoryMiB, NetworkRxMbps + NetworkTxMbps, DiskReadIops + DiskWriteIops);
}

/// <summary>One measurement of a host.</summary>
public readonly record struct HostMetricSample
{
    /// <summary>The host.</summary>
    public required HostId Host { get; init; }

    /// <summary>End of the measurement interval.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>CPU utilisation of the host (0..1).</summary>
    public double CpuUtilization { get; init; }

    /// <summary>Memory in use, MiB.</summary>
    public double MemoryUsedMiB { get; init; }

    /// <summary>Power drawn, watts, when known.</summary>
    public double? PowerWatts { get; init; }
}
