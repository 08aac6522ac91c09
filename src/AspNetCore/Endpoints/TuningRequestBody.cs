using System.Text.Json;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Tuning;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary>Reads <c>POST /tuning/runs</c>'s body into a <see cref="TuningRunRequest"/>; every error names its JSON path.</summary>
internal static class TuningRequestBody
{
    public static TuningRunRequest? Read(JsonElement root, List<(string, string)> errors, string[] known)
    {
        var fields = new JsonFields(root, errors, known);
        string? id = fields.Text("id", required: true, maxLength: 128);
        string? space = SearchSpace(root, errors);
        var goals = Goals(root, errors);
        var baseline = ConfigurationEndpoints.Settings(root, errors, "baseline", scalars: true);
        var defaults = new TuningRunRequest { Id = "-", SearchSpace = "-", Goals = [], Baseline = new Dictionary<string, string>() };
        string evaluator = fields.Text("evaluator", maxLength: 128) ?? defaults.Evaluator;
        string? vm = fields.Text("vm", maxLength: 256);
        double? population = fields.Number("population", 2, 10_000, integer: true), generations = fields.Number("generations", 1, 100_000, integer: true);
        double? budget = fields.Number("maxEvaluations", 1, 1e12, integer: true), mutation = fields.Number("mutation", 0, 1);
        double? guided = fields.Number("guidedCandidates", 0, 1000, integer: true), slots = fields.Number("slots", 1, 256, integer: true);
        double? seed = fields.Number("seed", int.MinValue, int.MaxValue, integer: true), timeout = fields.Number("evaluationTimeoutSeconds", 0.001, 86_400);
        double? retries = fields.Number("retries", 0, 10, integer: true);
        string latency = fields.Text("latencyMetric", maxLength: 128) ?? defaults.LatencyMetric, throughput = fields.Text("throughputMetric", maxLength: 128) ?? defaults.ThroughputMetric;
        if (errors.Count > 0)
        {
            return null;
        }

        return new TuningRunRequest
        {
            Id = id!,
            SearchSpace = space!,
            Goals = goals,
            Baseline = baseline,
            Evaluator = evaluator,
            Vm = vm is null ? null : new VmId(vm),
            Population = (int?)population ?? defaults.Population,
            Generations = (int?)generations ?? defaults.Generations,
            MaxEvaluations = (long?)budget,
            Mutation = mutation ?? defaults.Mutation,
            GuidedCandidates = (int?)guided ?? defaults.GuidedCandidates,
            Slots = (int?)slots ?? defaults.Slots,
            Seed = (int?)seed ?? defaults.Seed,
            EvaluationTimeout = timeout is { } s ? TimeSpan.FromSeconds(s) : defaults.EvaluationTimeout,
            Retries = (int?)retries ?? defaults.Retries,
            LatencyMetric = latency,
            ThroughputMetric = throughput,
        };
    }

    // JSON or YAML text, or the JSON space itself as an object.
    private static string? SearchSpace(JsonElement root, List<(string, string)> errors)
    {
        if (root.TryGetProperty("searchSpace", out var s))
        {
            if (s.ValueKind == JsonValueKind.Object)
            {
                return s.GetRawText();
            }

            if (s.ValueKind == JsonValueKind.String && ConfigurationEndpoints.Safe(s) is { Length: > 0 and <= 1_000_000 } text)
            {
                return text;
            }
        }

        errors.Add(("$.searchSpace", "expected the search space: JSON or YAML text, or a JSON object with genes and constraints"));
        return null;
    }

    private static List<TuningGoalSpec> Goals(JsonElement root, List<(string, string)> errors)
    {
        var goals = new List<TuningGoalSpec>();
        if (!root.TryGetProperty("goals", out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() is 0 or > 64)
        {
            errors.Add(("$.goals", "expected an array of 1 to 64 goals ({\"metric\", \"direction\": minimize, maximize or atLeast, \"weight\", \"target\"})"));
            return goals;
        }

        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            string at = $"$.goals[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors.Add((at, "expected an object with metric and direction"));
                continue;
            }

            var goalErrors = new List<(string, string)>();
            var f = new JsonFields(item, goalErrors, "metric", "direction", "weight", "target");
            string? metric = f.Text("metric", required: true, maxLength: 128), direction = f.Text("direction", required: true, maxLength: 16);
            double? weight = f.Number("weight", 0, 1e6), target = f.Number("target", double.MinValue, double.MaxValue);
            TuningGoalDirection? d = direction?.ToLowerInvariant() switch
            {
                "minimize" => TuningGoalDirection.Minimize,
                "maximize" => TuningGoalDirection.Maximize,
                "atleast" => TuningGoalDirection.AtLeast,
                _ => null,
            };
            if (direction is not null && d is null)
            {
                goalErrors.Add(("$.direction", "expected minimize, maximize or atLeast"));
            }

            errors.AddRange(goalErrors.Select(e => (at + e.Item1[1..], e.Item2)));
            if (goalErrors.Count == 0)
            {
                goals.Add(new TuningGoalSpec(metric!, d!.Value, weight ?? (d == TuningGoalDirection.AtLeast ? 0 : 1), target));
            }
        }

        return goals;
    }
}
