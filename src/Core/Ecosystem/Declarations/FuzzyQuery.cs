namespace VmEcosystem.Ecosystem.Declarations;

/// <summary>
/// What a fuzzy dependency looks for. A string (<c>"similar ML model signature"</c>) becomes a tag set of its
/// words; an object may give <c>tags</c>, a numeric <c>signature</c> and its own <c>threshold</c>.
/// </summary>
public sealed record FuzzyQuery
{
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "of", "to", "with", "and", "or", "for", "in", "on", "like", "similar", "same", "any",
    };

    /// <summary>The query text, when given as a string.</summary>
    public string? Text { get; init; }

    /// <summary>Tags to compare (lower-case).</summary>
    public IReadOnlySet<string> Tags { get; init; } = new HashSet<string>();

    /// <summary>Numeric signature to compare by cosine similarity.</summary>
    public IReadOnlyList<double>? Signature { get; init; }

    /// <summary>Similarity threshold for this dependency (null: the configured default).</summary>
    public double? Threshold { get; init; }

    /// <summary>A query from free text: lower-case words without stop words.</summary>
    public static FuzzyQuery FromText(string text) => new() { Text = text, Tags = Tokenize(text) };

    /// <summary>Lower-case words of <paramref name="text"/> (letters, digits, '-', '_', '.'), stop words removed.</summary>
    public static HashSet<string> Tokenize(string text)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !IsWordChar(text[i]))
            {
                i++;
            }

            int start = i;
            while (i < text.Length && IsWordChar(text[i]))
            {
                i++;
            }

            if (i > start)
            {
                string word = text[start..i].ToLowerInvariant();
                if (!StopWords.Contains(word))
                {
                    set.Add(word);
                }
            }
        }

        return set;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c is '-' or '_' or '.';

    /// <inheritdoc />
    public override string ToString() =>
        Text ?? (Signature is not null ? $"signature[{Signature.Count}]" : string.Join(',', Tags.Order(StringComparer.Ordinal)));
}
