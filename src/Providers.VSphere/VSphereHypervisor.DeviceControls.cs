using System.Xml.Linq;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere;

/// <summary>
/// Disk I/O limits and shares (each virtual disk's <c>storageIOAllocation</c>) and network bandwidth limits (each
/// NIC's <c>resourceAllocation</c>), changed by editing the devices in <c>ReconfigVM_Task</c>'s <c>deviceChange</c>.
/// vSphere sets these per device; the provider applies a VM's control to every disk (or NIC) it has and reads it back
/// from the first one.
/// </summary>
internal sealed partial class VSphereHypervisor
{
    // Schema order of the fields after which the allocation goes (a device is sent whole; the server replaces it).
    private static readonly string[] DiskFieldsBeforeAllocation = ["unitNumber", "capacityInKB", "capacityInBytes", "shares"];
    private static readonly string[] NicFieldsBeforeAllocation = ["unitNumber", "addressType", "macAddress", "wakeOnLanEnabled"];

    private static IEnumerable<XElement> Devices(VimObject vm) =>
        vm.Value("config.hardware.device")?.Elements() ?? [];

    private static bool IsDisk(XElement device) => device.Attribute(Xsi + "type")?.Value.EndsWith("VirtualDisk", StringComparison.Ordinal) == true;

    private static bool IsNic(XElement device) => device.Child("macAddress") is not null || device.Child("addressType") is not null;

    /// <summary>The disk IOPS limit, disk weight and NIC bandwidth limit of the VM's first disk and NIC (unlimited is null).</summary>
    private static (double? Iops, int? Weight, double? Mbps) DeviceControlsOf(VimObject vm)
    {
        var disk = Devices(vm).FirstOrDefault(IsDisk)?.Child("storageIOAllocation");
        var nic = Devices(vm).FirstOrDefault(IsNic)?.Child("resourceAllocation");
        double? iops = disk?.Long("limit") is > 0 and var l ? l : null;
        int? weight = disk?.Path("shares/level") == "custom" && disk.Long("shares/shares") is { } s ? (int)s : null;
        double? mbps = nic?.Long("limit") is > 0 and var n ? n : null;
        return (iops, weight, mbps);
    }

    /// <summary>The <c>deviceChange</c> edits for the disk and network controls that are set; none when none are.</summary>
    private IEnumerable<XElement> DeviceChanges(VmId id, VimObject vm, ResourceControls controls)
    {
        var edits = new List<XElement>();
        if (controls.DiskIopsLimit is not null || controls.DiskWeight is not null)
        {
            var disks = Devices(vm).Where(IsDisk).ToArray();
            if (disks.Length == 0)
            {
                throw new HypervisorException(HypervisorErrorKind.NotSupported, $"VM '{id}' has no virtual disk to limit.", Name, "SetResourceControls");
            }

            edits.AddRange(disks.Select(d => Edit(d, "storageIOAllocation", DiskFieldsBeforeAllocation, a => DiskAllocation(a, controls))));
        }

        if (controls.NetworkBandwidthLimitMbps is not null)
        {
            var nics = Devices(vm).Where(IsNic).ToArray();
            if (nics.Length == 0)
            {
                throw new HypervisorException(HypervisorErrorKind.NotSupported, $"VM '{id}' has no network adapter to limit.", Name, "SetResourceControls");
            }

            edits.AddRange(nics.Select(n => Edit(n, "resourceAllocation", NicFieldsBeforeAllocation, a => NicAllocation(a, controls.NetworkBandwidthLimitMbps!.Value))));
        }

        return edits;
    }

    /// <summary>A whole device with its allocation replaced, in a <c>deviceChange</c> with <c>operation=edit</c>.</summary>
    private static XElement Edit(XElement device, string allocation, string[] after, Func<XElement?, XElement> build)
    {
        var copy = new XElement(Ns + "device", device.Attributes().Where(a => a.Name == Xsi + "type"), device.Elements().Select(e => new XElement(e)));
        var old = copy.Child(allocation);
        var replacement = build(old);
        if (old is not null)
        {
            old.ReplaceWith(replacement);
        }
        else if (after.Select(copy.Child).LastOrDefault(e => e is not null) is { } anchor)
        {
            anchor.AddAfterSelf(replacement);
        }
        else
        {
            copy.Add(replacement);
        }

        return E("deviceChange", E("operation", "edit"), copy);
    }

    /// <summary><c>StorageIOAllocationInfo</c>: limit (IOPS, -1 unlimited), shares; the rest kept.</summary>
    private static XElement DiskAllocation(XElement? current, ResourceControls controls)
    {
        long? limit = controls.DiskIopsLimit is { } iops ? Unlimited(iops, x => x) : current?.Long("limit");
        var shares = controls.DiskWeight is { } w ? E("shares", E("shares", Text(w)), E("level", "custom"))
            : current?.Child("shares") is { } s ? new XElement(s) : null;
        return E("storageIOAllocation", limit is { } l ? E("limit", Text(l)) : null, shares,
            current?.Child("reservation") is { } r ? new XElement(r) : null);
    }

    /// <summary><c>VirtualEthernetCardResourceAllocation</c>: reservation, share (required), limit (Mbit/s, -1 unlimited).</summary>
    private static XElement NicAllocation(XElement? current, double mbps) =>
        E("resourceAllocation",
            current?.Child("reservation") is { } r ? new XElement(r) : null,
            current?.Child("share") is { } s ? new XElement(s) : E("share", E("shares", "50"), E("level", "normal")),
            E("limit", Text(Unlimited(mbps, x => x))));
}
