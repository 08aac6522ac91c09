using System.Text.Json;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Matching;

namespace VmEcosystem.Tests.Ecosystem;

public sealed class DeclarationParserTests
{
    private const string IssueExample = """
        { "vm_name": "WebTier1",
          "dependencies": {
            "required":  [ { "type": "database", "version": "PostgreSQL 14", "network_latency_requirement": " < 1ms" } ],
            "preferred": [ { "type": "caching", "version": "Redis 6", "resource_profile": "high-memory" },
                           { "type": "analytics", "fuzzy_match": "similar ML model signature" } ] } }
        """;

    private static DeclarationParseResult Parse(string json) => new DeclarationParser().Parse(json);

    private static DeclarationError SingleError(string json)
    {
        var result = Parse(json);
        Assert.False(result.Success);
        return Assert.Single(result.Errors);
    }

    [Fact]
    public void The_documented_example_parses_exactly()
    {
        var d = Assert.Single(Parse(IssueExample).GetOrThrow());
        Assert.Equal("WebTier1", d.VmName);
        var db = Assert.Single(d.Required);
        Assert.Equal("database", db.Type);
        Assert.Equal(("PostgreSQL", VersionComparison.Prefix), (db.Version!.Product, db.Version.Comparison));
        Assert.Equal([14], db.Version!.Components);
        Assert.Equal(new LatencyBound(TimeSpan.FromMilliseconds(1), false), db.Latency);
        Assert.Equal(2, d.Preferred.Count);
        Assert.Equal("high-memory", d.Preferred[0].ResourceProfile);
        Assert.Equal("Redis 6", d.Preferred[0].Version!.ToString());
        Assert.Equal(["ml", "model", "signature"], d.Preferred[1].Fuzzy!.Tags.Order());
    }

    [Fact]
    public void Arrays_of_declarations_and_every_optional_field_parse()
    {
        var result = Parse("""
            [ { "$schema": "https://vmecosystem.dev/schemas/vm-ecosystem-declaration.schema.json", "vm_name": "a",
                "dependencies": { "required": [ { "type": "db", "cpu_architecture": "arm64", "min_memory": "16 GiB", "min_bandwidth": "10 Gbps", "storage_type": "nvme" } ] },
                "provides": { "type": "web", "software": ["nginx 1.24.0"], "tags": ["Frontend"], "signature": [0.1, 2e3], "storage_type": "ssd", "workload_class": "interactive" } },
              { "vm_name": "b", "dependencies": { "preferred": [ { "type": "ml", "fuzzy_match": { "signature": [1, 0, 0], "threshold": 0.9 } } ] } },
              { "vm_name": "c" } ]
            """);
        var list = result.GetOrThrow();
        Assert.Equal(3, list.Count);
        var spec = list[0].Required[0];
        Assert.Equal(16 * 1024, spec.MinMemoryMiB);
        Assert.Equal(10_000, spec.MinBandwidthMbps);
        Assert.Equal("arm64", spec.CpuArchitecture);
        Assert.Equal("web", list[0].Provides!.Type);
        Assert.Equal(["frontend"], list[0].Provides!.Tags!);
        Assert.Equal(0.9, list[1].Preferred[0].Fuzzy!.Threshold);
        Assert.Empty(list[2].Required);
    }

    [Fact]
    public void Written_declarations_parse_back_to_equal_ones()
    {
        var d = Assert.Single(Parse(IssueExample).GetOrThrow());
        string json = DeclarationWriter.ToJson(d);
        var back = Assert.Single(Parse(json).GetOrThrow());
        Assert.Equal(json, DeclarationWriter.ToJson(back));
        Assert.Equal(d.Required[0].Version!.ToString(), back.Required[0].Version!.ToString());
        Assert.Equal(d.Required[0].Latency, back.Required[0].Latency);
        Assert.Equal(d.Preferred[0].ResourceProfile, back.Preferred[0].ResourceProfile);
        Assert.Equal(d.Preferred[1].Fuzzy!.Tags.Order(), back.Preferred[1].Fuzzy!.Tags.Order());
        var full = new VmDeclaration
        {
            VmName = "a",
            Required = [new DependencySpec { Type = "db", CpuArchitecture = "arm64", MinMemoryMiB = 16384, MinBandwidthMbps = 10000, StorageType = "nvme" }],
            Provides = new ProvidedProfile { Type = "web", Tags = new HashSet<string> { "frontend" }, Signature = [0.1, 2000], StorageType = "ssd", WorkloadClass = "interactive" },
        };
        var parsed = Assert.Single(Parse(DeclarationWriter.ToJson(full)).GetOrThrow());
        Assert.Equal((16384.0, 10000.0, "arm64"), (parsed.Required[0].MinMemoryMiB!.Value, parsed.Required[0].MinBandwidthMbps!.Value, parsed.Required[0].CpuArchitecture!));
        Assert.Equal(("web", "interactive", 2), (parsed.Provides!.Type!, parsed.Provides.WorkloadClass!, parsed.Provides.Signature!.Count));
    }

