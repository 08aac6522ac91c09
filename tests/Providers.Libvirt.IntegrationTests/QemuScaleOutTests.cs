using VmEcosystem.Borrowing;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>
/// The libvirt scale-out handler on the real QEMU hosts: a shut-off template domain is cloned (a qcow2 overlay over its
/// disk), the clone starts and the provider announces it as a new VM with the template's labels; a scale-in removes
/// the clone and its overlay, and never the template.
/// </summary>
public sealed class QemuScaleOutTests(QemuHosts hosts)
{
    private const string Template = "tmpl1";

    private async Task<string> DefineTemplateAsync()
    {
        string overlays = Path.Combine(hosts.Base, "overlays");
        Directory.CreateDirectory(overlays);
        foreach (var name in new[] { $"{Template}-scale-1", Template })
        {
            await hosts.VirshAsync("hosta", "destroy", name);
            await hosts.VirshAsync("hosta", "undefine", name);
        }

        foreach (var stale in Directory.GetFiles(overlays))
        {
            File.Delete(stale);
        }

        // The template gets its own copy of the test guest's disk (vm1 runs on the original).
        string disk = Path.Combine(hosts.Base, $"{Template}-disk.qcow2");
        File.Copy(Path.Combine(hosts.Base, "guest", "disk.qcow2"), disk, overwrite: true);
        string xml = (await File.ReadAllTextAsync(Path.Combine(hosts.Base, "vm1.xml")))
            .Replace("<name>vm1</name>", $"<name>{Template}</name>", StringComparison.Ordinal)
            .Replace(Path.Combine(hosts.Base, "guest", "disk.qcow2"), disk, StringComparison.Ordinal)
            .Replace("vm1-console.log", $"{Template}-console.log", StringComparison.Ordinal);
        xml = xml.Replace("</domain>", """<metadata><vmeco:vm xmlns:vmeco="https://vmecosystem.dev/xmlns/vm/1"><vmeco:label key="service">web</vmeco:label></vmeco:vm></metadata></domain>""", StringComparison.Ordinal);
        string path = Path.Combine(hosts.Base, $"{Template}.xml");
        await File.WriteAllTextAsync(path, xml);
        var (code, output) = await hosts.VirshAsync("hosta", "define", path);
        Assert.True(code == 0, output);
        return overlays;
    }

    [Fact]
    public async Task A_template_is_cloned_started_and_announced_then_removed_on_scale_in()
    {
        hosts.Require();
        var ct = TestContext.Current.CancellationToken;
        string overlays = await DefineTemplateAsync();
        try
        {
            await ScaleOutAndInAsync(overlays, ct);
        }
        finally
        {
            // the template and any clone go: other tests count the VMs defined on hosta
            foreach (var name in new[] { $"{Template}-scale-1", Template })
            {
                await hosts.VirshAsync("hosta", "destroy", name);
                await hosts.VirshAsync("hosta", "undefine", name);
            }
        }
    }

    private async Task ScaleOutAndInAsync(string overlays, CancellationToken ct)
    {
        await using var provider = hosts.CreateProvider();
        var handler = new LibvirtScaleOutHandler(provider, new LibvirtScaleOutOptions { OverlayDirectory = overlays, Templates = { ["web"] = Template } });
        using var watch = new QemuProviderTests.InventoryWatch(provider);

        // A running template is refused: its disk would change under the clones.
        var refused = await Assert.ThrowsAsync<HypervisorException>(() =>
            handler.ScaleOutAsync(new ScaleOutRequest("other", "web", 1, "test", DateTimeOffset.UtcNow, new VmId(QemuHosts.Vm)), ct));
        Assert.Contains("must be shut off", refused.Message, StringComparison.Ordinal);

        var result = await handler.ScaleOutAsync(new ScaleOutRequest("web", "web", 1, "forecast over budget", DateTimeOffset.UtcNow, new VmId(QemuHosts.Vm)), ct);
        var clone = Assert.Single(result.Vms);
        Assert.Equal($"{Template}-scale-1", clone.Value);
        var added = await watch.WaitForAsync<VmAdded>(a => a.Vm.Id == clone, TimeSpan.FromSeconds(30));
        Assert.Equal("hosta", added.Host.Value);
        var inventory = await provider.GetInventoryAsync(ct);
        Assert.True(inventory.TryGetVm(clone, out var vm));
        Assert.Equal(VmPowerState.Running, vm.State);
        Assert.Equal(Template, vm.Labels[LibvirtScaleOutHandler.ScaledFrom]);
        Assert.Equal("web", vm.Labels["service"]);
        string overlay = Path.Combine(overlays, $"{clone.Value}-vda.qcow2");
        var (code, info) = await QemuHosts.RunAsync("qemu-img", ["info", "-U", overlay], TimeSpan.FromSeconds(30));
        Assert.True(code == 0, info);
        Assert.Contains($"{Template}-disk.qcow2", info, StringComparison.Ordinal); // copy-on-write over the template's disk

        // Scale-in: the template is listed first but is not a clone; the clone goes, with its overlay.
        var removed = await handler.ScaleInAsync(new ScaleInRequest("web", "web", 1, "under budget", [new VmId(Template), clone]), ct);
        Assert.Equal([clone], removed.Vms);
        await watch.WaitForAsync<VmRemoved>(r => r.Vm == clone, TimeSpan.FromSeconds(30));
        Assert.False((await provider.GetInventoryAsync(ct)).TryGetVm(clone, out _));
        Assert.False(File.Exists(overlay));
        Assert.Equal(0, (await hosts.VirshAsync("hosta", "dominfo", Template)).Code); // the template stays
    }
}
