using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;

[assembly: CollectionBehavior(DisableTestParallelization = true)]
[assembly: AssemblyFixture(typeof(VmEcosystem.Providers.Libvirt.IntegrationTests.QemuHosts))]

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>
/// Two libvirtd "hosts" (hosta, hostb) running a tiny QEMU/TCG guest, vm1. Uses the daemons <c>.ci/run</c> started;
/// when none run (a developer's machine), starts them with <c>setup-libvirt.sh</c> and stops them afterwards. Tests
/// skip with the reason only when the daemons cannot be started, and fail instead when VMECO_REQUIRE_LIBVIRT=1 (CI).
/// </summary>
public sealed class QemuHosts : IAsyncLifetime
{
    public const string Vm = "vm1";

    private bool _startedHere;

    public string Base { get; } = Environment.GetEnvironmentVariable("VMECO_LIBVIRT_BASE") ?? "/tmp/vmeco-libvirt";

    public string? SkipReason { get; private set; }

    public string UriOf(string host) => $"qemu+unix:///system?socket={Base}/{host}/run/libvirt-sock";

    public string AdminUriOf(string host) => $"libvirtd:///system?socket={Base}/{host}/run/libvirt-admin-sock";

    public async ValueTask InitializeAsync()
    {
        try
        {
            if (!await ReachableAsync())
            {
                var (code, output) = await RunAsync("bash", [Path.Combine(AppContext.BaseDirectory, "setup-libvirt.sh")], TimeSpan.FromMinutes(10));
                _startedHere = true;
                if (code != 0 || !await ReachableAsync())
                {
                    SkipReason = $"libvirtd could not be started by setup-libvirt.sh (exit {code}): {Tail(output)}";
                    return;
                }
            }

            await ResetVmAsync();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            SkipReason = $"libvirtd could not be started: {ex.Message}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_startedHere)
        {
            await RunAsync("bash", [Path.Combine(AppContext.BaseDirectory, "setup-libvirt.sh"), "stop"], TimeSpan.FromMinutes(2));
        }
    }

    /// <summary>Skips (or, in CI, fails) when the daemons are not available.</summary>
    public void Require()
    {
        if (SkipReason is null)
        {
            return;
        }

        Assert.False(Environment.GetEnvironmentVariable("VMECO_REQUIRE_LIBVIRT") == "1", SkipReason);
        Assert.Skip(SkipReason);
    }

    /// <summary>A provider for hosta and hostb (plus any extra hosts), as an application would build it.</summary>
    internal LibvirtHypervisor CreateProvider(params LibvirtHostOptions[] extra) => Build(null, extra);

    /// <summary>A provider with adjusted options.</summary>
    internal LibvirtHypervisor CreateProviderWith(Action<LibvirtOptions> adjust) => Build(adjust, []);

    /// <summary>A provider whose migrations to <paramref name="host"/> send the stream to <paramref name="migrationUri"/>.</summary>
    internal LibvirtHypervisor CreateProviderWithMigrationUri(string host, string migrationUri) =>
        Build(o => o.Hosts.Single(h => h.Name == host).MigrationUri = migrationUri, []);

    private LibvirtHypervisor Build(Action<LibvirtOptions>? adjust, LibvirtHostOptions[] extra)
    {
        Require();
        var services = new ServiceCollection();
        services.AddVmEcosystem(b => b.UseLibvirt(o =>
        {
            foreach (var host in new[] { "hosta", "hostb" })
            {
                // Both "hosts" share 127.0.0.1; libvirt refuses to use a local address as the default migration
                // address, so each migration names it (a free port is picked by the destination).
                o.Hosts.Add(new LibvirtHostOptions { Name = host, Uri = UriOf(host), MigrationUri = "tcp://127.0.0.1", MigrationListenAddress = "127.0.0.1" });
            }

            foreach (var h in extra)
            {
                o.Hosts.Add(h);
            }

            o.AllowUnsafeMigration = true; // the guest's disk is a local file both "hosts" see, not storage libvirt knows is shared
            o.FirstSampleInterval = TimeSpan.FromMilliseconds(500);
            adjust?.Invoke(o);
        }));
        return (LibvirtHypervisor)services.BuildServiceProvider().GetRequiredService<IHypervisor>();
    }

    /// <summary>Runs virsh against a host (test set-up only; the provider itself never shells out).</summary>
    public Task<(int Code, string Output)> VirshAsync(string host, params string[] args) =>
        RunAsync("virsh", ["-q", "-c", UriOf(host), .. args], TimeSpan.FromMinutes(2));

    public static async Task<(int Code, string Output)> RunAsync(string file, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Cannot start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} timed out after {timeout}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>vm1 defined on hosta only, freshly started from its original definition, with the guest booted.</summary>
    /// <summary>Defines vm1 afresh on hosta (1 vCPU, 256 MiB) and waits for its guest to come up.</summary>
    internal async Task ResetVmAsync()
    {
        foreach (var host in new[] { "hosta", "hostb" })
        {
            await VirshAsync(host, "destroy", Vm);
            await VirshAsync(host, "undefine", Vm);
        }

        string console = Path.Combine(Base, "vm1-console.log");
        int bootsBefore = CountBoots(console);
        var (code, output) = await VirshAsync("hosta", "define", Path.Combine(Base, "vm1.xml"));
        if (code != 0)
        {
            throw new InvalidOperationException($"virsh define failed: {output}");
        }

        (code, output) = await VirshAsync("hosta", "start", Vm);
        if (code != 0)
        {
            throw new InvalidOperationException($"virsh start failed: {output}");
        }

        // The balloon and CPU hot-plug need the guest's drivers loaded; the guest prints GUEST-UP once they are.
        var until = DateTime.UtcNow.AddSeconds(90);
        while (CountBoots(console) <= bootsBefore && DateTime.UtcNow < until)
        {
            await Task.Delay(250);
        }
    }

    private static int CountBoots(string console) =>
        File.Exists(console) ? File.ReadLines(console).Count(l => l.Contains("GUEST-UP", StringComparison.Ordinal)) : 0;

    private async Task<bool> ReachableAsync()
    {
        foreach (var host in new[] { "hosta", "hostb" })
        {
            if (!File.Exists(Path.Combine(Base, host, "run", "libvirt-sock")))
            {
                return false;
            }

            try
            {
                if ((await VirshAsync(host, "version")).Code != 0)
                {
                    return false;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return false; // virsh itself is not installed yet
            }
        }

        return true;
    }

    private static string Tail(string text) => text.Length <= 600 ? text : text[^600..];

    /// <summary>Starts a 1 MiB/s migration of vm1 with <c>virsh</c>, waits until the source copies, and kills virsh.</summary>
    public async Task<(HostId Home, HostId Away)> LeaveRunningMigrationAsync(bool peerToPeer)
    {
        HostId home, away;
        await using (var probe = CreateProvider())
        {
            (home, away) = await LocateVmAsync(probe);
        }

        await WaitUntilActiveOnlyOnAsync(home);
        var psi = new ProcessStartInfo("virsh") { RedirectStandardOutput = true, RedirectStandardError = true };
        string[] args =
        [
            "-q", "-c", UriOf(home.Value), "migrate", "--live", "--unsafe", "--persistent", "--undefinesource",
            "--bandwidth", "1", .. peerToPeer ? ["--p2p"] : Array.Empty<string>(),
            Vm, UriOf(away.Value), "tcp://127.0.0.1", "--listen-address", "127.0.0.1",
        ];
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var virsh = Process.Start(psi) ?? throw new InvalidOperationException("Cannot start virsh.");
        try
        {
            var until = DateTime.UtcNow.AddSeconds(30);
            while (!(await VirshAsync(home.Value, "domjobinfo", Vm)).Output.Contains("Outgoing migration", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < until && !virsh.HasExited,
                    $"virsh migrate did not start a job: {(virsh.HasExited ? await virsh.StandardError.ReadToEndAsync() : "still waiting")}");
                await Task.Delay(200);
            }
        }
        finally
        {
            virsh.Kill(entireProcessTree: true);
            await virsh.WaitForExitAsync();
        }

        return (home, away);
    }

    /// <summary>Waits until vm1 is active on no host but <paramref name="home"/>.</summary>
    public async Task WaitUntilActiveOnlyOnAsync(HostId home)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        foreach (var host in new[] { "hosta", "hostb" }.Where(h => h != home.Value))
        {
            while ((await VirshAsync(host, "list", "--name")).Output.Contains(Vm, StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < until, $"vm1 is still active on {host}, not only on {home}.");
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Where vm1 runs now, by the provider's inventory.</summary>
    internal static async Task<(HostId Source, HostId Other)> LocateVmAsync(IHypervisor provider)
    {
        var inventory = await provider.GetInventoryAsync();
        Assert.True(inventory.TryGetHostOf(new VmId(Vm), out var source), "vm1 is not in the inventory.");
        var other = inventory.Hosts.Select(h => h.Id).First(h => h != source && h.Value is "hosta" or "hostb");
        return (source, other);
    }
}
