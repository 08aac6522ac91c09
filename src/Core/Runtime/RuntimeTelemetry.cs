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

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);
}

/// <summary>The runtime's instruments; one per runtime instance, from the injected <see cref="IMeterFactory"/> when there is one.</summary>
internal sealed class RuntimeInstruments : IDisposable
{
    private readonly Meter _meter;

    public RuntimeInstruments(IMeterFactory? factory, Func<RuntimeGauges> gauges)
    {
        _meter = factory?.Create(new MeterOptions(RuntimeTelemetry.MeterName)) ?? new Meter(RuntimeTelemetry.MeterName);
        MigrationsStarted = _meter.CreateCounter<long>("vmeco.migrations.started", "{migration}", "Migrations started.");
        MigrationsSucceeded = _meter.CreateCounter<long>("vmeco.migrations.succeeded", "{migration}", "Migrations that completed.");
        MigrationsFailed = _meter.CreateCounter<long>("vmeco.migrations.failed", "{migration}", "Migrations (or calls starting them) that failed or were cancelled.");
        DecisionsSkipped = _meter.CreateCounter<long>("vmeco.decisions.skipped", "{decision}", "Planned moves the executor did not execute (limits, cooldowns, maintenance, stale).");
        PlanningDuration = _meter.CreateHistogram<double>("vmeco.planning.duration", "s", "Duration of one planning pass.");
        ForecastError = _meter.CreateHistogram<double>("vmeco.forecast.error", "MHz", "Mean absolute error of the previous one-step CPU forecasts, per observation.");
        LoopErrors = _meter.CreateCounter<long>("vmeco.loop.errors", "{error}", "Failed controller iterations (retried with backoff), by controller.");
        Actions = _meter.CreateCounter<long>("vmeco.actions", "{action}", "Executed actions by kind, outcome and proposing controller.");
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

    public Counter<long> MigrationsStarted { get; }

    public Counter<long> MigrationsSucceeded { get; }

    public Counter<long> MigrationsFailed { get; }

    public Counter<long> DecisionsSkipped { get; }

    public Histogram<double> PlanningDuration { get; }

    public Histogram<double> ForecastError { get; }

    public Counter<long> LoopErrors { get; }

    public Counter<long> ObservationsDropped { get; }

    public Counter<long> Actions { get; }

    public void Dispose() => _meter.Dispose();
}

/// <summary>Values behind the observable gauges.</summary>
internal readonly record struct RuntimeGauges(int ObservationQueue, int PlanQueue, int Running, int Reservations, double DependencyScore,
    long AuditPending, long AuditFailures, long AuditLost);
