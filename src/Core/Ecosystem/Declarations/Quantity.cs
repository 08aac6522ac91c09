using System.Globalization;

namespace VmEcosystem.Ecosystem.Declarations;

/// <summary>Parses memory sizes (<c>16 GiB</c>, <c>512MiB</c>, <c>8GB</c>) and bandwidths (<c>10 Gbps</c>, <c>500 Mbps</c>).</summary>
internal static class Quantity
{
    private static readonly Dictionary<string, double> MemoryUnitsMiB = new(StringComparer.OrdinalIgnoreCase)
    {
        ["MiB"] = 1, ["MB"] = 1_000_000 / 1_048_576.0, ["GiB"] = 1024, ["GB"] = 1e9 / 1_048_576.0, ["TiB"] = 1024 * 1024, ["TB"] = 1e12 / 1_048_576.0,
    };

    private static readonly Dictionary<string, double> BandwidthUnitsMbps = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Kbps"] = 0.001, ["Mbps"] = 1, ["Gbps"] = 1000, ["Tbps"] = 1_000_000,
    };

    public static double? ParseMemoryMiB(string text, out string? error) =>
        Parse(text, MemoryUnitsMiB, "a memory size such as '16 GiB' or '512 MiB'", out error);

    public static double? ParseBandwidthMbps(string text, out string? error) =>
        Parse(text, BandwidthUnitsMbps, "a bandwidth such as '10 Gbps' or '500 Mbps'", out error);

    private static double? Parse(string text, Dictionary<string, double> units, string what, out string? error)
    {
        error = null;
        var s = text.AsSpan().Trim();
        int end = 0;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] == '.'))
        {
            end++;
        }

        if (end == 0 || end > 24 || !double.TryParse(s[..end], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || !(value > 0))
        {
            error = $"expected {what}";
            return null;
        }

        string unit = s[end..].Trim().ToString();
        if (!units.TryGetValue(unit, out double factor))
        {
            error = $"expected {what}; unit '{LatencyBound.Shorten(unit)}' is not one of {string.Join(", ", units.Keys)}";
            return null;
        }

        return value * factor;
    }
}
