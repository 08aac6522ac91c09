using System.Globalization;

namespace VmEcosystem.Tuning;

/// <summary>
/// A linear constraint between genes, written as text: <c>memoryGiB &lt;= 4 * vcpus</c>, <c>threads &gt;= vcpus</c>,
/// <c>cacheMiB + 512 &lt;= 1024 * memoryGiB</c>. Each side is a sum of terms (<c>number</c>, <c>gene</c> or
/// <c>number * gene</c>, with + or -); booleans count as 0/1 and choices as their index. The violation is how far the
/// left side is on the wrong side of the right one (0 when satisfied).
/// </summary>
internal sealed class GeneConstraint
{
    private readonly double[] _coefficients; // left minus right, per gene
    private readonly double _constant;
    private readonly string _op;

    private GeneConstraint(string text, double[] coefficients, double constant, string op)
    {
        Text = text;
        _coefficients = coefficients;
        _constant = constant;
        _op = op;
    }

    /// <summary>The constraint as written.</summary>
    public string Text { get; }

    /// <summary>0 when satisfied, else the amount by which it is not.</summary>
    public double Violation(ReadOnlySpan<double> values)
    {
        double difference = _constant;
        for (int g = 0; g < _coefficients.Length; g++)
        {
            difference += _coefficients[g] * values[g];
        }

        return _op switch
        {
            "<=" or "<" => Math.Max(0, difference),
            ">=" or ">" => Math.Max(0, -difference),
            _ => Math.Abs(difference),
        };
    }

    /// <summary>Parses <paramref name="text"/> over the genes of <paramref name="genes"/>; errors say what was expected where.</summary>
    public static GeneConstraint Parse(string text, IReadOnlyList<GeneSpec> genes, string path)
    {
        string[] ops = ["<=", ">=", "==", "<", ">"];
        string? op = ops.FirstOrDefault(o => text.Contains(o, StringComparison.Ordinal));
        if (op is null)
        {
            throw new FormatException($"{path}: expected a comparison (<=, >=, <, > or ==) in '{text}'.");
        }

        int at = text.IndexOf(op, StringComparison.Ordinal);
        var coefficients = new double[genes.Count];
        double constant = 0;
        Side(text[..at], +1, genes, coefficients, ref constant, path, text);
        Side(text[(at + op.Length)..], -1, genes, coefficients, ref constant, path, text);
        if (coefficients.All(c => c == 0))
        {
            throw new FormatException($"{path}: '{text}' names no gene.");
        }

        return new GeneConstraint(text.Trim(), coefficients, constant, op);
    }

    private static void Side(string side, int sign, IReadOnlyList<GeneSpec> genes, double[] coefficients, ref double constant, string path, string text)
    {
        var terms = side.Replace("-", "+-", StringComparison.Ordinal).Split('+', StringSplitOptions.TrimEntries);
        bool any = false;
        foreach (string raw in terms)
        {
            if (raw.Length == 0)
            {
                continue;
            }

            any = true;
            string term = raw;
            double factor = sign;
            if (term.StartsWith('-'))
            {
                factor = -factor;
                term = term[1..].Trim();
            }

            string[] parts = term.Split('*', StringSplitOptions.TrimEntries);
            if (parts.Length > 2)
            {
                throw new FormatException($"{path}: '{term}' in '{text}' multiplies more than a number and a gene (constraints are linear).");
            }

            string? gene = null;
            foreach (string p in parts)
            {
                if (double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double number))
                {
                    factor *= number;
                }
                else if (gene is null)
                {
                    gene = p;
                }
                else
                {
                    throw new FormatException($"{path}: '{term}' in '{text}' multiplies two genes (constraints are linear).");
                }
            }

            if (gene is null)
            {
                constant += factor;
                continue;
            }

            int index = -1;
            for (int g = 0; g < genes.Count; g++)
            {
                if (string.Equals(genes[g].Name, gene, StringComparison.Ordinal))
                {
                    index = g;
                }
            }

            if (index < 0)
            {
                throw new FormatException($"{path}: '{gene}' in '{text}' is not a gene; expected one of {string.Join(", ", genes.Select(x => x.Name))}.");
            }

            coefficients[index] += factor;
        }

        if (!any)
        {
            throw new FormatException($"{path}: a side of '{text}' is empty.");
        }
    }
}
