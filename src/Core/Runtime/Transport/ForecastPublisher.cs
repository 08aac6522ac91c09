using System.Globalization;
using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Messaging;

namespace VmEcosystem.Runtime;

/// <summary>
/// The prediction module as a runtime controller (<c>forecasts</c>): every <see cref="WorkloadProfilerOptions.SampleInterval"/>
/// it reads the inventory and the VMs' samples into a <see cref="WorkloadProfiler"/> and publishes each running VM's
/// forecast of every metric at every horizon (with its interval) on <see cref="MessageTopics.Forecasts"/>. Message ids
/// are the VM, metric, horizon and sample round, so a repeated publish is a duplicate a consumer drops.
/// </summary>
internal sealed class ForecastPublisher(IMessageTransport transport, WorkloadProfilerOptions options) : IRuntimeController
{
    private static readonly MetricKind[] Metrics = [MetricKind.Cpu, MetricKind.Memory, MetricKind.Network, MetricKind.Disk];
    private readonly WorkloadProfiler _profiler = new(options);

    public string Name => "forecasts";

    /// <summary>Forecasts published since start.</summary>
    public long Published { get; private set; }

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        await context.DelayAsync(options.SampleInterval, cancellationToken).ConfigureAwait(false);
        var inventory = await context.CallAsync("GetInventory", (h, ct) => h.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false);
        var samples = await context.CallAsync("GetVmMetrics", (h, ct) => h.GetVmMetricsAsync(null, ct), cancellationToken).ConfigureAwait(false);
        _profiler.UpdateInventory(inventory);
        _profiler.Observe(samples);
        var now = context.Time.GetUtcNow();
        foreach (var sample in samples)
        {
            foreach (var metric in Metrics)
            {
                foreach (var horizon in options.Horizons)
                {
                    VmForecast f;
                    try
                    {
                        f = _profiler.Forecast(sample.Vm, metric, horizon);
                    }
                    catch (InvalidOperationException)
                    {
                        continue; // not enough history for this VM yet
                    }

                    var message = new ForecastMessage(f.Vm, metric.ToString().ToLowerInvariant(), horizon, f.Forecast.Point, f.Forecast.Lower, f.Forecast.Upper, options.Confidence, now);
                    string id = string.Create(CultureInfo.InvariantCulture, $"{f.Vm}/{message.Metric}/{horizon.TotalSeconds:0}/{_profiler.Rounds}");
                    await transport.PublishAsync(MessageTopics.Forecasts, id, MessageJson.Serialize(message), cancellationToken).ConfigureAwait(false);
                    Published++;
                }
            }
        }
    }
}
