using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Conformance;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere.Tests;

/// <summary>A provider built the way an application builds it (AddVmEcosystem + UseVSphere), with its container.</summary>
public sealed class VSphereUnderTest(ServiceProvider services, VcsimServer server) : IAsyncDisposable
{
    public ServiceProvider Services { get; } = services;

    public VcsimServer Server { get; } = server;

    internal VSphereHypervisor Provider => (VSphereHypervisor)Services.GetRequiredService<IHypervisor>();

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Server.DisposeAsync();
    }

    /// <summary>Creates the container for <paramref name="server"/>, pinning its certificate.</summary>
    public static VSphereUnderTest Create(VcsimServer server, Action<VSphereOptions>? configure = null, ILoggerProvider? logs = null, string password = "pass")
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        services.AddVmEcosystem(new ConfigurationBuilder().Build(), b => b.UseVSphere(o =>
        {
            o.Endpoint = server.Endpoint;
            o.UserName = "user";
            o.Password = password;
            o.CertificateThumbprint = server.Thumbprint;
            o.EventWait = TimeSpan.FromSeconds(2);
            o.RequestTimeout = TimeSpan.FromSeconds(15);
            configure?.Invoke(o);
        }));
        return new VSphereUnderTest(services.BuildServiceProvider(), server);
    }
}

/// <summary>
/// Conformance fixture: every provider gets a fresh vcsim (a known inventory), stopped by PID with the test class.
/// The VM the suites use has CPU and memory hot-add turned on (powered off, reconfigured, powered on, as vSphere
/// requires), since vcsim's VMs start with it off.
/// </summary>
public sealed class VcsimFixture(VcsimBinaries binaries) : IHypervisorFixture, IAsyncDisposable
{
    private readonly List<VSphereUnderTest> _created = [];

    public TimeSpan MigrationTimeout => TimeSpan.FromSeconds(30);

    public async Task<HypervisorProvider> CreateProviderAsync()
    {
        var server = await binaries.StartAsync();
        var underTest = VSphereUnderTest.Create(server);
        _created.Add(underTest);
        return underTest.Provider;
    }

    public Task LetTimePassAsync(HypervisorProvider provider, TimeSpan duration) =>
        Task.Delay(duration < TimeSpan.FromMilliseconds(200) ? duration : TimeSpan.FromMilliseconds(200));

    public async Task<(VmId Vm, HostId Target)> PickMigrationAsync(HypervisorProvider provider)
    {
        var inventory = await provider.GetInventoryAsync();
        var vm = inventory.Vms.Where(v => v.Name == "DC0_C0_RP0_VM0").Select(v => v.Id).Single();
        var source = inventory.Placements.Single(p => p.Vm == vm).Host;
        var set = inventory.Hosts.Single(h => h.Id == source).HostSet;
        var target = inventory.Hosts.First(h => h.HostSet == set && h.Id != source).Id;
        await EnableHotAddAsync(((VSphereHypervisor)provider).Session, vm);
        return (vm, target);
    }

    internal static async Task EnableHotAddAsync(VimSession session, VmId vm)
    {
        var mor = new Mor("VirtualMachine", vm.Value);
        var reader = new PropertyReader(session, 10);
        if ((await reader.ReadOneAsync(mor, ["config.cpuHotAddEnabled"], default)).Bool("config.cpuHotAddEnabled") == true)
        {
            return;
        }

        await RunTaskAsync(session, E("PowerOffVM_Task", This(mor)));
        await RunTaskAsync(session, E("ReconfigVM_Task", This(mor), E("spec", E("memoryHotAddEnabled", "true"), E("cpuHotAddEnabled", "true"))));
        await RunTaskAsync(session, E("PowerOnVM_Task", This(mor)));
    }

    internal static async Task RunTaskAsync(VimSession session, System.Xml.Linq.XElement call)
    {
        var r = await session.CallAsync(_ => call, idempotent: false, default);
        await TaskFollower.FollowAsync(session, Mor.From(r.Child("returnval")!), null, default, TimeSpan.FromSeconds(2), default);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _created)
        {
            await c.DisposeAsync();
        }
    }
}

public sealed class VcsimInventoryConformance(VcsimBinaries b) : InventoryConformance(new VcsimFixture(b)), IAsyncDisposable
{
    public ValueTask DisposeAsync() => ((VcsimFixture)Fixture).DisposeAsync();
}

public sealed class VcsimMetricsConformance(VcsimBinaries b) : MetricsConformance(new VcsimFixture(b)), IAsyncDisposable
{
    public ValueTask DisposeAsync() => ((VcsimFixture)Fixture).DisposeAsync();
}

public sealed class VcsimHotPlugConformance(VcsimBinaries b) : HotPlugConformance(new VcsimFixture(b)), IAsyncDisposable
{
    public ValueTask DisposeAsync() => ((VcsimFixture)Fixture).DisposeAsync();
}

public sealed class VcsimResourceControlConformance(VcsimBinaries b) : ResourceControlConformance(new VcsimFixture(b)), IAsyncDisposable
{
    public ValueTask DisposeAsync() => ((VcsimFixture)Fixture).DisposeAsync();
}

public sealed class VcsimMigrationConformance(VcsimBinaries b) : MigrationConformance(new VcsimFixture(b)), IAsyncDisposable
{
    public ValueTask DisposeAsync() => ((VcsimFixture)Fixture).DisposeAsync();
}

public sealed class VSphereConformanceCoverage : ConformanceCoverage;