    [Theory]
    [InlineData("""{ "vm_name": "a", "dependencies": { "required": [ { "type": "db", "latency": "< 1ms" } ] } }""",
        "$.dependencies.required[0].latency", "unknown field 'latency'; expected 'network_latency_requirement' or one of")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "required": [ { "type": "db", "network_latency_requirement": "~1ms" } ] } }""",
        "$.dependencies.required[0].network_latency_requirement", "starts with '<' or '<='")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "required": [ { "type": "db", "network_latency_requirement": "< 1 parsec" } ] } }""",
        "$.dependencies.required[0].network_latency_requirement", "expected a unit ns, us, µs, ms or s")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "preferred": [ { "type": "  " } ] } }""",
        "$.dependencies.preferred[0].type", "got an empty string")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "preferred": [ { "version": "Redis 6" } ] } }""",
        "$.dependencies.preferred[0]", "missing field 'type'")]
    [InlineData("""{ "vm_name": 42 }""", "$.vm_name", "(a string); got a number")]
    [InlineData("""{ "dependencies": {} }""", "$", "missing field 'vm_name'")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "required": { "type": "db" } } }""", "$.dependencies.required", "expected an array of dependency objects; got an object")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "preferred": [ { "type": "cache", "resource_profile": "huge" } ] } }""",
        "$.dependencies.preferred[0].resource_profile", "unknown resource profile 'huge'; expected one of")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "preferred": [ { "type": "db", "version": "14" } ] } }""",
        "$.dependencies.preferred[0].version", "expected the product name first")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "preferred": [ { "type": "db", "min_memory": "16 bananas" } ] } }""",
        "$.dependencies.preferred[0].min_memory", "unit 'bananas' is not one of")]
    [InlineData("""{ "vm_name": "a", "vm_name": "b" }""", "$.vm_name", "duplicate field")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "preferred": [ { "type": "x", "fuzzy_match": { "threshold": 2 } } ] } }""",
        "$.dependencies.preferred[0].fuzzy_match.threshold", "expected a number in (0, 1]; got 2")]
    [InlineData("""{ "vm_name": "a", "dependencies": { "preferred": [ { "type": "x", "fuzzy_match": "the of a" } ] } }""",
        "$.dependencies.preferred[0].fuzzy_match", "at least one word")]
    [InlineData("""[ { "vm_name": "WebTier1" }, { "vm_name": "WebTier1" } ]""", "$[1].vm_name", "duplicate VM name 'WebTier1' (first declared at $[0])")]
    [InlineData("""{ "vm_name": "a", "weird key": 1 }""", "$['weird key']", "unknown field 'weird key'")]
    [InlineData("""{ "vm_name": "a" """, "$", "not valid JSON at line 1")]
    [InlineData("""42""", "$", "expected a declaration object or an array of them; got a number")]
    public void Errors_name_the_path_and_what_was_expected(string json, string path, string message)
    {
        var error = SingleError(json);
        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_error_in_a_document_is_reported_and_the_exception_lists_them()
    {
        var result = Parse("""
            [ { "vm_name": "a", "dependencies": { "required": [ { "type": "" }, { "type": "db", "network_latency_requirement": "> 1ms" } ] } },
              { "vm_name": "b", "colour": "blue" } ]
            """);
        Assert.Equal(["$[0].dependencies.required[0].type", "$[0].dependencies.required[1].network_latency_requirement", "$[1].colour"],
            result.Errors.Select(e => e.Path));
        Assert.Empty(result.Declarations);
        var ex = Assert.Throws<DeclarationException>(() => result.GetOrThrow());
        Assert.Contains("3 errors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("$[1].colour: unknown field 'colour'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_stop_hostile_documents_with_clear_errors()
    {
        string deep = new string('[', 5000) + new string(']', 5000);
        Assert.Contains("nests deeper than allowed", SingleError(deep).Message, StringComparison.Ordinal);
        string longName = $$"""{ "vm_name": "{{new string('x', 5000)}}" }""";
        Assert.Contains("at most 1024 characters", SingleError(longName).Message, StringComparison.Ordinal);
        var tiny = new DeclarationParser(new DeclarationParserOptions { MaxDocumentBytes = 10 });
        Assert.Contains("larger than 10 bytes", Assert.Single(tiny.Parse(IssueExample).Errors).Message, StringComparison.Ordinal);
        byte[] invalidUtf8 = [(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}'];
        Assert.Contains("not valid UTF-8 at byte 3", Assert.Single(new DeclarationParser().Parse(invalidUtf8).Errors).Message, StringComparison.Ordinal);
        Assert.Contains("well-formed", SingleError("""{ "vm_name": "\ud800" }""").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_an_error_not_an_exception()
    {
        var result = new DeclarationParser().ParseFile(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".json"));
        Assert.Contains("does not exist", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Custom_resource_profiles_are_accepted_by_name()
    {
        var profiles = new ResourceProfiles().Define("gpu-inference", "a GPU with 16 GiB", (vm, _) => vm.Allocation.GpuMemoryGiB >= 16);
        var result = new DeclarationParser(profiles: profiles).Parse("""{ "vm_name": "a", "dependencies": { "required": [ { "type": "ml", "resource_profile": "gpu-inference" } ] } }""");
        Assert.True(result.Success);
    }

    [Fact]
    public void The_shipped_schema_lists_exactly_the_fields_the_parser_accepts()
    {
        using var schema = JsonDocument.Parse(DeclarationSchema.Json);
        var defs = schema.RootElement.GetProperty("$defs");
        static string[] Props(JsonElement e) => e.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order().ToArray();
        var dependency = defs.GetProperty("dependency");
        var fuzzy = dependency.GetProperty("properties").GetProperty("fuzzy_match").GetProperty("oneOf")[1];
        Assert.Equal(DeclarationParser.KnownFields["declaration"].Order(), Props(defs.GetProperty("declaration")));
        Assert.Equal(DeclarationParser.KnownFields["dependencies"].Order(), Props(defs.GetProperty("declaration").GetProperty("properties").GetProperty("dependencies")));
        Assert.Equal(DeclarationParser.KnownFields["dependency"].Order(), Props(dependency));
        Assert.Equal(DeclarationParser.KnownFields["fuzzy_match"].Order(), Props(fuzzy));
        Assert.Equal(DeclarationParser.KnownFields["provides"].Order(), Props(defs.GetProperty("provides")));
        foreach (var def in new[] { defs.GetProperty("declaration"), dependency, defs.GetProperty("provides"), fuzzy })
        {
            Assert.False(def.GetProperty("additionalProperties").GetBoolean());
        }
    }
}

public sealed class DeclarationPrimitiveTests
{
    [Theory]
    [InlineData("< 1ms", 1000, false)]
    [InlineData(" < 1ms", 1000, false)]
    [InlineData("<= 500us", 500, true)]
    [InlineData("< 2 ms", 2000, false)]
    [InlineData("<0.5s", 500_000, false)]
    [InlineData("<=250 µs", 250, true)]
    [InlineData("< 800ns", 0.8, false)]
    public void Latency_bounds_parse_whitespace_tolerant(string text, double microseconds, bool inclusive)
    {
        var bound = LatencyBound.Parse(text);
        Assert.Equal(microseconds, bound.Limit.TotalMicroseconds, 6);
        Assert.Equal(inclusive, bound.Inclusive);
        Assert.Equal(bound, LatencyBound.Parse(bound.ToString()));
    }

    [Theory]
    [InlineData("> 1ms")]
    [InlineData("1ms")]
    [InlineData("<")]
    [InlineData("< ms")]
    [InlineData("< 0ms")]
    [InlineData("< -1ms")]
    [InlineData("< 1 minute")]
    [InlineData("< 1.2.3ms")]
    public void Invalid_latency_bounds_explain_themselves(string text)
    {
        Assert.Null(LatencyBound.TryParse(text, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void Strict_and_inclusive_bounds_differ_at_the_limit()
    {
        Assert.False(LatencyBound.Parse("< 500us").IsMetBy(TimeSpan.FromMicroseconds(500)));
        Assert.True(LatencyBound.Parse("<= 500us").IsMetBy(TimeSpan.FromMicroseconds(500)));
    }

    [Theory]
    [InlineData("PostgreSQL 14", "PostgreSQL 14.9", true)]
    [InlineData("PostgreSQL 14", "postgresql 14", true)]
    [InlineData("PostgreSQL 14", "PostgreSQL 15.1", false)]
    [InlineData("PostgreSQL 14", "PostgreSQL 1.4", false)]
    [InlineData("PostgreSQL 14", "MySQL 14.0", false)]
    [InlineData("PostgreSQL 14.9", "PostgreSQL 14", false)]
    [InlineData("PostgreSQL >= 13", "PostgreSQL 14.9", true)]
    [InlineData("PostgreSQL >= 13", "PostgreSQL 12.17", false)]
    [InlineData("PostgreSQL < 14", "PostgreSQL 13.13", true)]
    [InlineData("PostgreSQL > 14", "PostgreSQL 14.0", false)]
    [InlineData("Redis", "Redis 7.2.3", true)]
    [InlineData("SQL Server 2019", "SQL Server 2019.150", true)]
    [InlineData("Redis 6", "Redis 6.2.14-1ubuntu", true)]
    public void Versions_match_against_the_software_stack(string requirement, string offered, bool matches)
    {
        var req = VersionRequirement.TryParse(requirement, out var error) ?? throw new InvalidOperationException(error);
        Assert.Equal(matches, req.IsMetBy(VmEcosystem.Cluster.SoftwareComponent.Parse(offered)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("14")]
    [InlineData("PostgreSQL 14.x")]
    [InlineData("PostgreSQL >=")]
    public void Invalid_version_requirements_explain_themselves(string text)
    {
        Assert.Null(VersionRequirement.TryParse(text, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }
}
