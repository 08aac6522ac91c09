namespace VmEcosystem.Tuning;

/// <summary>Which way a goal is better.</summary>
internal enum GoalDirection
{
    /// <summary>Lower is better (latency, resource use, cost).</summary>
    Minimize,

    /// <summary>Higher is better (throughput).</summary>
    Maximize,

    /// <summary>At least <see cref="TuningGoal.Target"/> is enough (an availability level); below it is a penalty.</summary>
    AtLeast,
}

/// <summary>One goal of a tuning run: a metric, which way is better, and its weight.</summary>
/// <param name="Metric">The evaluator's metric name (<c>throughput</c>, <c>latencyMs</c>, ...).</param>
/// <param name="Direction">Which way is better.</param>
/// <param name="Weight">Its share of the score (weights of minimised and maximised goals are normalised to sum to 1; a level to reach is a requirement and ignores it).</param>
/// <param name="Target">The level an <see cref="GoalDirection.AtLeast"/> goal must reach.</param>
internal sealed record TuningGoal(string Metric, GoalDirection Direction, double Weight, double? Target = null);

/// <summary>One goal's part of a score.</summary>
/// <param name="Metric">The metric.</param>
/// <param name="Value">What the evaluation measured.</param>
/// <param name="Normalized">Against the baseline: 1 is the baseline, lower is better (0 for a reached level).</param>
/// <param name="Weighted">Its contribution to the score.</param>
internal sealed record FitnessPart(string Metric, double Value, double Normalized, double Weighted);

/// <summary>A configuration's score (lower is better; the baseline scores 1) with its parts and the constraint penalty.</summary>
internal sealed record FitnessScore(double Score, IReadOnlyList<FitnessPart> Parts, double Penalty);

/// <summary>
/// Combines measured metrics into one score: each goal normalised against the baseline configuration's value
/// (minimised metrics as value / baseline, maximised ones as baseline / value, so 1 is "as good as the baseline" and
/// lower is better), weighted, summed; a level not reached and a violated constraint add penalties. The baseline
/// configuration therefore scores 1 and a configuration twice as good on every goal scores 0.5.
/// </summary>
internal sealed class WeightedFitness
{
    private readonly TuningGoal[] _goals;
    private readonly double[] _baseline;
    private readonly double _weightSum;

    public WeightedFitness(IReadOnlyList<TuningGoal> goals, IReadOnlyDictionary<string, double> baseline, double penaltyWeight = 10)
    {
        ArgumentNullException.ThrowIfNull(goals);
        ArgumentNullException.ThrowIfNull(baseline);
        if (goals.Count == 0)
        {
            throw new ArgumentException("A tuning run needs at least one goal.", nameof(goals));
        }

        _goals = [.. goals];
        _baseline = new double[_goals.Length];
        for (int i = 0; i < _goals.Length; i++)
        {
            var goal = _goals[i];
            if (!double.IsFinite(goal.Weight) || goal.Weight < 0)
            {
                throw new ArgumentException($"Goal '{goal.Metric}': the weight must be a non-negative number; got {goal.Weight}.", nameof(goals));
            }

            if (goal.Direction == GoalDirection.AtLeast && goal.Target is not { } t)
            {
                throw new ArgumentException($"Goal '{goal.Metric}': an 'at least' goal needs a target.", nameof(goals));
            }

            if (goal.Direction != GoalDirection.AtLeast && (!baseline.TryGetValue(goal.Metric, out double b) || !double.IsFinite(b) || b <= 0))
            {
                throw new ArgumentException($"Goal '{goal.Metric}': the baseline configuration must measure it as a positive number.", nameof(baseline));
            }

            _baseline[i] = baseline.TryGetValue(goal.Metric, out double value) ? value : 0;
        }

        // Levels to reach do not share the score out: a baseline that reaches them still scores exactly 1.
        _weightSum = _goals.Any(g => g.Direction != GoalDirection.AtLeast) ? _goals.Where(g => g.Direction != GoalDirection.AtLeast).Sum(g => g.Weight) : _goals.Sum(g => g.Weight);
        if (_weightSum <= 0)
        {
            throw new ArgumentException("At least one goal needs a positive weight.", nameof(goals));
        }

        PenaltyWeight = penaltyWeight;
    }

    /// <summary>What each unit of constraint violation adds to the score (plus one for being infeasible at all).</summary>
    public double PenaltyWeight { get; }

    /// <summary>The goals.</summary>
    public IReadOnlyList<TuningGoal> Goals => _goals;

    /// <summary>The score of measured <paramref name="metrics"/>, with <paramref name="violation"/> of the constraints.</summary>
    public FitnessScore Score(IReadOnlyDictionary<string, double> metrics, double violation = 0)
    {
        var parts = new FitnessPart[_goals.Length];
        double score = 0;
        for (int i = 0; i < _goals.Length; i++)
        {
            double value = metrics.TryGetValue(_goals[i].Metric, out double v) && double.IsFinite(v) ? v : double.NaN;
            double normalized = Normalize(i, value);
            double weighted = Share(i) * normalized;
            parts[i] = new FitnessPart(_goals[i].Metric, value, normalized, weighted);
            score += weighted;
        }

        double penalty = Penalty(violation);
        return new FitnessScore(score + penalty, parts, penalty);
    }

    /// <summary>
    /// The score alone, from the goals' values in goal order (NaN: not measured): what <see cref="Score"/> computes,
    /// without allocating, for the hot loops that score millions of configurations.
    /// </summary>
    public double ScoreValues(ReadOnlySpan<double> values, double violation = 0)
    {
        double score = 0;
        for (int i = 0; i < _goals.Length; i++)
        {
            score += Share(i) * Normalize(i, values[i]);
        }

        return score + Penalty(violation);
    }

    // A level to reach is a requirement, not a trade-off: missing it costs its whole penalty whatever the weights.
    private double Share(int i) => _goals[i].Direction == GoalDirection.AtLeast ? 1 : _goals[i].Weight / _weightSum;

    private double Penalty(double violation) => violation > 0 ? PenaltyWeight * (1 + violation) : 0;

    private double Normalize(int i, double value)
    {
        var goal = _goals[i];
        return !double.IsFinite(value) ? PenaltyWeight : goal.Direction switch
        {
            GoalDirection.Minimize => Math.Max(0, value) / _baseline[i],
            GoalDirection.Maximize => value > 0 ? _baseline[i] / value : PenaltyWeight,
            _ => value >= goal.Target!.Value ? 0 : 1 + ((goal.Target.Value - value) / Math.Max(Math.Abs(goal.Target.Value), 1e-9) * PenaltyWeight),
        };
    }
}
