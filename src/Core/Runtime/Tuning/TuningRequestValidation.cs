using VmEcosystem.Tuning;

namespace VmEcosystem.Runtime.Tuning;

/// <summary>Checks a <see cref="TuningRunRequest"/> and turns it into the tuner's terms; every error names the field.</summary>
internal static class TuningRequestValidation
{
    public static (SearchSpace Space, IReadOnlyList<TuningGoal> Goals, double[] Baseline) Validate(TuningRunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Check(request.Id is { Length: > 0 and <= 128 } && request.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'),
            "Id", "letters, digits, '.', '_' or '-', 1 to 128 characters");
        SearchSpace space;
        try
        {
            space = SearchSpaceYaml.ParseJsonOrYaml(request.SearchSpace ?? throw new FormatException("$: expected a search space."));
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"SearchSpace: {ex.Message}", ex);
        }

        Check(request.Goals is { Count: > 0 }, "Goals", "at least one goal");
        var goals = new List<TuningGoal>();
        for (int i = 0; i < request.Goals.Count; i++)
        {
            var g = request.Goals[i];
            string at = $"Goals[{i}]";
            Check(g is not null && g.Metric is { Length: > 0 and <= 128 }, $"{at}.Metric", "a metric name of 1 to 128 characters");
            Check(Enum.IsDefined(g!.Direction), $"{at}.Direction", "Minimize, Maximize or AtLeast");
            Check(double.IsFinite(g.Weight) && g.Weight >= 0, $"{at}.Weight", "a finite weight of at least 0");
            Check(g.Direction != TuningGoalDirection.AtLeast || g.Target is { } t && double.IsFinite(t), $"{at}.Target", "the level an AtLeast goal must reach");
            goals.Add(new TuningGoal(g.Metric, (GoalDirection)(int)g.Direction, g.Weight, g.Target));
        }

        Check(goals.Any(g => g.Direction != GoalDirection.AtLeast && g.Weight > 0), "Goals", "at least one Minimize or Maximize goal with a positive weight");
        Check(request.Evaluator is { Length: > 0 and <= 128 }, "Evaluator", "the name of a registered evaluator");
        Check(request.Population is >= 2 and <= 10_000, "Population", "2 to 10000 genomes");
        Check(request.Generations is >= 1 and <= 100_000, "Generations", "1 to 100000 generations");
        Check(request.MaxEvaluations is null or >= 1, "MaxEvaluations", "at least 1, or none");
        Check(request.Mutation is >= 0 and <= 1, "Mutation", "a probability from 0 to 1");
        Check(request.GuidedCandidates is >= 0 and <= 1000, "GuidedCandidates", "0 to 1000 candidates");
        Check(request.Slots is >= 1 and <= 256, "Slots", "1 to 256 slots");
        Check(request.EvaluationTimeout > TimeSpan.Zero && request.EvaluationTimeout <= TimeSpan.FromDays(1), "EvaluationTimeout", "more than 0 and at most a day");
        Check(request.Retries is >= 0 and <= 10, "Retries", "0 to 10 retries");
        Check(request.LatencyMetric is { Length: > 0 } && request.ThroughputMetric is { Length: > 0 }, "LatencyMetric", "metric names for the metric store");
        Check(request.Baseline is not null, "Baseline", "one setting per gene");
        double[] baseline;
        try
        {
            baseline = space.Values(request.Baseline!);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"Baseline: {ex.Message}", ex);
        }

        var unknown = request.Baseline!.Keys.FirstOrDefault(k => space.Genes.All(g => g.Name != k));
        Check(unknown is null, "Baseline", $"settings of the space's genes only ('{unknown}' is not a gene)");
        Check(space.Violation(baseline) == 0, "Baseline", $"a configuration within the constraints ({space.Describe(baseline)} breaks one)");
        return (space, goals, baseline);
    }

    private static void Check(bool ok, string field, string expected)
    {
        if (!ok)
        {
            throw new ArgumentException($"{field}: expected {expected}.");
        }
    }
}
