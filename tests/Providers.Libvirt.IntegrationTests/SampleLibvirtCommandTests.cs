using System.Text.Json;
using VmEcosystem.ConsoleHost;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>The sample host's `libvirt` command against the two daemons: inventory, metrics and a migration, as JSON.</summary>
public sealed class SampleLibvirtCommandTests(QemuHosts hosts)
{
    [Fact]
    public async Task The_libvirt_command_lists_the_guest_and_migrates_it()
    {
        hosts.Require();
        using var provider = new DisposableProvider(hosts.CreateProvider());
        var (_, other) = await QemuHosts.LocateVmAsync(provider.Value);
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await VmecoCli.RunAsync(
        [
            "libvirt", "--host", $"hosta={hosts.UriOf("hosta")}", "--host", $"hostb={hosts.UriOf("hostb")}",
            "--migration-uri", "hosta=tcp://127.0.0.1", "--migration-uri", "hostb=tcp://127.0.0.1", "--listen-address", "127.0.0.1",
            "--unsafe", "--migrate", QemuHosts.Vm, "--to", other.Value, "--json",
        ], output, error);
        Assert.True(code == 0, error.ToString());
        using var doc = JsonDocument.Parse(output.ToString());
        var vm = doc.RootElement.GetProperty("vms").EnumerateArray().Single(v => v.GetProperty("id").GetString() == QemuHosts.Vm);
        Assert.Equal(other.Value, vm.GetProperty("host").GetString());
        Assert.Equal("Running", vm.GetProperty("state").GetString());
        Assert.Equal("Succeeded", doc.RootElement.GetProperty("migration").GetProperty("outcome").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("hostMetrics").GetArrayLength());

        code = await VmecoCli.RunAsync(["libvirt", "--host", "broken"], output, error);
        Assert.Equal(2, code);
        Assert.Contains("NAME=VALUE", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_hosts_are_reported_and_none_reachable_is_exit_code_2_not_an_empty_table()
    {
        hosts.Require();
        string nowhere = $"qemu+unix:///system?socket={hosts.Base}/no-such-host/libvirt-sock";

        // One of two hosts unreachable: the other is listed, the unreachable one named on stderr with the reason.
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await VmecoCli.RunAsync(["libvirt", "--host", $"hosta={hosts.UriOf("hosta")}", "--host", $"hostc={nowhere}", "--json"], output, error);
        Assert.True(code == 0, error.ToString());
        Assert.Contains("host hostc is unreachable", error.ToString(), StringComparison.Ordinal);
        using (var doc = JsonDocument.Parse(output.ToString()))
        {
            Assert.Contains(doc.RootElement.GetProperty("hosts").EnumerateArray(), h => h.GetProperty("id").GetString() == "hosta");
        }

        // None reachable: one error line and exit code 2, no table.
        output = new StringWriter();
        error = new StringWriter();
        code = await VmecoCli.RunAsync(["libvirt", "--host", $"hostc={nowhere}"], output, error);
        Assert.Equal(2, code);
        Assert.Contains("none of the 1 libvirt host(s) could be read", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.ToString() + output, StringComparison.Ordinal);
        Assert.DoesNotContain("VM", output.ToString(), StringComparison.Ordinal);
    }

    private sealed class DisposableProvider(LibvirtHypervisor value) : IDisposable
    {
        public LibvirtHypervisor Value => value;

        public void Dispose() => value.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
