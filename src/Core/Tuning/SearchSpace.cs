using System.Globalization;
using System.Text;

namespace VmEcosystem.Tuning;

/// <summary>What kind of value a gene holds.</summary>
internal enum GeneKind
{
    /// <summary>A real number in [min, max], on a grid of <c>step</c> when one is given.</summary>
    Real,

    /// <summary>An integer in [min, max], on a grid of <c>step</c> (default 1).</summary>
    Integer,

    /// <summary>One of a list of choices (held as its index).</summary>
    Categorical,

    /// <summary>False or true (held as 0 or 1).</summary>
    Boolean,
}

/// <summary>One gene of a search space.</summary>
/// <param name="Name">Its name in configurations and constraints.</param>
/// <param name="Kind">What it holds.</param>
/// <param name="Min">Smallest value (0 for categorical and boolean genes).</param>
/// <param name="Max">Largest value (choices - 1 for categorical genes, 1 for boolean ones).</param>
/// <param name="Step">Grid of real and integer genes (null: continuous reals, 1 for integers).</param>
/// <param name="Choices">The choices of a categorical gene.</param>
internal sealed record GeneSpec(string Name, GeneKind Kind, double Min, double Max, double? Step, IReadOnlyList<string> Choices);

/// <summary>
/// The genes a configuration is made of and the constraints between them. The engine evolves every gene as a real
/// number in an encoded range (discrete genes as [min, max + 1) or [0, choices), floored on decoding) so that one
/// genome stays one flat array of doubles; <see cref="Decode"/> turns it into the gene values (reals snapped to their
/// step, integers, choice indices, 0/1).
/// </summary>
internal sealed class SearchSpace
{
    public SearchSpace(IReadOnlyList<GeneSpec> genes, IReadOnlyList<GeneConstraint>? constraints = null)
    {
        ArgumentNullException.ThrowIfNull(genes);
        if (genes.Count == 0)
        {
            throw new ArgumentException("A search space needs at least one gene.", nameof(genes));
        }

        Genes = genes;
        Constraints = constraints ?? [];
        EncodedMin = new double[genes.Count];
        EncodedMax = new double[genes.Count];
        for (int g = 0; g < genes.Count; g++)
        {
            var gene = genes[g];
            bool discrete = gene.Kind != GeneKind.Real || gene.Step is not null;
            EncodedMin[g] = gene.Min;
            EncodedMax[g] = discrete ? gene.Max + (gene.Step ?? 1) : gene.Max;
        }
    }

    public IReadOnlyList<GeneSpec> Genes { get; }

    public IReadOnlyList<GeneConstraint> Constraints { get; }

    /// <summary>Lower ends of the encoded ranges the engine draws genes from.</summary>
    public double[] EncodedMin { get; }

    /// <summary>Upper ends of the encoded ranges.</summary>
    public double[] EncodedMax { get; }

    /// <summary>Index of the gene named <paramref name="name"/>, or -1.</summary>
    public int IndexOf(string name)
    {
        for (int g = 0; g < Genes.Count; g++)
        {
            if (string.Equals(Genes[g].Name, name, StringComparison.Ordinal))
            {
                return g;
            }
        }

        return -1;
    }

    /// <summary>Gene values from an encoded genome: reals snapped to their step, discrete genes floored onto their grid.</summary>
    public void Decode(ReadOnlySpan<double> encoded, Span<double> values)
    {
        for (int g = 0; g < Genes.Count; g++)
        {
            var gene = Genes[g];
            double x = encoded[g];
            values[g] = gene.Kind == GeneKind.Real && gene.Step is null
                ? Math.Clamp(x, gene.Min, gene.Max)
                : Math.Clamp(gene.Min + (Math.Floor((x - gene.Min) / (gene.Step ?? 1)) * (gene.Step ?? 1)), gene.Min, gene.Max);
        }
    }

    /// <summary>An encoded genome that decodes to <paramref name="values"/> (the middle of each value's cell).</summary>
    public double[] Encode(ReadOnlySpan<double> values)
    {
        var encoded = new double[Genes.Count];
        for (int g = 0; g < Genes.Count; g++)
        {
            var gene = Genes[g];
            encoded[g] = gene.Kind == GeneKind.Real && gene.Step is null ? values[g] : values[g] + ((gene.Step ?? 1) / 2);
        }

        return encoded;
    }

    /// <summary>How far the values are from satisfying every constraint (0: all satisfied).</summary>
    public double Violation(ReadOnlySpan<double> values)
    {
        double total = 0;
        foreach (var c in Constraints)
        {
            total += c.Violation(values);
        }

        return total;
    }

    /// <summary>The values as <c>name=value</c> pairs (choices by name, booleans as true/false).</summary>
    public string Describe(ReadOnlySpan<double> values)
    {
        var text = new StringBuilder();
        for (int g = 0; g < Genes.Count; g++)
        {
            var gene = Genes[g];
            text.Append(g == 0 ? "" : ", ").Append(gene.Name).Append('=').Append(Format(gene, values[g]));
        }

        return text.ToString();
    }

    /// <summary>The values as a configuration: one setting per gene, formatted as <see cref="Format"/> does.</summary>
    public Dictionary<string, string> Settings(ReadOnlySpan<double> values)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int g = 0; g < Genes.Count; g++)
        {
            settings[Genes[g].Name] = Format(Genes[g], values[g]);
        }

        return settings;
    }

    /// <summary>A configuration's gene values (in the space's order); every gene must be set, to a value it can hold.</summary>
    /// <exception cref="ArgumentException">A gene missing, or a value the gene cannot hold (named).</exception>
    public double[] Values(IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var values = new double[Genes.Count];
        for (int g = 0; g < values.Length; g++)
        {
            var gene = Genes[g];
            string text = settings.TryGetValue(gene.Name, out var t) ? t : throw new ArgumentException($"The configuration has no '{gene.Name}'.");
            double? value = gene.Kind switch
            {
                GeneKind.Categorical => gene.Choices.ToList().IndexOf(text) is var i and >= 0 ? i : null,
                GeneKind.Boolean => bool.TryParse(text, out bool b) ? (b ? 1 : 0) : null,
                _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d >= gene.Min && d <= gene.Max ? d : null,
            };
            values[g] = value ?? throw new ArgumentException(gene.Kind switch
            {
                GeneKind.Categorical => $"'{text}' is not a choice of '{gene.Name}' (expected one of {string.Join(", ", gene.Choices)}).",
                GeneKind.Boolean => $"'{text}' is not a value of '{gene.Name}' (expected true or false).",
                _ => $"'{text}' is not a value of '{gene.Name}' (expected a number from {Format(gene, gene.Min)} to {Format(gene, gene.Max)}).",
            });
        }

        return values;
    }

    /// <summary>One gene's value as text.</summary>
    public static string Format(GeneSpec gene, double value) => gene.Kind switch
    {
        GeneKind.Categorical => gene.Choices[(int)value],
        GeneKind.Boolean => value >= 0.5 ? "true" : "false",
        _ => value.ToString("0.####", CultureInfo.InvariantCulture),
    };
}
