using VmEcosystem.Cluster;

namespace VmEcosystem.Providers.Libvirt.Tests;

/// <summary>Priority, SLO class and labels from a domain's <c>vmeco:vm</c> metadata, and the configured defaults.</summary>
public sealed class ClassificationTests
{
    [Fact]
    public void A_complete_element_is_read_in_or_out_of_its_namespace()
    {
        foreach (var xml in new[]
        {
            """<vmeco:vm xmlns:vmeco="https://vmecosystem.dev/xmlns/vm/1"><vmeco:priority>10</vmeco:priority><vmeco:slo>critical</vmeco:slo><vmeco:label key="team">payments</vmeco:label></vmeco:vm>""",
            """<vm><priority> 10 </priority><slo>Critical</slo><label key="team">payments</label></vm>""",
        })
        {
            var c = LibvirtVmClassification.Parse(xml);
            Assert.Empty(c.Errors);
            Assert.Equal((10, SloClass.Critical), (c.Priority, c.Slo));
            Assert.Equal("payments", c.Labels["team"]);
        }

        Assert.Equal(SloClass.BestEffort, LibvirtVmClassification.Parse("<vm><slo>best-effort</slo></vm>").Slo);
    }

    [Theory]
    [InlineData("<vm><priority>high</priority></vm>", "priority must be an integer")]
    [InlineData("<vm><priority>99999999</priority></vm>", "priority must be an integer")]
    [InlineData("<vm><slo>gold</slo></vm>", "slo must be one of")]
    [InlineData("<vm><slo>3</slo></vm>", "slo must be one of")]
    [InlineData("<vm><label>x</label></vm>", "non-empty key")]
    [InlineData("<vm><prio>1</prio></vm>", "unknown element 'prio'")]
    [InlineData("<vm><priority>1", "not well-formed")]
    [InlineData("<!DOCTYPE vm [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><vm><slo>&e;</slo></vm>", "not well-formed")]
    public void An_invalid_value_is_left_out_and_reported(string xml, string expected)
    {
        var c = LibvirtVmClassification.Parse(xml);
        Assert.Null(c.Priority);
        Assert.Null(c.Slo);
        Assert.Contains(c.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("db-*", "db-01", true)]
    [InlineData("db-*", "web-01", false)]
    [InlineData("*-prod", "api-prod", true)]
    [InlineData("vm?", "vm1", true)]
    [InlineData("vm?", "vm12", false)]
    [InlineData("*", "anything", true)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxbyy", false)]
    public void Name_patterns_match_like_globs(string pattern, string name, bool matches) =>
        Assert.Equal(matches, LibvirtVmClassification.Matches(pattern, name));

    [Fact]
    public void Defaults_are_validated_naming_the_setting()
    {
        var options = new LibvirtOptions { Hosts = [new LibvirtHostOptions { Name = "a", Uri = "test:///default" }] };
        options.VmDefaults.Add(new LibvirtVmDefaults { NamePattern = " ", Slo = (SloClass)9, Priority = 5_000_000 });
        var result = new LibvirtOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("VmEcosystem:Libvirt:VmDefaults:0:NamePattern", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("VmEcosystem:Libvirt:VmDefaults:0:Slo", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("VmEcosystem:Libvirt:VmDefaults:0:Priority", result.FailureMessage, StringComparison.Ordinal);
    }
}
