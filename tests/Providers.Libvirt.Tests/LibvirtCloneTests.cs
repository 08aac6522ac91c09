using System.Xml.Linq;

namespace VmEcosystem.Providers.Libvirt.Tests;

/// <summary>How a clone's definition is made from its template's.</summary>
public sealed class LibvirtCloneTests
{
    private const string Template = """
        <domain type='kvm'>
          <name>web-tmpl</name>
          <uuid>0b1c2d3e-0000-4000-8000-000000000001</uuid>
          <memory unit='MiB'>1024</memory>
          <devices>
            <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/images/web.img'/><target dev='vda' bus='virtio'/></disk>
            <disk type='file' device='cdrom'><source file='/images/seed.iso'/><target dev='sda' bus='sata'/></disk>
            <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/></interface>
            <serial type='file'><source path='/var/log/web-tmpl.log'/></serial>
          </devices>
          <metadata><vmeco:vm xmlns:vmeco="https://vmecosystem.dev/xmlns/vm/1"><vmeco:label key="service">web</vmeco:label></vmeco:vm></metadata>
        </domain>
        """;

    [Fact]
    public void A_clone_gets_a_new_name_overlays_no_uuid_or_mac_its_own_console_and_the_template_label()
    {
        var (xml, disks) = LibvirtClone.Transform(Template, "web-tmpl-scale-1", "web-tmpl", "/overlays");
        var root = XDocument.Parse(xml).Root!;
        Assert.Equal("web-tmpl-scale-1", root.Element("name")!.Value);
        Assert.Null(root.Element("uuid"));
        var (source, format, overlay) = Assert.Single(disks); // the CD-ROM is shared as it is
        Assert.Equal(("/images/web.img", "raw", "/overlays/web-tmpl-scale-1-vda.qcow2"), (source, format, overlay));
        var disk = root.Element("devices")!.Elements("disk").First();
        Assert.Equal(overlay, (string?)disk.Element("source")!.Attribute("file"));
        Assert.Equal("qcow2", (string?)disk.Element("driver")!.Attribute("type"));
        Assert.Null(root.Element("devices")!.Element("interface")!.Element("mac"));
        Assert.Equal("/overlays/web-tmpl-scale-1-console.log", (string?)root.Element("devices")!.Element("serial")!.Element("source")!.Attribute("path"));
        XNamespace v = LibvirtVmClassification.Namespace;
        var labels = root.Element("metadata")!.Element(v + "vm")!.Elements(v + "label").ToDictionary(l => (string)l.Attribute("key")!, l => l.Value);
        Assert.Equal(new Dictionary<string, string> { ["service"] = "web", [LibvirtScaleOutHandler.ScaledFrom] = "web-tmpl" }, labels);
        Assert.Equal([overlay], LibvirtClone.Overlays(xml, "/overlays"));
    }
}
