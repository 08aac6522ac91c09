using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace VmEcosystem.Tuning;

/// <summary>
/// Reads a search space from YAML: the document is turned into the JSON it stands for (YAML 1.2 core schema: plain
/// scalars that look like numbers, booleans or null are those, quoted ones are strings) and read by
/// <see cref="SearchSpaceJson"/>, so a YAML space is checked as strictly and its errors name the same paths.
/// <code>
/// genes:
///   - { name: vcpus, type: int, min: 1, max: 16 }
///   - name: gc
///     type: categorical
///     choices: [serial, parallel, concurrent]
/// constraints:
///   - memoryGiB &lt;= 4 * vcpus
/// </code>
/// </summary>
internal static partial class SearchSpaceYaml
{
    /// <summary>The space in <paramref name="text"/>: JSON when it starts with <c>{</c>, YAML otherwise.</summary>
    /// <exception cref="FormatException">Not a valid search space; the message names the path.</exception>
    public static SearchSpace ParseJsonOrYaml(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.TrimStart().StartsWith('{') ? SearchSpaceJson.Parse(text) : Parse(text);
    }

    /// <exception cref="FormatException">Not valid YAML, or not a valid search space; the message names the path.</exception>
    public static SearchSpace Parse(string yaml) => SearchSpaceJson.Parse(ToJson(yaml));

    /// <summary>The JSON a one-document YAML text stands for.</summary>
    public static string ToJson(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new FormatException($"The search space is not valid YAML (line {ex.Start.Line}, column {ex.Start.Column}): {ex.Message}", ex);
        }

        if (stream.Documents.Count != 1)
        {
            throw new FormatException($"$: expected one YAML document; got {stream.Documents.Count}.");
        }

        return Convert(stream.Documents[0].RootNode, "$")?.ToJsonString() ?? "null";
    }

    private static JsonNode? Convert(YamlNode node, string path)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    // a key used twice is already a YamlException
                    string name = key is YamlScalarNode { Value: { } k } ? k : throw new FormatException($"{path}: expected plain keys (line {key.Start.Line}).");
                    obj[name] = Convert(value, $"{path}.{name}");
                }

                return obj;
            case YamlSequenceNode seq:
                var array = new JsonArray();
                int i = 0;
                foreach (var item in seq.Children)
                {
                    array.Add(Convert(item, $"{path}[{i++}]"));
                }

                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new FormatException($"{path}: expected a mapping, a sequence or a scalar (line {node.Start.Line}).");
        }
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        string text = scalar.Value ?? "";
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
        {
            return JsonValue.Create(text);
        }

        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(text[0] is 't' or 'T');
        }

        if (NumberPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
        {
            return JsonValue.Create(d);
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")]
    private static partial Regex NumberPattern();
}
