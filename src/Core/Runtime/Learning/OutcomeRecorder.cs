using System.Text.Json;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Ecosystem.Learning;
using VmEcosystem.Planning;

namespace VmEcosystem.Runtime;

/// <summary>
/// Feeds the <see cref="MigrationOutcomeLearner"/> from the runtime's own moves: the duration the planner expected
/// against the provider's, failures per target, and (with an <see cref="IApplicationMetricsSource"/>) the VM's
/// application latency and throughput before and after. Each outcome travels in its audit record's detail as JSON,
/// so a runtime started on the same store replays them and starts with what its predecessor learned.
/// </summary>
internal sealed class OutcomeRecorder(MigrationOutcomeLearner learner, EcosystemGraph? graph, TimeSpan retryAfter)
{
    /// <summary>Decayed failure share from which a target is left alone for a while.</summary>
    public const double BrokenFailureRate = 0.5;

    private readonly Lock _gate = new();
    private readonly Dictionary<VmId, (double PredictedSeconds, ApplicationMetrics? Before)> _started = [];
    private readonly Dictionary<HostId, DateTimeOffset> _lastFailure = [];

    public MigrationOutcomeLearner Learner => learner;

    /// <summary>
    /// True while <paramref name="host"/> counts as broken: most recent moves to it failed and the last failure is
    /// younger than the retry delay (the failure backoff). After it, one move may probe the host again.
    /// </summary>
    public bool IsBroken(HostId host, DateTimeOffset now)
    {
        lock (_gate)
        {
            return learner.FailureRate(host) >= BrokenFailureRate && _lastFailure.TryGetValue(host, out var at) && now - at < retryAfter;
        }
    }

    /// <summary>When the last move to a host failed (restored runtimes set it from the trail).</summary>
    public void FailedAt(HostId host, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (!_lastFailure.TryGetValue(host, out var last) || last < at)
            {
                _lastFailure[host] = at;
            }
        }
    }

    /// <summary>What the planner expected when the move started (and the application's figures then).</summary>
    public void Started(VmId vm, double predictedSeconds, ApplicationMetrics? before)
    {
        lock (_gate)
        {
            _started[vm] = (predictedSeconds, before);
        }
    }

    /// <summary>Records a move's end; returns the outcome as JSON for its audit record.</summary>
    public string Ended(MigrationDecision d, bool succeeded, double actualSeconds, ApplicationMetrics? after, DateTimeOffset now)
    {
        if (!succeeded)
        {
            FailedAt(d.Target, now);
        }

        (double PredictedSeconds, ApplicationMetrics? Before) start;
        lock (_gate)
        {
            _started.Remove(d.Vm, out start);
        }

        string? type = TypeOf(d.Vm);
        var record = new OutcomeRecord($"{d.Stage}/{d.Rule}", type, succeeded, start.PredictedSeconds, succeeded ? actualSeconds : 0,
            start.Before?.LatencyMs, after?.LatencyMs, start.Before?.ThroughputPerSecond, after?.ThroughputPerSecond);
        learner.Record(ToOutcome(d.Vm, d.Source, d.Target, record));
        return JsonSerializer.Serialize(record, OutcomeJson.Default.OutcomeRecord);
    }

    /// <summary>Replays an outcome a previous process recorded (its audit detail); false when the detail is not one.</summary>
    public bool Replay(VmId vm, HostId source, HostId target, string detail)
    {
        OutcomeRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(detail, OutcomeJson.Default.OutcomeRecord);
        }
        catch (JsonException)
        {
            return false;
        }

        if (record is null || record.Rule is null)
        {
            return false;
        }

        learner.Record(ToOutcome(vm, source, target, record));
        return true;
    }

    private static MigrationOutcome ToOutcome(VmId vm, HostId source, HostId target, OutcomeRecord r)
    {
        var changes = r.LatencyBeforeMs is not null || r.ThroughputBefore is not null
            ? new[] { new PerformanceChange(vm, r.VmType, new ApplicationMetrics(r.LatencyBeforeMs, r.ThroughputBefore), new ApplicationMetrics(r.LatencyAfterMs, r.ThroughputAfter), 0, 0, []) }
            : [];
        return new MigrationOutcome(vm, r.VmType, source, target, r.Rule, r.Succeeded, r.PredictedSeconds, r.ActualSeconds, changes);
    }

    private string? TypeOf(VmId vm)
    {
        if (graph is null)
        {
            return null;
        }

        // The graph is read under the model lock by the caller's contract; a miss just means "unknown type".
        return graph.TryVertex(vm, out int v) ? graph.VmAt(v)?.Profile.Type : null;
    }
}

/// <summary>An outcome as kept in an audit record's detail.</summary>
/// <summary>Leaves alone, for a while, a target the runtime's recent moves keep failing on (<see cref="OutcomeRecorder.IsBroken"/>).</summary>
internal sealed class BrokenHostFilter(Func<HostId, DateTimeOffset, bool> isBroken) : IPlacementFilter
{
    public string Name => "recently-failing-host";

    public bool Accepts(PlanningPass pass, int vm, int host) => !isBroken(pass.State.HostIds[host], pass.Context.Now);
}

internal sealed record OutcomeRecord(
    string Rule, string? VmType, bool Succeeded, double PredictedSeconds, double ActualSeconds,
    double? LatencyBeforeMs, double? LatencyAfterMs, double? ThroughputBefore, double? ThroughputAfter);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(OutcomeRecord))]
internal sealed partial class OutcomeJson : System.Text.Json.Serialization.JsonSerializerContext;
