using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Matching;
using static VmEcosystem.Tests.Ecosystem.EcosystemTestCluster;

namespace VmEcosystem.Tests.Ecosystem;

public sealed class MatchingTests
{
    private static readonly DependencyMatcher Matcher = new(new ResourceProfiles(), new SignatureOrTagSimilarity(), 0.5);

    [Fact]
    public void Type_version_profile_architecture_memory_and_storage_all_constrain_a_match()
    {
        var cache = Vm("c", "caching", "Redis 6.2.14", cores: 2, memoryGiB: 32);
        Assert.True(Matcher.Matches(Spec("Caching", version: "Redis 6") with { ResourceProfile = "high-memory", StorageType = "SSD", CpuArchitecture = "amd64", MinMemoryMiB = 32 * 1024 },
            cache, cache.Profile));
        Assert.Equal("type is 'caching', not 'database'", Matcher.Mismatch(Spec("database"), cache, cache.Profile));
        Assert.Contains("not Redis 7", Matcher.Mismatch(Spec("caching", version: "Redis 7"), cache, cache.Profile), StringComparison.Ordinal);
        Assert.Equal("is not high-cpu", Matcher.Mismatch(Spec("caching") with { ResourceProfile = "high-cpu" }, cache, cache.Profile));
        Assert.Contains("not aarch64", Matcher.Mismatch(Spec("caching") with { CpuArchitecture = "aarch64" }, cache, cache.Profile), StringComparison.Ordinal);
        Assert.Contains("needs 65536", Matcher.Mismatch(Spec("caching") with { MinMemoryMiB = 65536 }, cache, cache.Profile), StringComparison.Ordinal);
        Assert.Contains("not 'nvme'", Matcher.Mismatch(Spec("caching") with { StorageType = "nvme" }, cache, cache.Profile), StringComparison.Ordinal);
    }

    [Fact]
    public void Fuzzy_matches_use_tag_jaccard_or_signature_cosine_against_a_threshold()
    {
        var ml = Vm("ml", "analytics", tags: ["ML", "model", "signature", "inference"]);
        var etl = Vm("etl", "analytics", tags: ["batch", "etl"]);
        var text = Spec("analytics") with { Fuzzy = FuzzyQuery.FromText("similar ML model signature") };
        // query {ml, model, signature} vs {ml, model, signature, inference, analytics}: 3/5
        Assert.Equal(0.6, new SignatureOrTagSimilarity().Similarity(text.Fuzzy!, ml, ml.Profile), 12);
        Assert.True(Matcher.Matches(text, ml, ml.Profile));
        Assert.Contains("similarity 0.00 is below 0.50", Matcher.Mismatch(text, etl, etl.Profile), StringComparison.Ordinal);
        Assert.False(Matcher.Matches(text with { Fuzzy = text.Fuzzy! with { Threshold = 0.7 } }, ml, ml.Profile));

        var a = Vm("a", "analytics", signature: [1, 1, 0]);
        var query = Spec("analytics") with { Fuzzy = new FuzzyQuery { Signature = [1, 0.9, 0.1] } };
        Assert.True(Matcher.Matches(query, a, a.Profile));
        Assert.False(Matcher.Matches(query with { Fuzzy = new FuzzyQuery { Signature = [0, 0, 1] } }, a, a.Profile));
    }

    [Fact]
    public void Declared_provides_override_the_reported_profile()
    {
        var reported = Vm("x", "unknown").Profile;
        var effective = new ProvidedProfile { Type = "database", Software = [SoftwareComponent.Parse("PostgreSQL 14.9")] }.ApplyTo(reported);
        Assert.Equal("database", effective.Type);
        Assert.Equal("ssd", effective.StorageType); // kept from the report
    }

    [Fact]
    public void Built_in_profiles_have_documented_meanings()
    {
        var profiles = new ResourceProfiles();
        Assert.Equal(["general-purpose", "gpu", "high-cpu", "high-memory", "large", "storage-optimized"], profiles.Names);
        Assert.True(profiles.Matches("high-memory", Vm("m", "x", cores: 4, memoryGiB: 32), VmProfile.Empty));
        Assert.False(profiles.Matches("high-memory", Vm("m", "x", cores: 4, memoryGiB: 16), VmProfile.Empty));
        Assert.True(profiles.Matches("HIGH-CPU", Vm("c", "x", cores: 8, memoryGiB: 8), VmProfile.Empty));
        Assert.False(profiles.Matches("nonexistent", Vm("c", "x"), VmProfile.Empty));
    }
}
