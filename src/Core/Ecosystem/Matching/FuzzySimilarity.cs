using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Ecosystem.Matching;

/// <summary>Similarity between a fuzzy query and a VM, in [0, 1]; pluggable through the ecosystem options.</summary>
public interface IFuzzySimilarity
{
    /// <summary>Similarity of <paramref name="vm"/> (with its effective profile) to <paramref name="query"/>.</summary>
    double Similarity(FuzzyQuery query, VmInfo vm, VmProfile profile);
}

/// <summary>
/// The default similarity: cosine of signature vectors when both sides have one of equal length, otherwise
/// Jaccard of tag sets (the VM's tags plus the words of its type and workload class).
/// </summary>
public sealed class SignatureOrTagSimilarity : IFuzzySimilarity
{
    /// <inheritdoc />
    public double Similarity(FuzzyQuery query, VmInfo vm, VmProfile profile)
    {
        if (query.Signature is { Count: > 0 } q && profile.Signature is { } s && s.Count == q.Count)
        {
            return Math.Max(0, Cosine(q, s));
        }

        if (query.Tags.Count == 0)
        {
            return 0;
        }

        var tags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in profile.Tags)
        {
            tags.UnionWith(FuzzyQuery.Tokenize(t));
        }

        if (profile.Type is not null)
        {
            tags.UnionWith(FuzzyQuery.Tokenize(profile.Type));
        }

        if (profile.WorkloadClass is not null)
        {
            tags.UnionWith(FuzzyQuery.Tokenize(profile.WorkloadClass));
        }

        return Jaccard(query.Tags, tags);
    }

    /// <summary>Cosine similarity; 0 when either vector is all zeros.</summary>
    public static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Count; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return na > 0 && nb > 0 ? dot / Math.Sqrt(na * nb) : 0;
    }

    /// <summary>|A ∩ B| / |A ∪ B|; 0 for two empty sets.</summary>
    public static double Jaccard(IReadOnlySet<string> a, IReadOnlySet<string> b)
    {
        if (a.Count == 0 && b.Count == 0)
        {
            return 0;
        }

        int common = 0;
        foreach (var x in a)
        {
            if (b.Contains(x))
            {
                common++;
            }
        }

        return (double)common / (a.Count + b.Count - common);
    }
}
