using System.Collections.Concurrent;
using System.Globalization;
using VmEcosystem.Cluster;
using VmEcosystem.Tuning;

namespace VmEcosystem.Runtime.Rollout;

/// <summary>
/// VMs running the <see cref="SimulatedApplication"/>: applying a configuration changes the model a VM runs, and its
/// latency (what rollouts compare) is the model's for that configuration with seeded noise (5 % gaussian). For rollout
/// tests and demonstrations on the simulator.
/// </summary>
internal sealed class SimulatedFleet(SearchSpace space, SimulatedApplication application, IReadOnlyDictionary<string, string> initial, Random random)
    : IConfigurationApplier, IApplicationMetricsSource
{
    private readonly ConcurrentDictionary<VmId, IReadOnlyDictionary<string, string>> _settings = new();
    private readonly Lock _gate = new();

    /// <summary>The settings of gene values (in the space's order), formatted as a configuration.</summary>
    public static Dictionary<string, string> Settings(SearchSpace space, ReadOnlySpan<double> values) => space.Settings(values);

    public Task<IReadOnlyDictionary<string, string>> ReadAsync(VmId vm, CancellationToken cancellationToken) =>
        Task.FromResult(_settings.GetValueOrDefault(vm, initial));

    public Task ApplyAsync(VmId vm, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        Values(settings); // refuses what the model cannot run
        _settings[vm] = new Dictionary<string, string>(settings);
        return Task.CompletedTask;
    }

    public Task<ApplicationMetrics?> GetAsync(VmId vm, CancellationToken cancellationToken)
    {
        var m = application.Measure(Values(_settings.GetValueOrDefault(vm, initial)));
        double noise;
        lock (_gate)
        {
            // Box–Muller: one gaussian draw per sample.
            noise = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        }

        return Task.FromResult<ApplicationMetrics?>(new ApplicationMetrics(m.LatencyMs * Math.Max(0.5, 1 + (0.05 * noise)), m.Throughput));
    }

    private double[] Values(IReadOnlyDictionary<string, string> settings) => space.Values(settings);
}
