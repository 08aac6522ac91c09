using System.Text.Json;

namespace VmEcosystem.Tuning;

/// <summary>
/// Reads a search space from JSON, strictly: unknown properties, wrong types, empty ranges and contradictions are
/// errors that name the path (<c>genes[2].max</c>) and what was expected.
/// <code>
/// { "genes": [
///     { "name": "vcpus", "type": "int", "min": 1, "max": 16 },
///     { "name": "memoryGiB", "type": "real", "min": 1, "max": 32, "step": 0.5 },
///     { "name": "gc", "type": "categorical", "choices": ["serial", "parallel", "concurrent"] },
///     { "name": "compression", "type": "bool" } ],
///   "constraints": [ "memoryGiB &lt;= 4 * vcpus" ] }
/// </code>
/// </summary>
internal static class SearchSpaceJson
{
    private static readonly string[] GeneProperties = ["name", "type", "min", "max", "step", "choices"];

    public static SearchSpace Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The search space is not valid JSON: {ex.Message}", ex);
        }

        using (doc)
        {
            var root = doc.RootElement;
            Require(root.ValueKind == JsonValueKind.Object, "$", "an object with \"genes\" and optionally \"constraints\"");
            foreach (var p in root.EnumerateObject())
            {
                Require(p.Name is "genes" or "constraints", $"$.{p.Name}", "no such property (expected \"genes\" or \"constraints\")");
            }

            Require(root.TryGetProperty("genes", out var genesElement) && genesElement.ValueKind == JsonValueKind.Array && genesElement.GetArrayLength() > 0,
                "genes", "a non-empty array of genes");
            var genes = new List<GeneSpec>();
            int i = 0;
            foreach (var g in genesElement.EnumerateArray())
            {
                var gene = ParseGene(g, $"genes[{i++}]");
                Require(genes.All(x => x.Name != gene.Name), $"genes[{i - 1}].name", $"a name used once ('{gene.Name}' repeats)");
                genes.Add(gene);
            }

            var constraints = new List<GeneConstraint>();
            if (root.TryGetProperty("constraints", out var cs))
            {
                Require(cs.ValueKind == JsonValueKind.Array, "constraints", "an array of strings such as \"memoryGiB <= 4 * vcpus\"");
                int c = 0;
                foreach (var item in cs.EnumerateArray())
                {
                    string path = $"constraints[{c++}]";
                    Require(item.ValueKind == JsonValueKind.String, path, "a string such as \"memoryGiB <= 4 * vcpus\"");
                    constraints.Add(GeneConstraint.Parse(item.GetString()!, genes, path));
                }
            }

            return new SearchSpace(genes, constraints);
        }
    }

    private static GeneSpec ParseGene(JsonElement g, string path)
    {
        Require(g.ValueKind == JsonValueKind.Object, path, "an object with name and type");
        foreach (var p in g.EnumerateObject())
        {
            Require(GeneProperties.Contains(p.Name), $"{path}.{p.Name}", $"no such property (expected {string.Join(", ", GeneProperties)})");
        }

        string name = String(g, "name", path);
        Require(name.Length > 0 && (char.IsLetter(name[0]) || name[0] == '_') && name.All(ch => char.IsLetterOrDigit(ch) || ch is '_' or '.'),
            $"{path}.name", "a name of letters, digits, '_' or '.', starting with a letter");
        string type = String(g, "type", path);
        switch (type)
        {
            case "real":
            case "int":
                double min = Number(g, "min", path), max = Number(g, "max", path);
                Require(min <= max, $"{path}.max", $"a value at least min ({min})");
                double? step = g.TryGetProperty("step", out var s) ? Number(g, "step", path) : null;
                Require(step is null or > 0, $"{path}.step", "a positive number");
                bool integer = type == "int";
                Require(!integer || (min == Math.Floor(min) && max == Math.Floor(max) && (step is null || step == Math.Floor(step.Value))), path, "whole numbers for an int gene");
                Require(!g.TryGetProperty("choices", out _), $"{path}.choices", "no choices on a numeric gene");
                return new GeneSpec(name, integer ? GeneKind.Integer : GeneKind.Real, min, max, integer ? step ?? 1 : step, []);
            case "categorical":
                Require(g.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() >= 2
                    && choices.EnumerateArray().All(c => c.ValueKind == JsonValueKind.String), $"{path}.choices", "an array of at least two strings");
                var list = choices.EnumerateArray().Select(c => c.GetString()!).ToArray();
                Require(list.Distinct(StringComparer.Ordinal).Count() == list.Length, $"{path}.choices", "distinct choices");
                NoRange(g, path);
                return new GeneSpec(name, GeneKind.Categorical, 0, list.Length - 1, 1, list);
            case "bool":
                NoRange(g, path);
                Require(!g.TryGetProperty("choices", out _), $"{path}.choices", "no choices on a bool gene");
                return new GeneSpec(name, GeneKind.Boolean, 0, 1, 1, []);
            default:
                throw new FormatException($"{path}.type: expected real, int, categorical or bool; got '{type}'.");
        }
    }

    private static void NoRange(JsonElement g, string path)
    {
        foreach (string p in new[] { "min", "max", "step" })
        {
            Require(!g.TryGetProperty(p, out _), $"{path}.{p}", "no range on this type");
        }
    }

    private static string String(JsonElement e, string name, string path)
    {
        Require(e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String, $"{path}.{name}", "a string");
        return v.GetString()!;
    }

    private static double Number(JsonElement e, string name, string path)
    {
        Require(e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && double.IsFinite(v.GetDouble()), $"{path}.{name}", "a finite number");
        return v.GetDouble();
    }

    private static void Require(bool ok, string path, string expected)
    {
        if (!ok)
        {
            throw new FormatException($"{path}: expected {expected}.");
        }
    }
}
