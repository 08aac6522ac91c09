using System.Text;
using System.Text.Json;
using VmEcosystem.Policies;
using VmEcosystem.Reservations;

namespace VmEcosystem.Tests.Policies;

/// <summary>Resizing policies: strict parsing, every error with its path, contradictions, precedence, versions, hostile input.</summary>
public sealed class PolicyParserTests
{
    internal const string Example = """
        {
          "$schema": "https://vmecosystem.dev/schema/vm-ecosystem-policies.schema.json",
          "policies": [
            { "name": "everyone", "horizon": "15m",
              "cpu": { "growAbove": 0.8, "shrinkBelow": 0.4, "shrinkHold": "30m", "min": 1, "max": 8, "step": 1, "cooldown": "10m", "costPerUnit": 1 },
              "memory": { "min": 1024, "max": 16384, "step": 1024 } },
            { "name": "web-tier", "select": { "names": ["web-*"], "labels": { "tier": "web" } }, "priority": "critical", "horizon": "00:05:00",
              "cpu": { "growAbove": 0.7, "min": 2, "max": 16 } },
            { "name": "web-3", "select": { "names": ["web-3"] }, "priority": "best-effort",
              "cpu": { "min": 1, "max": 2 } },
            { "name": "batch", "select": { "hostSet": "batch", "workloadClass": "steady" }, "priority": "best-effort",
              "networkMbps": { "min": 100, "max": 1000, "step": 100 } }
          ]
        }
        """;

    [Fact]
    public void A_valid_document_gives_its_policies_with_defaults_and_a_stable_version()
    {
        var result = new PolicyParser().Parse(Example);
        Assert.True(result.Success, string.Join("\n", result.Errors));
        var set = result.Set!;
        Assert.Equal(4, set.Policies.Count);
        var everyone = set.Policies[0];
        Assert.Equal(new ResourceRule(0.8, 0.4, TimeSpan.FromMinutes(30), 1, 8, 1, TimeSpan.FromMinutes(10), 1), everyone.Rules[PolicyResource.Cpu]);
        Assert.Equal(new ResourceRule(0.8, 0.4, TimeSpan.FromMinutes(30), 1024, 16384, 1024, TimeSpan.FromMinutes(10), 1), everyone.Rules[PolicyResource.Memory]);
        Assert.Equal((SloPriority.Standard, TimeSpan.FromMinutes(15)), (everyone.Priority, everyone.Horizon));
        Assert.Equal(SloPriority.Critical, set.Policies[1].Priority);

        // The version follows the content, not the formatting.
        Assert.Matches("^[0-9a-f]{12}$", set.Version);
        Assert.Equal(set.Version, new PolicyParser().Parse(Example.Replace("\n", " ", StringComparison.Ordinal)).Set!.Version);
        Assert.NotEqual(set.Version, new PolicyParser().Parse(Example.Replace("\"max\": 8", "\"max\": 9", StringComparison.Ordinal)).Set!.Version);
    }

    [Fact]
    public void The_most_specific_matching_policy_governs_each_resource()
    {
        var set = new PolicyParser().Parse(Example).GetOrThrow();
        var web = new Dictionary<string, string> { ["tier"] = "web" };

        var web3 = set.Resolve(new PolicySubject("web-3", web, "front", "bursty"))!;
        Assert.Equal("web-3", web3.Rules[PolicyResource.Cpu].Policy.Name);          // exact name beats pattern and label
        Assert.Equal("everyone", web3.Rules[PolicyResource.Memory].Policy.Name);    // only the catch-all governs memory
        Assert.Equal(SloPriority.BestEffort, web3.Priority);
        Assert.Equal(set.Version, web3.Version);

        var web7 = set.Resolve(new PolicySubject("web-7", web, "front", "bursty"))!;
        Assert.Equal(("web-tier", SloPriority.Critical, TimeSpan.FromMinutes(5)), (web7.Rules[PolicyResource.Cpu].Policy.Name, web7.Priority, web7.Horizon));

        var unlabelled = set.Resolve(new PolicySubject("web-7", null, "front", "bursty"))!; // the label is required too
        Assert.Equal("everyone", unlabelled.Rules[PolicyResource.Cpu].Policy.Name);

        var batch = set.Resolve(new PolicySubject("etl-1", null, "batch", "steady"))!;
        Assert.Equal(("batch", "everyone"), (batch.Rules[PolicyResource.NetworkMbps].Policy.Name, batch.Rules[PolicyResource.Cpu].Policy.Name));
        Assert.Null(PolicySet.Empty.Resolve(new PolicySubject("x", null, null, null)));
    }

