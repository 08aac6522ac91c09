using System.Globalization;

namespace VmEcosystem.Ecosystem.Declarations;

/// <summary>A latency requirement such as <c>&lt; 1ms</c> or <c>&lt;= 500us</c>.</summary>
/// <param name="Limit">The bound.</param>
/// <param name="Inclusive">True for <c>&lt;=</c>, false for <c>&lt;</c>.</param>
public readonly record struct LatencyBound(TimeSpan Limit, bool Inclusive)
{
    /// <summary>True when <paramref name="latency"/> meets the bound.</summary>
    public bool IsMetBy(TimeSpan latency) => Inclusive ? latency <= Limit : latency < Limit;

    /// <summary>
    /// Parses <c>&lt; 1ms</c>, <c>&lt;=500us</c>, <c>&lt; 2 ms</c>, <c>&lt; 0.5 s</c> (units ns, us, µs, ms, s;
    /// whitespace anywhere between the parts). Returns null and an explanation when the text is not one.
    /// </summary>
    public static LatencyBound? TryParse(string text, out string? error)
    {
        error = null;
        var s = text.AsSpan().Trim();
        bool inclusive;
        if (s.StartsWith("<="))
        {
            inclusive = true;
            s = s[2..];
        }
        else if (s.StartsWith("<"))
        {
            inclusive = false;
            s = s[1..];
        }
        else
        {
            error = "expected a latency bound that starts with '<' or '<=', such as '< 1ms' or '<= 500us'";
            return null;
        }

        s = s.TrimStart();
        int end = 0;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] == '.'))
        {
            end++;
        }

        if (end == 0 || end > 32 || !double.TryParse(s[..end], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value))
        {
            error = "expected a number after the comparison, such as '< 1ms'";
            return null;
        }

        var unit = s[end..].Trim();
        double microseconds = unit switch
        {
            "ns" => value / 1000,
            "us" or "µs" or "μs" => value,
            "ms" => value * 1000,
            "s" => value * 1_000_000,
            _ => double.NaN,
        };
        if (double.IsNaN(microseconds))
        {
            error = $"expected a unit ns, us, µs, ms or s after the number; got '{Shorten(unit.ToString())}'";
            return null;
        }

        if (!(microseconds > 0) || microseconds > 3.6e9)
        {
            error = "expected a latency bound above zero and at most an hour";
            return null;
        }

        return new LatencyBound(TimeSpan.FromTicks((long)Math.Round(microseconds * 10)), inclusive);
    }

    /// <summary>Parses or throws <see cref="FormatException"/>.</summary>
    public static LatencyBound Parse(string text) =>
        TryParse(text, out var error) ?? throw new FormatException($"'{text}': {error}.");

    /// <inheritdoc />
    public override string ToString()
    {
        double us = Limit.Ticks / 10.0;
        string amount = us >= 1000 ? $"{(us / 1000).ToString(CultureInfo.InvariantCulture)}ms" : $"{us.ToString(CultureInfo.InvariantCulture)}us";
        return (Inclusive ? "<= " : "< ") + amount;
    }

    internal static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");
}
