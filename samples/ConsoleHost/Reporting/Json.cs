using System.Text.Json;
using System.Text.Json.Serialization;

namespace VmEcosystem.ConsoleHost.Reporting;

/// <summary>One-line JSON output for `--json` (camelCase, invariant numbers).</summary>
internal static class Json
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    };

    public static string Line(object value) => JsonSerializer.Serialize(value, value.GetType(), Options);
}