    [Fact]
    public void A_rule_can_look_further_ahead_than_its_policy()
    {
        const string doc = """
            { "policies": [ { "name": "minute", "horizon": "1m",
                "cpu": { "min": 0.5, "max": 4 },
                "memory": { "min": 256, "max": 8192, "horizon": "2m" } } ] }
            """;
        var effective = new PolicyParser().Parse(doc).GetOrThrow().Resolve(new PolicySubject("vm", null, null, null))!;
        Assert.Equal(TimeSpan.FromMinutes(1), effective.HorizonOf(PolicyResource.Cpu));
        Assert.Equal(TimeSpan.FromMinutes(2), effective.HorizonOf(PolicyResource.Memory));
        Assert.Equal(TimeSpan.FromMinutes(1), effective.HorizonOf(PolicyResource.DiskIops)); // not governed: the policy's
        var bad = new PolicyParser().Parse(doc.Replace("\"2m\"", "\"0s\"", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Path == "$.policies[0].memory.horizon");

        // throughput as a sizing input: transactions per second one core serves
        var rated = new PolicyParser().Parse(doc.Replace("\"horizon\": \"1m\",", "\"horizon\": \"1m\", \"throughputPerCore\": 250,", StringComparison.Ordinal)).GetOrThrow();
        Assert.Equal(250, rated.Resolve(new PolicySubject("vm", null, null, null))!.ThroughputPerCore);
        var zero = new PolicyParser().Parse(doc.Replace("\"horizon\": \"1m\",", "\"horizon\": \"1m\", \"throughputPerCore\": 0,", StringComparison.Ordinal));
        Assert.Contains(zero.Errors, e => e.Path == "$.policies[0].throughputPerCore");
    }

    [Theory]
    [InlineData("""{ "policies": [ { "name": "a", "cpu": { "min": 4, "max": 2 } } ] }""", "$.policies[0].cpu.min", "must not exceed max (2); got 4")]
    [InlineData("""{ "policies": [ { "name": "a", "cpu": { "min": 1, "max": 2, "growAbove": 0.5, "shrinkBelow": 0.6 } } ] }""", "$.policies[0].cpu.shrinkBelow", "must be below growAbove (0.5)")]
    [InlineData("""{ "policies": [ { "name": "a", "cpu": { "min": 0.001, "max": 2.5 } } ] }""", "$.policies[0].cpu.min", "at least 0.01 core; got 0.001")]
    [InlineData("""{ "policies": [ { "name": "a", "cpu": { "min": 1, "max": 2, "grow": 0.5 } } ] }""", "$.policies[0].cpu.grow", "unknown field")]
    [InlineData("""{ "policies": [ { "name": "a", "CPU": { "min": 1, "max": 2 } } ] }""", "$.policies[0].CPU", "did you mean 'cpu'?")]
    [InlineData("""{ "policies": [ { "name": "a", "memory": { "max": 2 } } ] }""", "$.policies[0].memory", "missing 'min'")]
    [InlineData("""{ "policies": [ { "name": "a", "priority": "urgent", "cpu": { "min": 1, "max": 2 } } ] }""", "$.policies[0].priority", "critical, standard, best-effort")]
    [InlineData("""{ "policies": [ { "name": "a", "horizon": "soon", "cpu": { "min": 1, "max": 2 } } ] }""", "$.policies[0].horizon", "expected a duration")]
    [InlineData("""{ "policies": [ { "name": "a", "latencyAboveMs": 0, "cpu": { "min": 1, "max": 2 } } ] }""", "$.policies[0].latencyAboveMs", "expected a number above 0")]
    [InlineData("""{ "policies": [ { "name": "a", "latencyAboveMs": "fast", "cpu": { "min": 1, "max": 2 } } ] }""", "$.policies[0].latencyAboveMs", "expected a number")]
    [InlineData("""{ "policies": [ { "name": "a" } ] }""", "$.policies[0]", "governs no resource")]
    [InlineData("""{ "policies": [ { "name": 7, "cpu": { "min": 1, "max": 2 } } ] }""", "$.policies[0].name", "expected a string, got the number 7")]
    [InlineData("""{ "policies": [ { "name": "a", "select": { "names": [] }, "cpu": { "min": 1, "max": 2 } } ] }""", "$.policies[0].select.names", "non-empty array")]
    [InlineData("""{ "policies": [ { "name": "a", "cpu": { "min": 1, "max": 2 } }, { "name": "a", "memory": { "min": 1, "max": 2 } } ] }""", "$.policies[1].name", "duplicate policy name 'a' (first at $.policies[0])")]
    [InlineData("""{ "policies": [ { "name": "a", "cpu": { "min": 1, "max": 2 } }, { "name": "b", "cpu": { "min": 1, "max": 4 } } ] }""", "$.policies[1]", "conflicts with $.policies[0] ('a')")]
    [InlineData("""{ "policy": [] }""", "$.policy", "unknown field")]
    [InlineData("""[ 1, 2 ]""", "$", "expected an object, got an array")]
    [InlineData("""{ "policies": [ { "name": "\uD800", "cpu": { "min": 1, "max": 2 } } ] }""", "$", "lone UTF-16 surrogate")]
    [InlineData("""{ "policies": [ { "name": "a", "cpu": { "min": 1, "max": 2 }, }] }""", "$", "not valid JSON")]
    public void Each_error_names_its_path_and_what_was_expected(string json, string path, string message)
    {
        var result = new PolicyParser().Parse(json);
        Assert.False(result.Success);
        Assert.Null(result.Set);
        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
        var thrown = Assert.Throws<PolicyException>(() => result.GetOrThrow());
        Assert.Contains(path, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_error_of_a_document_is_reported_not_just_the_first()
    {
        var result = new PolicyParser().Parse("""
            { "policies": [ { "name": "a", "cpu": { "min": 4, "max": 2 } }, { "name": "", "memory": { "min": -1, "max": 2 } }, { "name": "c", "disk": {} } ] }
            """);
        Assert.Equal(["$.policies[0].cpu.min", "$.policies[1].name", "$.policies[1].memory.min", "$.policies[2].disk", "$.policies[2]"], result.Errors.Select(e => e.Path));
    }

    [Fact]
    public void The_shipped_schema_lists_exactly_the_fields_the_parser_accepts()
    {
        using var schema = JsonDocument.Parse(PolicySchema.Json);
        var root = schema.RootElement;
        var defs = root.GetProperty("$defs");
        static string[] Props(JsonElement e) => [.. e.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];
        Assert.Equal(PolicyParser.KnownFields["document"].Order(StringComparer.Ordinal), Props(root));
        Assert.Equal(PolicyParser.KnownFields["policy"].Order(StringComparer.Ordinal), Props(defs.GetProperty("policy")));
        Assert.Equal(PolicyParser.KnownFields["select"].Order(StringComparer.Ordinal), Props(defs.GetProperty("policy").GetProperty("properties").GetProperty("select")));
        Assert.Equal(PolicyParser.KnownFields["rule"].Order(StringComparer.Ordinal), Props(defs.GetProperty("rule")));
        Assert.Equal(PolicyParser.KnownFields["loans"].Order(StringComparer.Ordinal), Props(defs.GetProperty("policy").GetProperty("properties").GetProperty("loans")));
    }

    [Fact]
    public void Loan_rules_are_parsed_resolved_by_specificity_and_checked_with_their_paths()
    {
        var set = new PolicyParser().Parse("""
            { "policies": [
              { "name": "all", "loans": { "maxLendShare": 0.25, "maxDuration": "10m" }, "cpu": { "min": 1, "max": 4 } },
              { "name": "db", "select": { "workloadClass": "database" }, "cpu": { "min": 2, "max": 8 } } ] }
            """).GetOrThrow();
        var all = set.Resolve(new PolicySubject("web-1", null, null, "web"))!.Loans;
        Assert.Equal(new LoanRule(0.25, LoanRule.Default.MaxBorrowShare, TimeSpan.FromMinutes(10), LoanRule.Default.LenderMargin), all);
        Assert.Equal(all, set.Resolve(new PolicySubject("db-1", null, null, "database"))!.Loans); // the more specific policy sets none: the next one's applies

        var bad = new PolicyParser().Parse("""
            { "policies": [ { "name": "a", "loans": { "maxLendShare": 1.5, "maxDuration": "0s", "lenderMargin": "x", "extra": 1 }, "cpu": { "min": 1, "max": 4 } } ] }
            """);
        Assert.Contains(bad.Errors, e => e.Path == "$.policies[0].loans.extra");
        Assert.Contains(bad.Errors, e => e.Path == "$.policies[0].loans.maxLendShare");
        Assert.Contains(bad.Errors, e => e.Path == "$.policies[0].loans.maxDuration");
        Assert.Contains(bad.Errors, e => e.Path == "$.policies[0].loans.lenderMargin");
    }

    [Fact]
    public void A_thousand_malformed_documents_never_crash_the_parser_and_every_error_names_a_path()
    {
        var random = new Random(20261202);
        byte[] valid = Encoding.UTF8.GetBytes(Example);
        int rejected = 0;
        for (int i = 0; i < 1200; i++)
        {
            byte[] doc = (i % 4) switch
            {
                0 => Flip(valid, random),
                1 => valid[..random.Next(valid.Length)],
                2 => Encoding.UTF8.GetBytes(Example.Replace(Pick(random, ["1", "\"15m\"", "\"critical\"", "[\"web-*\"]", "0.8"]), Pick(random, ["null", "-1", "\"x\"", "{}", "[]", "1e999", "true", "\"\""]), StringComparison.Ordinal)),
                _ => Encoding.UTF8.GetBytes(new string('[', random.Next(10, 20_000)) + new string(']', random.Next(0, 5))),
            };

            var result = new PolicyParser().Parse(doc);
            Assert.True(result.Success == (result.Set is not null));
            Assert.All(result.Errors, e => Assert.StartsWith("$", e.Path, StringComparison.Ordinal));
            Assert.True(result.Errors.Count <= 100);
            rejected += result.Success ? 0 : 1;
        }

        Assert.True(rejected > 1000, $"only {rejected} of 1200 rejected");
    }

    private static byte[] Flip(byte[] valid, Random random)
    {
        var copy = (byte[])valid.Clone();
        for (int k = 0; k < 1 + random.Next(4); k++)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }

    private static string Pick(Random random, string[] options) => options[random.Next(options.Length)];
}
