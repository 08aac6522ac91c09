using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime.Tuning;

/// <summary>A configuration a tuning run wants measured.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Index">The measurement's sequence number in the run (0 is the baseline's; a retry gets a new one).</param>
/// <param name="Settings">One setting per gene of the search space (numbers in invariant form, choices by name, booleans as true/false).</param>
/// <param name="Vm">The test VM the run measures on, when the request names one.</param>
public sealed record TuningCandidate(string RunId, long Index, IReadOnlyDictionary<string, string> Settings, VmId? Vm);

/// <summary>
/// Measures a configuration: applies it (to a test VM, a host, a worker) and runs a benchmark, or evaluates a model,
/// and returns what it measured by metric name. Called concurrently when a run has more than one slot; a call that
/// throws or outlives the run's timeout is retried, then scored as a failure with its reason.
/// </summary>
public interface ITuningEvaluator
{
    /// <summary>Measures <paramref name="candidate"/>.</summary>
    ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(TuningCandidate candidate, CancellationToken cancellationToken);
}

/// <summary>Which way a tuning goal is better.</summary>
public enum TuningGoalDirection
{
    /// <summary>Lower is better (latency, resource use, cost).</summary>
    Minimize,

    /// <summary>Higher is better (throughput).</summary>
    Maximize,

    /// <summary>At least the goal's target is enough (an availability level); below it is a penalty.</summary>
    AtLeast,
}

/// <summary>One goal of a tuning run.</summary>
/// <param name="Metric">The evaluator's metric name.</param>
/// <param name="Direction">Which way is better.</param>
/// <param name="Weight">Its share of the score (minimised and maximised goals' weights are normalised to sum to 1).</param>
/// <param name="Target">The level an <see cref="TuningGoalDirection.AtLeast"/> goal must reach.</param>
public sealed record TuningGoalSpec(string Metric, TuningGoalDirection Direction, double Weight = 1, double? Target = null);

/// <summary>What a tuning run searches, for which goals, measured by which evaluator.</summary>
public sealed record TuningRunRequest
{
    /// <summary>The run's id: letters, digits, '.', '_' or '-', up to 128 characters.</summary>
    public required string Id { get; init; }

    /// <summary>The search space, as JSON or YAML (genes and constraints).</summary>
    public required string SearchSpace { get; init; }

    /// <summary>The goals, weighed against the baseline's measurement.</summary>
    public required IReadOnlyList<TuningGoalSpec> Goals { get; init; }

    /// <summary>The configuration the run starts from and scores against (one setting per gene).</summary>
    public required IReadOnlyDictionary<string, string> Baseline { get; init; }

    /// <summary>The name of the registered <see cref="ITuningEvaluator"/> that measures configurations.</summary>
    public string Evaluator { get; init; } = "default";

    /// <summary>The test VM the evaluator measures on (its measurements go into the <see cref="ApplicationMetricStore"/>); optional.</summary>
    public VmId? Vm { get; init; }

    /// <summary>Genomes per generation.</summary>
    public int Population { get; init; } = 24;

    /// <summary>Generations at most.</summary>
    public int Generations { get; init; } = 20;

    /// <summary>Evaluations at most (null: no budget beyond the generations).</summary>
    public long? MaxEvaluations { get; init; }

    /// <summary>Per-gene mutation probability.</summary>
    public double Mutation { get; init; } = 0.3;

    /// <summary>Candidates a surrogate model chooses among for a guided mutation (0: no guidance).</summary>
    public int GuidedCandidates { get; init; } = 16;

    /// <summary>Configurations measured at once.</summary>
    public int Slots { get; init; } = 1;

    /// <summary>The random seed: a run is reproducible when its evaluator is.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>How long one evaluation may take before it is abandoned (and retried).</summary>
    public TimeSpan EvaluationTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts after a failed or timed-out evaluation.</summary>
    public int Retries { get; init; } = 1;

    /// <summary>The metric recorded as the test VM's latency in the metric store (milliseconds).</summary>
    public string LatencyMetric { get; init; } = "latencyMs";

    /// <summary>The metric recorded as the test VM's throughput in the metric store (per second).</summary>
    public string ThroughputMetric { get; init; } = "throughput";
}

/// <summary>Where a tuning run is.</summary>
public enum TuningRunState
{
    /// <summary>Measuring configurations (also after a restart, from its last generation).</summary>
    Running,

