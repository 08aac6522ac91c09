using System.Globalization;
using VmEcosystem.Cluster;

namespace VmEcosystem.Ecosystem.Declarations;

/// <summary>How a version requirement compares versions.</summary>
public enum VersionComparison
{
    /// <summary>Any version of the product.</summary>
    Any = 0,

    /// <summary>The required components are a prefix of the offered version (<c>14</c> matches <c>14.9</c>).</summary>
    Prefix,

    /// <summary><c>&gt;=</c>.</summary>
    AtLeast,

    /// <summary><c>&gt;</c>.</summary>
    Above,

    /// <summary><c>&lt;=</c>.</summary>
    AtMost,

    /// <summary><c>&lt;</c>.</summary>
    Below,
}

/// <summary>
/// A product and version a neighbour must run: <c>PostgreSQL 14</c> (prefix: 14, 14.9, 14.9.1),
/// <c>PostgreSQL &gt;= 13</c>, <c>Redis</c> (any version). Product names compare case-insensitively.
/// </summary>
public sealed record VersionRequirement(string Product, VersionComparison Comparison, IReadOnlyList<int> Components)
{
    /// <summary>Parses a requirement; returns null and an explanation when the text is not one.</summary>
    public static VersionRequirement? TryParse(string text, out string? error)
    {
        error = null;
        string s = text.Trim();
        if (s.Length == 0)
        {
            error = "expected a product and version such as 'PostgreSQL 14'; got an empty string";
            return null;
        }

        string[] tokens = s.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int first = tokens.Length;
        for (int i = 1; i < tokens.Length; i++)
        {
            if (char.IsAsciiDigit(tokens[i][0]) || tokens[i][0] is '<' or '>' or '=')
            {
                first = i;
                break;
            }
        }

        if (!char.IsAsciiLetter(tokens[0][0]) && tokens[0][0] != '_')
        {
            error = $"expected the product name first, such as 'PostgreSQL 14'; got '{LatencyBound.Shorten(s)}'";
            return null;
        }

        string product = string.Join(' ', tokens[..first]);
        if (first == tokens.Length)
        {
            return new VersionRequirement(product, VersionComparison.Any, []);
        }

        string rest = string.Concat(tokens[first..]);
        var comparison = VersionComparison.Prefix;
        foreach (var (op, kind) in Operators)
        {
            if (rest.StartsWith(op, StringComparison.Ordinal))
            {
                comparison = kind;
                rest = rest[op.Length..];
                break;
            }
        }

        var components = ParseComponents(rest, strict: true);
        if (components is null)
        {
            error = $"expected a dotted numeric version such as '14' or '14.9' after '{product}'; got '{LatencyBound.Shorten(rest)}'";
            return null;
        }

        return new VersionRequirement(product, comparison, components);
    }

    private static readonly (string Op, VersionComparison Kind)[] Operators =
        [(">=", VersionComparison.AtLeast), ("<=", VersionComparison.AtMost), (">", VersionComparison.Above), ("<", VersionComparison.Below), ("=", VersionComparison.Prefix)];

    /// <summary>
    /// Leading dotted numeric components of a version text (<c>14.9-1ubuntu</c> gives 14, 9). Strict parsing
    /// rejects anything after the numbers.
    /// </summary>
    internal static int[]? ParseComponents(string text, bool strict)
    {
        var list = new List<int>(4);
        int i = 0;
        while (i < text.Length && list.Count < 8)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]) && i - start < 9)
            {
                i++;
            }

            if (i == start || !int.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out int value))
            {
                return strict || list.Count == 0 ? null : [.. list];
            }

            list.Add(value);
            if (i < text.Length && text[i] == '.')
            {
                i++;
                continue;
            }

            break;
        }

        if (strict && i != text.Length)
        {
            return null;
        }

        return list.Count == 0 ? null : [.. list];
    }

    /// <summary>True when <paramref name="component"/> satisfies the requirement.</summary>
    public bool IsMetBy(SoftwareComponent component)
    {
        if (!string.Equals(component.Name, Product, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (Comparison == VersionComparison.Any)
        {
            return true;
        }

        var offered = ParseComponents(component.Version, strict: false);
        if (offered is null)
        {
            return false;
        }

        if (Comparison == VersionComparison.Prefix)
        {
            if (offered.Length < Components.Count)
            {
                return false;
            }

            for (int i = 0; i < Components.Count; i++)
            {
                if (offered[i] != Components[i])
                {
                    return false;
                }
            }

            return true;
        }

        int c = Compare(offered, Components);
        return Comparison switch
        {
            VersionComparison.AtLeast => c >= 0,
            VersionComparison.Above => c > 0,
            VersionComparison.AtMost => c <= 0,
            _ => c < 0,
        };
    }

    /// <summary>True when any component of <paramref name="stack"/> satisfies the requirement.</summary>
    public bool IsMetBy(IReadOnlyList<SoftwareComponent> stack)
    {
        for (int i = 0; i < stack.Count; i++)
        {
            if (IsMetBy(stack[i]))
            {
                return true;
            }
        }

        return false;
    }

    // Missing components count as zero: 14 == 14.0.
    private static int Compare(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int n = Math.Max(a.Count, b.Count);
        for (int i = 0; i < n; i++)
        {
            int x = i < a.Count ? a[i] : 0, y = i < b.Count ? b[i] : 0;
            if (x != y)
            {
                return x.CompareTo(y);
            }
        }

        return 0;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        string version = string.Join('.', Components);
        return Comparison switch
        {
            VersionComparison.Any => Product,
            VersionComparison.Prefix => $"{Product} {version}",
            VersionComparison.AtLeast => $"{Product} >= {version}",
            VersionComparison.Above => $"{Product} > {version}",
            VersionComparison.AtMost => $"{Product} <= {version}",
            _ => $"{Product} < {version}",
        };
    }
}
