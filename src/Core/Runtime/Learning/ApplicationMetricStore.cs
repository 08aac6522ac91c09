using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime;

/// <summary>One application measurement of a VM in the <see cref="ApplicationMetricStore"/>.</summary>
/// <param name="Timestamp">When it was taken (the runtime's clock).</param>
/// <param name="Source">Who measured it: <c>application</c> (the registered <see cref="IApplicationMetricsSource"/>) or <c>tuning:&lt;run&gt;</c>.</param>
/// <param name="Metrics">The latency and throughput the runtime reads.</param>
/// <param name="Detail">Every metric measured, by name (a tuning evaluation's whole measurement).</param>
public sealed record ApplicationMetricSample(DateTimeOffset Timestamp, string Source, ApplicationMetrics Metrics, IReadOnlyDictionary<string, double> Detail);

/// <summary>
/// The runtime's store of application measurements: what the registered <see cref="IApplicationMetricsSource"/>
/// reports and what tuning runs measure on their test VMs, kept per VM (the last <see cref="Capacity"/> samples).
/// The runtime reads VMs' latency and throughput through it (migrations' learning, resizing's latency, rollouts'
/// comparisons): the application's figure when it has one, else the freshest sample younger than
/// <see cref="MaxAge"/>. So tuning, the controllers and their forecasts see the same data.
/// </summary>
public sealed class ApplicationMetricStore : IApplicationMetricsSource
{
    private readonly Dictionary<VmId, Queue<ApplicationMetricSample>> _samples = [];
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly IApplicationMetricsSource? _application;

    /// <summary>A store over the application's own source (null: none).</summary>
    public ApplicationMetricStore(TimeProvider time, IApplicationMetricsSource? application = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _application = application;
    }

    /// <summary>Samples kept per VM.</summary>
    public int Capacity { get; init; } = 1024;

    /// <summary>How old a recorded sample may be to answer for a VM the application has no figure for.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Records a measurement of <paramref name="vm"/>.</summary>
    public void Record(VmId vm, string source, ApplicationMetrics metrics, IReadOnlyDictionary<string, double>? detail = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        var sample = new ApplicationMetricSample(_time.GetUtcNow(), source, metrics, detail ?? new Dictionary<string, double>());
        lock (_gate)
        {
            if (!_samples.TryGetValue(vm, out var queue))
            {
                _samples[vm] = queue = new Queue<ApplicationMetricSample>();
            }

            queue.Enqueue(sample);
            while (queue.Count > Capacity)
            {
                queue.Dequeue();
            }
        }
    }

    /// <summary>The VM's samples, oldest first.</summary>
    public IReadOnlyList<ApplicationMetricSample> History(VmId vm)
    {
        lock (_gate)
        {
            return _samples.TryGetValue(vm, out var queue) ? [.. queue] : [];
        }
    }

    /// <summary>The application's figure (recorded as a sample), else the freshest recorded one younger than <see cref="MaxAge"/>.</summary>
    public async Task<ApplicationMetrics?> GetAsync(VmId vm, CancellationToken cancellationToken)
    {
        if (_application is not null && await _application.GetAsync(vm, cancellationToken).ConfigureAwait(false) is { } reported)
        {
            Record(vm, "application", reported);
            return reported;
        }

        var now = _time.GetUtcNow();
        lock (_gate)
        {
            return _samples.TryGetValue(vm, out var queue) && queue.Count > 0 && now - queue.Last().Timestamp <= MaxAge ? queue.Last().Metrics : null;
        }
    }
}
