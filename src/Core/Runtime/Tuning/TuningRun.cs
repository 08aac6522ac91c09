using VmEcosystem.Tuning;

namespace VmEcosystem.Runtime.Tuning;

/// <summary>One tuning run of the service: its request, its parsed space, and what it has found; guarded by its own lock.</summary>
internal sealed class TuningRun(TuningRunRequest request, SearchSpace space, IReadOnlyList<TuningGoal> goals, double[] baseline, DateTimeOffset startedAt)
{
    private readonly Lock _gate = new();
    private readonly List<TuningEvaluationInfo> _evaluations = [];
    private TuningRunState _state = TuningRunState.Running;
    private int _generation;
    private long _measured;
    private TuningEvaluationInfo? _baseline, _restoredBest;
    private string? _stopped, _error;
    private DateTimeOffset? _endedAt;

    public TuningRunRequest Request => request;

    public SearchSpace Space => space;

    public IReadOnlyList<TuningGoal> Goals => goals;

    public double[] BaselineValues => baseline;

    public DateTimeOffset StartedAt => startedAt;

    /// <summary>Cancels the run for its caller (its measurements stop, it keeps what it found).</summary>
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Stops the run here because this instance no longer leads: it stays running, for the next leader to resume.</summary>
    public CancellationTokenSource Handover { get; set; } = new();

    /// <summary>True while this instance measures it (guarded by the service's lock).</summary>
    public bool Executing { get; set; }

    /// <summary>Completes when the run is no longer running here.</summary>
    public TaskCompletionSource<TuningRunStatus> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The last checkpoint (resumes the run after a restart).</summary>
    public TuningCheckpoint? Checkpoint { get; set; }

    public TuningRunState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    public void Measured()
    {
        lock (_gate)
        {
            _measured++;
        }
    }

    /// <summary>Takes the run's state from a checkpoint: its baseline, generation and every evaluation.</summary>
    public void Progress(TuningCheckpoint checkpoint)
    {
        lock (_gate)
        {
            Checkpoint = checkpoint;
            _baseline = Info(checkpoint.Baseline);
            _generation = checkpoint.Engine.Generation;
            _evaluations.Clear();
            _evaluations.AddRange(checkpoint.Evaluations.Select(Info));
            _measured = Math.Max(_measured, _evaluations.Count);
        }
    }

    public void Baseline(TuningEvaluation baselineEvaluation)
    {
        lock (_gate)
        {
            _baseline = Info(baselineEvaluation);
        }
    }

    public void End(TuningRunState state, DateTimeOffset at, string? stopped, string? error)
    {
        lock (_gate)
        {
            (_state, _endedAt, _stopped, _error) = (state, at, stopped, error);
        }
    }

    public IReadOnlyList<TuningEvaluationInfo> Evaluations()
    {
        lock (_gate)
        {
            return _baseline is null ? [.. _evaluations] : [_baseline, .. _evaluations];
        }
    }

    public TuningRunStatus Status()
    {
        lock (_gate)
        {
            var best = _evaluations.Where(e => e.Error is null).MinBy(e => e.Score) ?? _restoredBest;
            if (_baseline is not null && (best is null || best.Score >= _baseline.Score))
            {
                best = _baseline;
            }

            return new TuningRunStatus(request.Id, _state, request.Evaluator, _generation, Math.Max(_measured, _evaluations.Count), _baseline, best, _stopped, _error, startedAt, _endedAt);
        }
    }

    /// <summary>Restores a finished run's end as recorded.</summary>
    public void Restore(TuningRunStatus status)
    {
        lock (_gate)
        {
            (_state, _generation, _measured, _stopped, _error, _endedAt) = (status.State, status.Generation, status.Evaluations, status.Stopped, status.Error, status.EndedAt);
            _baseline ??= status.Baseline;
            _restoredBest = status.Best; // what it found, when the store kept no checkpoint of its evaluations
        }
    }

    private TuningEvaluationInfo Info(TuningEvaluation e) => new(e.Index, space.Settings(e.Values), e.Metrics, e.Fitness.Score,
        [.. e.Fitness.Parts.Select(p => new TuningScorePart(p.Metric, p.Value, p.Normalized, p.Weighted))], e.Fitness.Penalty, e.Error);
}
