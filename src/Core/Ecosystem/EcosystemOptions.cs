using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Matching;

namespace VmEcosystem.Ecosystem;

/// <summary>Settings of the ecosystem map: score weights, matching and the proactive repair threshold.</summary>
public sealed class EcosystemOptions
{
    /// <summary>Weight of a required dependency in a VM's satisfaction score.</summary>
    public double RequiredWeight { get; set; } = 1.0;

    /// <summary>Weight of a preferred dependency.</summary>
    public double PreferredWeight { get; set; } = 0.5;

    /// <summary>Default similarity a fuzzy dependency needs (a declaration may set its own).</summary>
    public double FuzzyThreshold { get; set; } = 0.5;

    /// <summary>VMs whose score falls below this share of their optimum ask the planner for a move.</summary>
    public double RepairThreshold { get; set; } = 0.999;

    /// <summary>The similarity used by fuzzy dependencies.</summary>
    public IFuzzySimilarity Similarity { get; set; } = new SignatureOrTagSimilarity();

    /// <summary>The resource profiles declarations may name.</summary>
    public ResourceProfiles Profiles { get; set; } = new();

    /// <summary>Safety limits of the declaration parser.</summary>
    public DeclarationParserOptions Parser { get; set; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Check(RequiredWeight > 0 && double.IsFinite(RequiredWeight), nameof(RequiredWeight), "a positive number", RequiredWeight);
        Check(PreferredWeight >= 0 && double.IsFinite(PreferredWeight), nameof(PreferredWeight), "a non-negative number", PreferredWeight);
        Check(FuzzyThreshold > 0 && FuzzyThreshold <= 1, nameof(FuzzyThreshold), "in (0, 1]", FuzzyThreshold);
        Check(RepairThreshold > 0 && RepairThreshold <= 1, nameof(RepairThreshold), "in (0, 1]", RepairThreshold);
        ArgumentNullException.ThrowIfNull(Similarity, nameof(Similarity));
        ArgumentNullException.ThrowIfNull(Profiles, nameof(Profiles));
        ArgumentNullException.ThrowIfNull(Parser, nameof(Parser));
    }

    private static void Check(bool ok, string name, string expected, double value)
    {
        if (!ok)
        {
            throw new ArgumentException($"EcosystemOptions.{name} must be {expected}; got {value}.", name);
        }
    }
}

/// <summary>Multiplies the weight of a kind of dependency (for example from what past migrations taught).</summary>
public interface IDependencyWeighting
{
    /// <summary>Multiplier for dependencies of VMs of <paramref name="ownerType"/> on <paramref name="dependencyType"/>.</summary>
    double Multiplier(string? ownerType, string dependencyType, DependencyKind kind);
}