    /// <summary>Finished: a termination was reached.</summary>
    Completed,

    /// <summary>Cancelled by a caller.</summary>
    Cancelled,

    /// <summary>Could not go on (the baseline could not be measured, the evaluator is gone, ...).</summary>
    Failed,
}

/// <summary>One goal's part of a score.</summary>
/// <param name="Metric">The metric.</param>
/// <param name="Value">What was measured.</param>
/// <param name="Normalized">Against the baseline: 1 is the baseline, lower is better.</param>
/// <param name="Weighted">Its contribution to the score.</param>
public sealed record TuningScorePart(string Metric, double Value, double Normalized, double Weighted);

/// <summary>One measured configuration of a run.</summary>
/// <param name="Index">Its position in the run (0 is the baseline).</param>
/// <param name="Settings">The configuration.</param>
/// <param name="Metrics">What the evaluator measured (empty when it failed).</param>
/// <param name="Score">The weighted score: lower is better, the baseline scores 1.</param>
/// <param name="Parts">The score's parts, one per goal.</param>
/// <param name="Penalty">Added for levels not reached.</param>
/// <param name="Error">Why the evaluation failed after its retries, or null.</param>
public sealed record TuningEvaluationInfo(long Index, IReadOnlyDictionary<string, string> Settings, IReadOnlyDictionary<string, double> Metrics,
    double Score, IReadOnlyList<TuningScorePart> Parts, double Penalty, string? Error);

/// <summary>A tuning run's state and what it has found.</summary>
/// <param name="Id">The run.</param>
/// <param name="State">Where it is.</param>
/// <param name="Evaluator">The evaluator's name.</param>
/// <param name="Generation">Generations done.</param>
/// <param name="Evaluations">Configurations measured (the baseline not counted).</param>
/// <param name="Baseline">The baseline's measurement, once taken.</param>
/// <param name="Best">The best configuration so far (the baseline until something beats it).</param>
/// <param name="Stopped">Why the engine stopped (generations, target, stagnation, evaluations, time, cancelled), once it has.</param>
/// <param name="Error">Why the run failed, or null.</param>
/// <param name="StartedAt">When it was started.</param>
/// <param name="EndedAt">When it ended, or null.</param>
public sealed record TuningRunStatus(string Id, TuningRunState State, string Evaluator, int Generation, long Evaluations,
    TuningEvaluationInfo? Baseline, TuningEvaluationInfo? Best, string? Stopped, string? Error, DateTimeOffset StartedAt, DateTimeOffset? EndedAt);

/// <summary>
/// Tuning runs as a service of the runtime: started, listed, watched and cancelled here (or through
/// <c>/tuning/runs</c>), run in the background, checkpointed after every generation and resumed from the last one
/// after a restart. Registered by <c>AddConfigurationTuning</c>.
/// </summary>
public interface ITuningRuns
{
    /// <summary>Starts a run.</summary>
    /// <exception cref="ArgumentException">The request is invalid; the message names the field.</exception>
    /// <exception cref="InvalidOperationException">A run with that id exists.</exception>
    TuningRunStatus Start(TuningRunRequest request);

    /// <summary>The run's status, or null when there is no such run.</summary>
    TuningRunStatus? GetStatus(string id);

    /// <summary>Every run, in the order they were started.</summary>
    IReadOnlyList<TuningRunStatus> List();

    /// <summary>The run's baseline and every configuration it measured, in order.</summary>
    /// <exception cref="KeyNotFoundException">No such run.</exception>
    IReadOnlyList<TuningEvaluationInfo> Evaluations(string id);

    /// <summary>Cancels a running run (it keeps what it found); false when it is not running.</summary>
    /// <exception cref="KeyNotFoundException">No such run.</exception>
    bool Cancel(string id);

    /// <summary>Waits until the run is no longer running.</summary>
    /// <exception cref="KeyNotFoundException">No such run.</exception>
    Task<TuningRunStatus> WaitAsync(string id, CancellationToken cancellationToken = default);
}

/// <summary>Settings of the tuning service (section <c>VmEcosystem:Tuning</c>).</summary>
public sealed class TuningServiceOptions
{
    /// <summary>Runs measuring at once; more wait their turn.</summary>
    public int MaxConcurrentRuns { get; set; } = 2;

    /// <summary>Runs remembered (the oldest finished ones are forgotten beyond it).</summary>
    public int MaxRuns { get; set; } = 100;
}
