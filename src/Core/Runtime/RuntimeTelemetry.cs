using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace VmEcosystem.Runtime;

/// <summary>
/// Names of the runtime's <see cref="Meter"/> and <see cref="ActivitySource"/>, for OpenTelemetry:
/// <c>.AddMeter(RuntimeTelemetry.MeterName)</c> and <c>.AddSource(RuntimeTelemetry.ActivitySourceName)</c>.
/// </summary>
public static class RuntimeTelemetry
{
    /// <summary>Meter name.</summary>
    public const string MeterName = "VmEcosystem";

    /// <summary>Activity source name (spans <c>vmeco.plan</c> and <c>vmeco.migrate</c>).</summary>
    public const string ActivitySourceName = "VmEcosystem";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName, typeof(RuntimeTelemetry).Assembly.GetName().Version?.ToString(3));
}

/// <summary>The runtime's instruments; one per runtime instance, from the injected <see cref="IMeterFactory"/> when there is one.</summary>
internal sealed class RuntimeInstruments : IDisposable
{
    private readonly Meter _meter;

    public RuntimeInstruments(IMeterFactory? factory, Func<RuntimeGauges> gauges)
    {
        var version = typeof(RuntimeInstruments).Assembly.GetName().Version?.ToString(3);
        _meter = factory?.Create(new MeterOptions(RuntimeTelemetry.MeterName) { Version = version }) ?? new Meter(RuntimeTelemetry.MeterName, version);
        // Second-scale histograms get explicit buckets: the SDK's default ones are for milliseconds.
        PlanningDuration = _meter.CreateHistogram("vmeco.planning.duration", "s", "Duration of one planning pass.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        MigrationDuration = _meter.CreateHistogram("vmeco.migration.duration", "s", "Duration of live migrations from start to outcome, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200] });
        ForecastError = _meter.CreateHistogram<double>("vmeco.forecast.error", "MHz", "Mean absolute error of the previous one-step CPU forecasts, per observation.");
        LoopErrors = _meter.CreateCounter<long>("vmeco.loop.errors", "{error}", "Failed controller iterations (retried with backoff), by controller.");
        Actions = _meter.CreateCounter<long>("vmeco.actions", "{action}",
            "Actions that change the cluster, by kind (migrate, hot-plug, resource-controls), outcome (started, succeeded, failed, cancelled, skipped), reason, host and proposing controller.");
        LeadershipChanges = _meter.CreateCounter<long>("vmeco.leadership.changes", "{change}", "Times this instance gained or lost leadership, by change (acquired, lost).");
        _meter.CreateObservableGauge("vmeco.leadership.leader",
            () => gauges().Leader is { } leads ? [new Measurement<int>(leads ? 1 : 0)] : Array.Empty<Measurement<int>>(),
            "1", "1 while this instance leads its scope, 0 while it follows (no measurement without an election).");
        ObservationsDropped = _meter.CreateCounter<long>("vmeco.observations.dropped", "{observation}", "Observations dropped or skipped because planning was behind.");
        _meter.CreateObservableGauge("vmeco.queue.observations", () => gauges().ObservationQueue, "{observation}", "Observations waiting for planning.");
        _meter.CreateObservableGauge("vmeco.queue.plans", () => gauges().PlanQueue, "{plan}", "Plans waiting for execution.");
        _meter.CreateObservableGauge("vmeco.migrations.running", () => gauges().Running, "{migration}", "Migrations running.");
        _meter.CreateObservableGauge("vmeco.reservations.held", () => gauges().Reservations, "{reservation}", "Shadow-slot reservations held.");
        _meter.CreateObservableGauge("vmeco.audit.pending", () => gauges().AuditPending, "{record}", "Audit records waiting to be written (queued or waiting for a retry).");
        _meter.CreateObservableCounter("vmeco.audit.failures", () => gauges().AuditFailures, "{attempt}", "Audit write attempts that failed (retried).");
        _meter.CreateObservableCounter("vmeco.audit.lost", () => gauges().AuditLost, "{record}", "Audit records lost (queue full, or the store still failing at disposal).");
        // No measurement (rather than NaN) before the first pass or without a graph: exporters and dashboards choke on NaN.
        _meter.CreateObservableGauge("vmeco.dependency.score",
            () => gauges().DependencyScore is var score && double.IsFinite(score) ? [new Measurement<double>(score)] : Array.Empty<Measurement<double>>(),
            "1", "Cluster-wide dependency satisfaction (when an ecosystem graph is used).");
    }

    public Histogram<double> PlanningDuration { get; }

    public Histogram<double> ForecastError { get; }

    public Counter<long> LoopErrors { get; }

    public Counter<long> ObservationsDropped { get; }

    public Counter<long> Actions { get; }

    public Counter<long> LeadershipChanges { get; }

    public Histogram<double> MigrationDuration { get; }

    /// <summary>Counts one action outcome; <paramref name="reason"/> is a bounded category (<see cref="ReasonOf(string)"/>), never free text.</summary>
    public void Action(string kind, string outcome, string controller, Cluster.HostId host, string reason = "none")
    {
        var tags = new TagList
        {
            { "vmeco.action.kind", kind },
            { "vmeco.action.outcome", outcome },
            { "vmeco.action.reason", reason },
            { "vmeco.host", host.Value },
            { "vmeco.controller", controller },
        };
        Actions.Add(1, tags);
    }

    /// <summary>The category of a skip reason (the executor's messages), for the <c>vmeco.action.reason</c> attribute.</summary>
    public static string ReasonOf(string skip) => skip switch
    {
        _ when skip.Contains("cooldown", StringComparison.OrdinalIgnoreCase) => "cooldown",
        _ when skip.Contains("backoff", StringComparison.OrdinalIgnoreCase) => "backoff",
        _ when skip.Contains("maintenance", StringComparison.OrdinalIgnoreCase) => "maintenance",
        _ when skip.Contains("audit", StringComparison.OrdinalIgnoreCase) => "audit",
        _ when skip.Contains("stale", StringComparison.OrdinalIgnoreCase) || skip.Contains("no longer on", StringComparison.OrdinalIgnoreCase) => "stale",
        _ when skip.Contains("limit", StringComparison.OrdinalIgnoreCase) || skip.Contains("concurren", StringComparison.OrdinalIgnoreCase)
            || skip.Contains("window", StringComparison.OrdinalIgnoreCase) || skip.Contains("at most", StringComparison.OrdinalIgnoreCase) => "limit",
        _ => "check",
    };

    /// <summary>The category of a failure, for the <c>vmeco.action.reason</c> attribute.</summary>
    public static string ReasonOf(Exception? error) => error switch
    {
        null => "none",
        TimeoutException => "timeout",
        OperationCanceledException => "cancelled",
        Hypervisor.HypervisorException h => "provider-" + h.Kind.ToString().ToLowerInvariant(),
        _ => "error",
    };

    public void Dispose() => _meter.Dispose();
}

/// <summary>Values behind the observable gauges.</summary>
internal readonly record struct RuntimeGauges(int ObservationQueue, int PlanQueue, int Running, int Reservations, double DependencyScore,
    long AuditPending, long AuditFailures, long AuditLost, bool? Leader = null);
