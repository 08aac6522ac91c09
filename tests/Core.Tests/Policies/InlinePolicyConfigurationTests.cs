using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Adjustment;
using VmEcosystem.Hosting;
using VmEcosystem.Policies;
using VmEcosystem.Reservations;

namespace VmEcosystem.Tests.Policies;

/// <summary>Policies written inline in configuration (<c>VmEcosystem:Resizing:Policies</c>) instead of a file.</summary>
public sealed class InlinePolicyConfigurationTests
{
    private static readonly Dictionary<string, string?> Web = new()
    {
        ["VmEcosystem:Resizing:Policies:0:name"] = "web",
        ["VmEcosystem:Resizing:Policies:0:priority"] = "critical",
        ["VmEcosystem:Resizing:Policies:0:horizon"] = "5m",
        ["VmEcosystem:Resizing:Policies:0:select:names:0"] = "web-*",
        ["VmEcosystem:Resizing:Policies:0:select:names:1"] = "1234", // a name that looks like a number stays a name
        ["VmEcosystem:Resizing:Policies:0:select:labels:tier"] = "web",
        ["VmEcosystem:Resizing:Policies:0:cpu:min"] = "0.5",
        ["VmEcosystem:Resizing:Policies:0:cpu:max"] = "4",
        ["VmEcosystem:Resizing:Policies:0:cpu:growAbove"] = "0.7",
        ["VmEcosystem:Resizing:Policies:0:cpu:cooldown"] = "10m",
        ["VmEcosystem:Resizing:Policies:1:name"] = "everyone",
        ["VmEcosystem:Resizing:Policies:1:memory:min"] = "512",
        ["VmEcosystem:Resizing:Policies:1:memory:max"] = "8192",
    };

    private static readonly Dictionary<string, string> Tier = new() { ["tier"] = "web" };
    private static readonly PolicySubject WebVm = new("web-1", Tier, null, null);

    private static (ServiceProvider Services, IConfigurationRoot Configuration) Build(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddVmEcosystem(configuration.GetSection("VmEcosystem"), b => b.UseSimulator().UseResizingPolicies());
        return (services.BuildServiceProvider(), configuration);
    }

    [Fact]
    public void Inline_policies_load_with_the_same_meaning_as_the_document()
    {
        var (sp, _) = Build(Web);
        using (sp)
        {
            var store = sp.GetRequiredService<ResizePolicyStore>();
            Assert.Equal("VmEcosystem:Resizing:Policies", Assert.Single(store.Versions).Source);
            var web = store.Current.Resolve(WebVm)!;
            Assert.Equal(SloPriority.Critical, web.Priority);
            Assert.Equal(TimeSpan.FromMinutes(5), web.Horizon);
            var cpu = web.Rules[PolicyResource.Cpu].Rule;
            Assert.Equal((0.5, 4, 0.7, TimeSpan.FromMinutes(10)), (cpu.Min, cpu.Max, cpu.GrowAbove, cpu.Cooldown));
            Assert.NotNull(store.Current.Resolve(new PolicySubject("1234", Tier, null, null))!.Rules[PolicyResource.Cpu]);
            Assert.Equal(8192, web.Rules[PolicyResource.Memory].Rule.Max); // from "everyone": the least specific still fills in
        }
    }

    [Fact]
    public void A_bad_inline_policy_fails_at_start_naming_the_configuration_key()
    {
        var values = new Dictionary<string, string?>(Web)
        {
            ["VmEcosystem:Resizing:Policies:0:cpu:min"] = "9",
            ["VmEcosystem:Resizing:Policies:1:memory:step"] = "lots",
            ["VmEcosystem:Resizing:Policies:1:memroy:min"] = "1",
        };
        var (sp, _) = Build(values);
        using (sp)
        {
            var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<ResizingOptions>>().Value);
            Assert.Contains("VmEcosystem:Resizing:Policies:0:cpu:min: must not exceed max (4); got 9", ex.Message);
            Assert.Contains("VmEcosystem:Resizing:Policies:1:memory:step", ex.Message);
            Assert.Contains("VmEcosystem:Resizing:Policies:1:memroy", ex.Message);
            Assert.DoesNotContain("$.policies", ex.Message);
        }
    }

    [Fact]
    public void Neither_or_both_sources_fail_at_start_naming_both_settings()
    {
        var (none, _) = Build(new Dictionary<string, string?> { ["VmEcosystem:Resizing:Interval"] = "00:01:00" });
        using (none)
        {
            var ex = Assert.Throws<OptionsValidationException>(() => none.GetRequiredService<IOptions<ResizingOptions>>().Value);
            Assert.Contains("VmEcosystem:Resizing:PolicyFile", ex.Message);
            Assert.Contains("VmEcosystem:Resizing:Policies", ex.Message);
        }

        var (both, _) = Build(new Dictionary<string, string?>(Web) { ["VmEcosystem:Resizing:PolicyFile"] = "policies.json" });
        using (both)
        {
            var ex = Assert.Throws<OptionsValidationException>(() => both.GetRequiredService<IOptions<ResizingOptions>>().Value);
            Assert.Contains("both set", ex.Message);
        }
    }

    [Fact]
    public void A_configuration_reload_adds_a_version_and_a_broken_one_keeps_the_last_good()
    {
        var (sp, configuration) = Build(Web);
        using (sp)
        {
            var store = sp.GetRequiredService<ResizePolicyStore>();
            var source = sp.GetRequiredService<PolicySource>();
            string v1 = store.Current.Version;

            configuration["VmEcosystem:Resizing:Policies:0:cpu:max"] = "8";
            configuration.Reload();
            Assert.Equal(2, store.Versions.Count);
            Assert.Equal(8, store.Current.Resolve(WebVm)!.Rules[PolicyResource.Cpu].Rule.Max);

            configuration["VmEcosystem:Resizing:Policies:0:cpu:max"] = "0.1";
            configuration.Reload();
            Assert.Contains(source.LastErrors, e => e.Path == "VmEcosystem:Resizing:Policies:0:cpu:min");
            Assert.Equal(2, store.Versions.Count);
            Assert.Equal(4, store.Find(v1)!.Set.Resolve(WebVm)!.Rules[PolicyResource.Cpu].Rule.Max);
        }
    }
}
