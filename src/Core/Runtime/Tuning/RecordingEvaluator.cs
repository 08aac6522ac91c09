using System.Diagnostics.Metrics;
using VmEcosystem.Cluster;
using VmEcosystem.Tuning;

namespace VmEcosystem.Runtime.Tuning;

/// <summary>
/// A run's <see cref="ITuningEvaluator"/> in the tuner's terms: decodes gene values into settings, counts the
/// measurement in the runtime's metrics, and records what was measured on the run's test VM in the
/// <see cref="ApplicationMetricStore"/>.
/// </summary>
internal sealed class RecordingEvaluator(TuningRun run, ITuningEvaluator inner, ApplicationMetricStore store, Counter<long> measurements, long first) : IConfigurationEvaluator
{
    private long _next = first;

    public async ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(SearchSpace space, double[] values, CancellationToken cancellationToken)
    {
        var request = run.Request;
        var candidate = new TuningCandidate(request.Id, Interlocked.Increment(ref _next) - 1, space.Settings(values), request.Vm);
        IReadOnlyDictionary<string, double> metrics;
        try
        {
            metrics = await inner.EvaluateAsync(candidate, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The evaluator '{request.Evaluator}' returned no metrics.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            measurements.Add(1, new KeyValuePair<string, object?>("run", request.Id), new KeyValuePair<string, object?>("outcome", "failed"));
            throw;
        }

        measurements.Add(1, new KeyValuePair<string, object?>("run", request.Id), new KeyValuePair<string, object?>("outcome", "measured"));
        if (candidate.Index > 0)
        {
            run.Measured(); // the baseline is not one of the run's evaluations
        }
        if (request.Vm is VmId vm)
        {
            store.Record(vm, $"tuning:{request.Id}", new ApplicationMetrics(Finite(metrics, request.LatencyMetric), Finite(metrics, request.ThroughputMetric)), metrics);
        }

        return metrics;
    }

    private static double? Finite(IReadOnlyDictionary<string, double> metrics, string name) =>
        metrics.TryGetValue(name, out double v) && double.IsFinite(v) ? v : null;
}
