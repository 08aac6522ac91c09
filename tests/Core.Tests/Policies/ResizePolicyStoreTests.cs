using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VmEcosystem.Adjustment;
using VmEcosystem.Hosting;
using VmEcosystem.Policies;

namespace VmEcosystem.Tests.Policies;

public sealed class ResizePolicyStoreTests : IDisposable
{
    private const string V1 = """{ "policies": [ { "name": "web", "select": { "names": ["web-*"] }, "cpu": { "min": 1, "max": 4 } } ] }""";
    private const string V2 = """{ "policies": [ { "name": "web", "select": { "names": ["web-*"] }, "cpu": { "min": 2, "max": 8 } } ] }""";
    private const string Broken = """{ "policies": [ { "name": "web", "cpu": { "min": 9, "max": 8 } } ] }""";

    private readonly string _dir = Directory.CreateTempSubdirectory("vmeco-policies-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static double MaxCpu(PolicySet set) => set.Resolve(new PolicySubject("web-1", null, null, null))!.Rules[PolicyResource.Cpu].Rule.Max;

    [Fact]
    public void Keeps_every_version_and_never_replaces_a_good_set_with_a_broken_one()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var store = new ResizePolicyStore(time);
        var changes = new List<string>();
        store.Changed += v => changes.Add(v.Version);
        Assert.Same(PolicySet.Empty, store.Current);

        Assert.True(store.Load(Encoding.UTF8.GetBytes(V1), "a").Success);
        string v1 = store.Current.Version;
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(store.Load(Encoding.UTF8.GetBytes(V1), "a again").Success); // same content: no new version
        var broken = store.Load(Encoding.UTF8.GetBytes(Broken), "b");
        Assert.Equal("$.policies[0].cpu.min", Assert.Single(broken.Errors).Path);
        Assert.Equal(v1, store.Current.Version);

        Assert.True(store.Load(Encoding.UTF8.GetBytes(V2), "c").Success);
        Assert.Equal(8, MaxCpu(store.Current));
        Assert.Equal([v1, store.Current.Version], store.Versions.Select(v => v.Version));
        Assert.Equal([v1, store.Current.Version], changes);
        Assert.Equal(4, MaxCpu(store.Find(v1)!.Set)); // a decision's recorded version can still be looked up
        Assert.Equal(("c", time.GetUtcNow()), (store.Versions[1].Source, store.Versions[1].LoadedAt));
    }

    [Fact]
    public void An_unreadable_file_is_an_error_naming_it()
    {
        var result = new ResizePolicyStore().LoadFile(Path.Combine(_dir, "missing.json"));
        Assert.Contains("missing.json", Assert.Single(result.Errors).Message);
    }

    private ServiceProvider Build(string file, bool watch)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VmEcosystem:Resizing:PolicyFile"] = file,
            ["VmEcosystem:Resizing:Watch"] = watch ? "true" : "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddVmEcosystem(configuration.GetSection("VmEcosystem"), b => b.UseSimulator().UseResizingPolicies());
        return services.BuildServiceProvider();
    }

    [Fact]
    public void A_bad_policy_file_fails_at_start_naming_the_setting_and_the_json_path()
    {
        string file = Path.Combine(_dir, "policies.json");
        File.WriteAllText(file, Broken);
        using var sp = Build(file, watch: false);
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<ResizingOptions>>().Value);
        Assert.Contains("VmEcosystem:Resizing:PolicyFile", ex.Message);
        Assert.Contains("$.policies[0].cpu.min: must not exceed max (8); got 9", ex.Message);
    }

    [Fact]
    public async Task The_file_is_reloaded_mid_run_and_a_broken_edit_keeps_the_last_good_version()
    {
        string file = Path.Combine(_dir, "policies.json");
        File.WriteAllText(file, V1);
        using var sp = Build(file, watch: true);
        var store = sp.GetRequiredService<ResizePolicyStore>();
        Assert.Equal(4, MaxCpu(store.Current));

        File.WriteAllText(file, V2);
        await WaitUntil(() => store.Versions.Count == 2);
        Assert.Equal(8, MaxCpu(store.Current));

        File.WriteAllText(file, Broken);
        var source = sp.GetRequiredService<PolicySource>();
        await WaitUntil(() => source.LastErrors.Count > 0);
        Assert.Equal(8, MaxCpu(store.Current));
        Assert.Equal(2, store.Versions.Count);
    }

    // The file system's notification arrives on its own thread; poll for the outcome (bounded), never assert a duration.
    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.True(condition(), "the policy file change was not picked up within 10 s");
    }
}
