using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime;

/// <summary>
/// Application-level measurements of a VM (latency, throughput) from the application's own monitoring, for what the
/// runtime learns from its moves: read right before a migration starts and right after it ends. Register one with
/// <c>services.AddSingleton&lt;IApplicationMetricsSource, ...&gt;()</c>; without one the runtime learns from the
/// provider's measurements and the moves' durations and failures only.
/// </summary>
public interface IApplicationMetricsSource
{
    /// <summary>The VM's application metrics now, or null when there are none for it.</summary>
    Task<ApplicationMetrics?> GetAsync(VmId vm, CancellationToken cancellationToken);
}
