using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// The runtime's telemetry follows OpenTelemetry's conventions: one action counter with kind, outcome, reason and
/// host attributes (matching the runtime's own counts), a migration-duration histogram in seconds with explicit
/// buckets, a unit on every instrument, a versioned meter, no NaN, and one span per migration.
/// </summary>
public sealed class RuntimeTelemetryTests
{
    [Fact]
    public async Task Actions_durations_and_spans_match_what_the_runtime_did()
    {
        var ct = TestContext.Current.CancellationToken;
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var instruments = new List<Instrument>();
        var actions = new List<(long Value, Dictionary<string, object?> Tags)>();
        var durations = new List<(double Value, Dictionary<string, object?> Tags)>();
        var nonFinite = new List<string>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory))
            {
                lock (instruments)
                {
                    instruments.Add(instrument);
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "vmeco.actions")
            {
                lock (actions)
                {
                    actions.Add((value, Tags(tags)));
                }
            }
        });
        meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            lock (durations)
            {
                if (!double.IsFinite(value))
                {
                    nonFinite.Add(instrument.Name);
                }

                if (instrument.Name == "vmeco.migration.duration")
                {
                    durations.Add((value, Tags(tags)));
                }
            }
        });
        meters.SetMeasurementEventCallback<int>((_, _, _, _) => { });
        meters.Start();

        using var root = new Activity("telemetry-test").Start();
        var spans = new List<Activity>();
        using var tracing = new ActivityListener
        {
            ShouldListenTo = s => s.Name == RuntimeTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> o) => o.TraceId == root.TraceId ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = a =>
            {
                lock (spans)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(tracing);

        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = 3 }, HostCount = 30 }, clock);
        var runtime = new EcosystemRuntime(simulator, PredictivePolicy.Create(), Options.Create(new RuntimeOptions { Mode = ExecutionMode.Automatic }), clock,
            new RuntimeComponents { Audit = new InMemoryAuditStore(), MeterFactory = factory });
        await runtime.StartAsync(ct);
        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(4), ct);
        meters.RecordObservableInstruments();
        var status = runtime.Status;
        await SimulatedRuntime.StopAsync(runtime, clock, ct);
        await runtime.DisposeAsync();

        Assert.True(status.Migrations.Succeeded > 0, "the day needs migrations for this test");
        long Count(string outcome) => actions.Where(a => (string?)a.Tags["vmeco.action.kind"] == "migrate" && (string?)a.Tags["vmeco.action.outcome"] == outcome).Sum(a => a.Value);
        Assert.Equal(status.Migrations.Started, Count("started"));
        Assert.Equal(status.Migrations.Succeeded, Count("succeeded"));
        Assert.Equal(status.Migrations.Skipped, Count("skipped"));
        Assert.All(actions, a =>
        {
            Assert.False(string.IsNullOrEmpty((string?)a.Tags["vmeco.host"]));
            Assert.False(string.IsNullOrEmpty((string?)a.Tags["vmeco.action.reason"]));
            Assert.False(string.IsNullOrEmpty((string?)a.Tags["vmeco.controller"]));
        });

        Assert.Equal(status.Migrations.Succeeded + status.Migrations.Failed, durations.Count);
        Assert.All(durations, d => Assert.True(d.Value > 0));
        Assert.Empty(nonFinite);

        var histogram = Assert.Single(instruments, i => i.Name == "vmeco.migration.duration");
        Assert.Equal("s", histogram.Unit);
        Assert.Contains(600.0, ((Histogram<double>)histogram).Advice!.HistogramBucketBoundaries!);
        Assert.All(instruments, i => Assert.False(string.IsNullOrEmpty(i.Unit), $"{i.Name} has no unit"));
        Assert.All(instruments, i => Assert.False(string.IsNullOrEmpty(i.Meter.Version), $"{i.Meter.Name} has no version"));
        Assert.DoesNotContain(instruments, i => i.Name is "vmeco.migrations.succeeded" or "vmeco.migrations.failed" or "vmeco.migrations.started");

        var migrationSpans = spans.Where(s => s.OperationName == "vmeco.migration").ToList();
        Assert.Equal(status.Migrations.Succeeded + status.Migrations.Failed, migrationSpans.Count);
        Assert.All(migrationSpans, s =>
        {
            Assert.NotNull(s.GetTagItem("vmeco.vm"));
            Assert.NotNull(s.GetTagItem("vmeco.target"));
            Assert.Equal("succeeded", s.GetTagItem("vmeco.action.outcome"));
            Assert.Equal(ActivityStatusCode.Ok, s.Status);
        });
    }

    private static Dictionary<string, object?> Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var d = new Dictionary<string, object?>();
        foreach (var t in tags)
        {
            d[t.Key] = t.Value;
        }

        return d;
    }
}
