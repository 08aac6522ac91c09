using System.Security.Cryptography;
using System.Text;
using VmEcosystem.Reservations;

namespace VmEcosystem.Policies;

/// <summary>The rule that governs one resource of one VM, and where it comes from.</summary>
/// <param name="Rule">The rule.</param>
/// <param name="Policy">The policy it comes from (the most specific one that governs the resource).</param>
public sealed record EffectiveRule(ResourceRule Rule, ResizePolicy Policy);

/// <summary>What applies to one VM: its priority and horizon (from its most specific policy) and a rule per resource governed.</summary>
/// <param name="Priority">The VM's priority.</param>
/// <param name="Horizon">The forecast horizon.</param>
/// <param name="Rules">A rule per resource, each from the most specific policy governing it.</param>
/// <param name="Version">The policy set's version (decisions record it).</param>
public sealed record EffectivePolicy(SloPriority Priority, TimeSpan Horizon, IReadOnlyDictionary<PolicyResource, EffectiveRule> Rules, string Version)
{
    /// <summary>The latency trigger of the most specific matching policy that sets one (<see cref="ResizePolicy.LatencyAboveMs"/>).</summary>
    public double? LatencyAboveMs { get; init; }

    /// <summary>The throughput per core of the most specific matching policy that sets one (<see cref="ResizePolicy.ThroughputPerCore"/>).</summary>
    public double? ThroughputPerCore { get; init; }

    /// <summary>The loan rule of the most specific matching policy that sets one (<see cref="LoanRule.Default"/> otherwise).</summary>
    public LoanRule Loans { get; init; } = LoanRule.Default;

    /// <summary>The forecast horizon of <paramref name="resource"/>: its rule's own, else the policy's.</summary>
    public TimeSpan HorizonOf(PolicyResource resource) => Rules.TryGetValue(resource, out var e) && e.Rule.Horizon is { } h ? h : Horizon;
}

/// <summary>
/// A validated set of resizing policies with a version (a hash of its canonical content, so the same policies always
/// have the same version and any change gives a new one). Resolution per VM: of the policies whose selector matches,
/// the most specific (<see cref="PolicySelector.Specificity"/>) governs each resource; on equal specificity the one
/// declared first. Immutable and thread-safe.
/// </summary>
public sealed class PolicySet
{
    private readonly ResizePolicy[] _bySpecificity;

    /// <summary>Creates a set (use <see cref="PolicyParser"/>, which validates).</summary>
    public PolicySet(IReadOnlyList<ResizePolicy> policies, string canonicalText)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(canonicalText);
        Policies = policies;
        Document = canonicalText;
        _bySpecificity = [.. policies.Select((p, i) => (p, i)).OrderByDescending(x => x.p.Select.Specificity).ThenBy(x => x.i).Select(x => x.p)];
        Version = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalText)))[..12];
    }

    /// <summary>An empty set (nothing is resized).</summary>
    public static PolicySet Empty { get; } = new([], string.Empty);

    /// <summary>The policies in declaration order.</summary>
    public IReadOnlyList<ResizePolicy> Policies { get; }

    /// <summary>The policy document the set was parsed from, as compact JSON (what an API returns and accepts back).</summary>
    public string Document { get; }

    /// <summary>The version: the first 12 hex digits of the SHA-256 of the canonical content.</summary>
    public string Version { get; }

    /// <summary>What applies to <paramref name="vm"/> (null when no policy matches).</summary>
    public EffectivePolicy? Resolve(in PolicySubject vm)
    {
        ResizePolicy? top = null;
        Dictionary<PolicyResource, EffectiveRule>? rules = null;
        double? latency = null, perCore = null;
        LoanRule? loans = null;
        foreach (var p in _bySpecificity)
        {
            if (!p.Select.Matches(vm))
            {
                continue;
            }

            top ??= p;
            rules ??= [];
            latency ??= p.LatencyAboveMs;
            perCore ??= p.ThroughputPerCore;
            loans ??= p.Loans;
            foreach (var (resource, rule) in p.Rules)
            {
                rules.TryAdd(resource, new EffectiveRule(rule, p));
            }
        }

        return top is null ? null : new EffectivePolicy(top.Priority, top.Horizon, rules!, Version) { LatencyAboveMs = latency, ThroughputPerCore = perCore, Loans = loans ?? LoanRule.Default };
    }
}
