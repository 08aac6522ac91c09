using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Conformance;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt.Tests;

/// <summary>
/// Two "hosts" on libvirt's test driver (<c>test:///…/host-a.xml</c> with web1 running and db1 shut off, and an empty
/// <c>host-b.xml</c>). Every provider opens its own connections, and the test driver gives every connection a fresh
/// copy of the file's state, so each test starts from the same cluster.
/// </summary>
public sealed class TestDriverFixture : IHypervisorFixture
{
    public static string HostFile(string name) => Path.Combine(AppContext.BaseDirectory, "TestHosts", name);

    public static LibvirtHostOptions HostA => new() { Name = "host-a", Uri = "test://" + HostFile("host-a.xml") };

    public static LibvirtHostOptions HostB => new() { Name = "host-b", Uri = "test://" + HostFile("host-b.xml") };

    /// <summary>libvirt.so.0 is needed; CI installs it (and sets VMECO_REQUIRE_LIBVIRT=1 so a missing library fails instead of skipping).</summary>
    public static void RequireLibvirt()
    {
        InstallOnce.Value.GetAwaiter().GetResult();
        if (LibvirtRuntime.IsAvailable())
        {
            return;
        }

        const string reason = "libvirt.so.0 is not installed (apt-get install libvirt0); .ci/run installs it.";
        Assert.False(Environment.GetEnvironmentVariable("VMECO_REQUIRE_LIBVIRT") == "1", reason);
        Assert.Skip(reason);
    }

    /// <summary>
    /// On a machine without libvirt.so.0, installs it once with the repository's setup script (Debian, as root) so
    /// the README's single test command works on a fresh machine; a failure leaves the tests to skip with the reason.
    /// </summary>
    private static readonly Lazy<Task> InstallOnce = new(async () =>
    {
        if (System.Runtime.InteropServices.NativeLibrary.TryLoad(LibvirtNative.Library, out var handle))
        {
            System.Runtime.InteropServices.NativeLibrary.Free(handle);
            return;
        }

        string script = Path.Combine(AppContext.BaseDirectory, "setup-libvirt.sh");
        try
        {
            using var p = System.Diagnostics.Process.Start("bash", [script, "packages"]);
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or TimeoutException)
        {
            // RequireLibvirt reports the missing library.
        }
    });

    internal static LibvirtHypervisor Create(Action<LibvirtOptions>? configure = null, params LibvirtHostOptions[] hosts)
    {
        RequireLibvirt();
        var services = new ServiceCollection();
        services.AddVmEcosystem(b => b.UseLibvirt(o =>
        {
            foreach (var h in hosts.Length == 0 ? [HostA, HostB] : hosts)
            {
                o.Hosts.Add(h);
            }

            o.FirstSampleInterval = TimeSpan.FromMilliseconds(50);
            configure?.Invoke(o);
        }));
        return (LibvirtHypervisor)services.BuildServiceProvider().GetRequiredService<IHypervisor>();
    }

    public TimeSpan MigrationTimeout => TimeSpan.FromSeconds(30);

    public Task<HypervisorProvider> CreateProviderAsync() => Task.FromResult<HypervisorProvider>(Create());

    /// <summary>Real time passes; long spans are shortened because nothing here depends on more than a counter moving.</summary>
    public Task LetTimePassAsync(HypervisorProvider provider, TimeSpan duration) =>
        Task.Delay(duration < TimeSpan.FromMilliseconds(200) ? duration : TimeSpan.FromMilliseconds(200));

    public Task<(VmId Vm, HostId Target)> PickMigrationAsync(HypervisorProvider provider) =>
        Task.FromResult((new VmId("web1"), new HostId("host-b")));
}

public sealed class LibvirtInventoryConformance(TestDriverFixture f) : InventoryConformance(f), IClassFixture<TestDriverFixture>;

public sealed class LibvirtMetricsConformance(TestDriverFixture f) : MetricsConformance(f), IClassFixture<TestDriverFixture>;

public sealed class LibvirtHotPlugConformance(TestDriverFixture f) : HotPlugConformance(f), IClassFixture<TestDriverFixture>;

public sealed class LibvirtResourceControlConformance(TestDriverFixture f) : ResourceControlConformance(f), IClassFixture<TestDriverFixture>;

public sealed class LibvirtMigrationConformance(TestDriverFixture f) : MigrationConformance(f), IClassFixture<TestDriverFixture>;

public sealed class LibvirtConformanceCoverage : ConformanceCoverage;
