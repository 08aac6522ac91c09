using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using VmEcosystem.Policies;

namespace VmEcosystem.Hosting;

/// <summary>
/// Policies written inline in configuration (<c>VmEcosystem:Resizing:Policies</c>: an array of policy objects, as in
/// the JSON document) turned into the document the strict parser reads, so both ways of writing them are checked by
/// the same rules; errors are renamed from JSON paths to the configuration keys the user wrote.
/// </summary>
internal static partial class PolicyConfiguration
{
    public const string SectionPath = "VmEcosystem:Resizing:Policies";

    // Configuration holds every value as a string: these fields are numbers in the document. Everything else stays a
    // string (a name "123" must stay a name); a value here that is not a number is passed on as a string, so the parser
    // reports it with its path and what it expected.
    private static readonly HashSet<string> NumberFields = new(StringComparer.OrdinalIgnoreCase)
    {
        "growAbove", "shrinkBelow", "min", "max", "step", "costPerUnit", "latencyAboveMs", "throughputPerCore",
    };

    /// <summary>The <c>{"policies": [...]}</c> document written by the section's values.</summary>
    public static byte[] ToDocument(IConfigurationSection policies)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WritePropertyName("policies");
            WriteNode(w, policies, key: null);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>An error's JSON path as the configuration key (<c>$.policies[0].cpu.min</c> → <c>VmEcosystem:Resizing:Policies:0:cpu:min</c>).</summary>
    public static PolicyError ToConfigurationKey(PolicyError error)
    {
        string path = error.Path;
        if (path == "$" || path == "$.policies")
        {
            return error with { Path = SectionPath };
        }

        if (!path.StartsWith("$.policies", StringComparison.Ordinal))
        {
            return error;
        }

        string rest = Index().Replace(path["$.policies".Length..], ".$1").Replace('.', ':');
        return error with { Path = SectionPath + rest };
    }

    private static void WriteNode(Utf8JsonWriter w, IConfigurationSection section, string? key)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            WriteLeaf(w, section.Value ?? string.Empty, key);
            return;
        }

        if (IsArray(children))
        {
            w.WriteStartArray();
            foreach (var child in children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)))
            {
                WriteNode(w, child, key);
            }

            w.WriteEndArray();
            return;
        }

        w.WriteStartObject();
        foreach (var child in children)
        {
            w.WritePropertyName(child.Key);
            WriteNode(w, child, child.Key);
        }

        w.WriteEndObject();
    }

    private static void WriteLeaf(Utf8JsonWriter w, string value, string? key)
    {
        if (key is not null && NumberFields.Contains(key)
            && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) && double.IsFinite(number))
        {
            w.WriteNumberValue(number);
        }
        else
        {
            w.WriteStringValue(value);
        }
    }

    // Configuration writes an array as keys 0..n-1 (binders read it so); anything else is an object.
    private static bool IsArray(List<IConfigurationSection> children)
    {
        var indices = new bool[children.Count];
        foreach (var c in children)
        {
            if (!int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= children.Count || indices[i])
            {
                return false;
            }

            indices[i] = true;
        }

        return true;
    }

    [GeneratedRegex(@"\[(\d+)\]")]
    private static partial Regex Index();

    /// <summary>The text of the document, for logs and tests.</summary>
    public static string ToText(IConfigurationSection policies) => Encoding.UTF8.GetString(ToDocument(policies));
}
