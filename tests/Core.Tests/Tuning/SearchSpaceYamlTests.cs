using VmEcosystem.Tuning;
using Xunit;

namespace VmEcosystem.Tests.Tuning;

/// <summary>YAML search spaces read as strictly as JSON ones, and configurations as settings.</summary>
public sealed class SearchSpaceYamlTests
{
    private const string Yaml = """
        # the simulated application's space, in YAML
        genes:
          - { name: vcpus, type: int, min: 1, max: 16 }
          - name: memoryGiB
            type: real
            min: 1
            max: 32
            step: 0.5
          - { name: threads, type: int, min: 1, max: 64 }
          - { name: cacheMiB, type: int, min: 0, max: 4096, step: 256 }
          - name: gc
            type: categorical
            choices: [serial, parallel, concurrent]
          - { name: compression, type: bool }
        constraints:
          - memoryGiB <= 4 * vcpus
        """;

    [Fact]
    public void A_yaml_space_is_the_same_space_as_its_json()
    {
        var yaml = SearchSpaceYaml.ParseJsonOrYaml(Yaml);
        var json = SearchSpaceYaml.ParseJsonOrYaml(SimulatedApplication.SearchSpaceJson);
        Assert.Equal(json.Genes.Select(g => (g.Name, g.Kind, g.Min, g.Max, g.Step, string.Join(",", g.Choices))),
            yaml.Genes.Select(g => (g.Name, g.Kind, g.Min, g.Max, g.Step, string.Join(",", g.Choices))));
        Assert.Equal(4, yaml.Violation([4, 20, 8, 0, 0, 0]));
    }

    [Theory]
    [InlineData("genes:\n  - { name: a, type: int, min: 4, max: 2 }", "genes[0].max: expected a value at least min (4)")]
    [InlineData("genes:\n  - { name: a, type: int, min: '1', max: 2 }", "genes[0].min: expected a finite number")]
    [InlineData("genes:\n  - { name: a, type: bool, colour: red }", "genes[0].colour: expected no such property")]
    [InlineData("genes: []", "genes: expected a non-empty array")]
    [InlineData("genes:\n  - { name: a, type: bool }\nconstraints: [ b <= 1 ]", "constraints[0]")]
    [InlineData("genes:\n  - { name: a, type: bool, name: b }", "not valid YAML (line 2")]
    [InlineData("genes: [ { name: a", "not valid YAML")]
    public void Yaml_errors_name_the_path(string yaml, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => SearchSpaceYaml.Parse(yaml));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_round_trip_and_bad_ones_are_named()
    {
        var space = SearchSpaceYaml.Parse(Yaml);
        double[] values = [4, 7.5, 63, 768, 2, 1];
        var settings = space.Settings(values);
        Assert.Equal("concurrent", settings["gc"]);
        Assert.Equal(values, space.Values(settings));
        Assert.Contains("'gc'", Assert.Throws<ArgumentException>(() => space.Values(new Dictionary<string, string>(settings) { ["gc"] = "g1" })).Message, StringComparison.Ordinal);
        Assert.Contains("from 1 to 16", Assert.Throws<ArgumentException>(() => space.Values(new Dictionary<string, string>(settings) { ["vcpus"] = "99" })).Message, StringComparison.Ordinal);
        Assert.Contains("no 'memoryGiB'", Assert.Throws<ArgumentException>(() => space.Values(new Dictionary<string, string> { ["vcpus"] = "1" })).Message, StringComparison.Ordinal);
    }
}
