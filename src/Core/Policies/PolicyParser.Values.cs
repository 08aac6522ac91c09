using System.Globalization;
using System.Text.Json;
using VmEcosystem.Reservations;

namespace VmEcosystem.Policies;

/// <summary>The parser's readers of single values: numbers in range, priorities, durations, strings, objects with known fields.</summary>
public sealed partial class PolicyParser
{
    private sealed partial class Walk
    {
        private double Number(JsonElement e, string field, string path, double fallback, double min, double max, bool exclusiveMin = false)
        {
            if (!e.TryGetProperty(field, out var v))
            {
                return fallback;
            }

            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d))
            {
                Error($"{path}.{field}", $"expected a number, got {Kind(v)}");
                return fallback;
            }

            if (d < min || d > max || (exclusiveMin && d == min))
            {
                Error($"{path}.{field}", $"expected a number {(exclusiveMin ? "above" : "at least")} {min.ToString(CultureInfo.InvariantCulture)} and at most {max.ToString(CultureInfo.InvariantCulture)}; got {d.ToString(CultureInfo.InvariantCulture)}");
            }

            return d;
        }

        private SloPriority Priority(JsonElement e, string path)
        {
            switch (e.ValueKind == JsonValueKind.String ? e.GetString() : null)
            {
                case "critical":
                    return SloPriority.Critical;
                case "standard":
                    return SloPriority.Standard;
                case "best-effort":
                    return SloPriority.BestEffort;
                default:
                    Error(path, $"expected one of critical, standard, best-effort, got {Kind(e)}");
                    return SloPriority.Standard;
            }
        }

        // "15m", "1h", "30s", "2d" or a TimeSpan ("00:15:00").
        private TimeSpan Duration(JsonElement e, string path, TimeSpan min, TimeSpan max)
        {
            string? text = e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            TimeSpan? value = null;
            if (text is { Length: >= 2 and <= 32 } && "smhd".Contains(text[^1], StringComparison.Ordinal)
                && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n) && n <= 1e6)
            {
                value = text[^1] switch { 's' => TimeSpan.FromSeconds(n), 'm' => TimeSpan.FromMinutes(n), 'h' => TimeSpan.FromHours(n), _ => TimeSpan.FromDays(n) };
            }
            else if (text is { Length: <= 32 } && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var ts))
            {
                value = ts;
            }

            if (value is not { } v)
            {
                Error(path, $"expected a duration such as \"15m\", \"1h\", \"30s\" or \"00:15:00\", got {Kind(e)}");
                return min;
            }

            if (v < min || v > max)
            {
                Error(path, $"expected a duration from {min} to {max}; got {v}");
            }

            return v;
        }

        private string? Text(JsonElement e, string path)
        {
            if (e.ValueKind != JsonValueKind.String)
            {
                Error(path, $"expected a string, got {Kind(e)}");
                return null;
            }

            string s = e.GetString()!;
            if (s.Trim().Length == 0 || s.Length > MaxString)
            {
                Error(path, $"expected a non-empty string of at most {MaxString} characters");
                return null;
            }

            return s;
        }

        private void Missing(string path, string field, string expected) => Error(path, $"missing '{field}' ({expected})");

        private double? Required(JsonElement e, string field, string path, string expected)
        {
            if (e.TryGetProperty(field, out _))
            {
                return Number(e, field, path, 0, 0, 1e9);
            }

            Missing(path, field, expected);
            return null;
        }

        private bool Object(JsonElement e, string path, string[] known)
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"expected an object, got {Kind(e)}");
                return false;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                string name = p.Name.Length > 64 ? p.Name[..64] + "..." : p.Name;
                if (!seen.Add(p.Name))
                {
                    Error($"{path}.{name}", "duplicate field");
                }
                else if (Array.IndexOf(known, p.Name) < 0)
                {
                    var near = known.FirstOrDefault(k => string.Equals(k, p.Name, StringComparison.OrdinalIgnoreCase));
                    Error($"{path}.{name}", $"unknown field{(near is null ? string.Empty : $"; did you mean '{near}'?")} expected one of {string.Join(", ", known)}");
                }
            }

            return true;
        }

        private static string Field(PolicyResource r) => Resources.First(x => x.Resource == r).Field;

        private static string Kind(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.String => $"the string \"{Truncate(e.GetString()!)}\"",
            JsonValueKind.Number => $"the number {Truncate(e.GetRawText())}",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            JsonValueKind.Array => "an array",
            _ => "an object",
        };

        private static string Truncate(string s) => s.Length > 40 ? s[..40] + "..." : s;
    }
}
