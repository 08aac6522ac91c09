using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using VmEcosystem.Borrowing;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>Settings of the libvirt scale-out handler (<c>AddLibvirtScaleOut</c>).</summary>
public sealed class LibvirtScaleOutOptions
{
    /// <summary>
    /// The template domain of each host set (a shut-off domain whose disks are the clones' backing files). A set not
    /// listed uses the request's template VM when that one is shut off; otherwise the request fails.
    /// </summary>
    public Dictionary<string, string> Templates { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Where clones' overlay disks (and file consoles) are created. Required; must exist.</summary>
    public string? OverlayDirectory { get; set; }

    /// <summary>The <c>qemu-img</c> program that creates the copy-on-write overlays.</summary>
    public string QemuImg { get; set; } = "qemu-img";

    /// <summary>Most clones of one template at once (a runaway forecast does not fill the host).</summary>
    public int MaxClones { get; set; } = 16;

    /// <summary>The errors of these options, each naming its setting.</summary>
    public IReadOnlyList<string> Validate()
    {
        const string prefix = "VmEcosystem:LibvirtScaleOut:";
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(OverlayDirectory) || !Directory.Exists(OverlayDirectory))
        {
            errors.Add($"{prefix}OverlayDirectory must name an existing directory; got '{OverlayDirectory}'.");
        }

        if (MaxClones is < 1 or > 10_000)
        {
            errors.Add($"{prefix}MaxClones must be within [1, 10000]; got {MaxClones}.");
        }

        errors.AddRange(Templates.Where(t => string.IsNullOrWhiteSpace(t.Value)).Select(t => $"{prefix}Templates:{t.Key} must name a domain."));
        return errors;
    }
}

/// <summary>
/// The libvirt provider's <see cref="IScaleOutHandler"/>: a scale-out clones the host set's template domain (a
/// copy-on-write qcow2 overlay over each of its file disks, a new name, a UUID and MAC addresses libvirt gives, the
/// same labels plus <c>vmeco.scaled-from</c>) on the template's host and starts it; the provider's inventory announces
/// it as a new VM. A scale-in stops and removes clones only (never the template or a VM it did not make), the least
/// used first as the request lists them, and deletes their overlays.
/// </summary>
internal sealed class LibvirtScaleOutHandler(LibvirtHypervisor hypervisor, LibvirtScaleOutOptions options) : IScaleOutHandler
{
    internal const string ScaledFrom = "vmeco.scaled-from";

    public async Task<ScaleResult> ScaleOutAsync(ScaleOutRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var template = new VmId(options.Templates.TryGetValue(request.HostSet, out var name) ? name : request.Template.Value);
        var (host, xml, active) = await hypervisor.ReadDefinitionAsync(template, cancellationToken).ConfigureAwait(false);
        if (active)
        {
            throw new HypervisorException(HypervisorErrorKind.Conflict,
                $"Template '{template}' of host set '{request.HostSet}' is running: a template must be shut off (its disks are the clones' backing files). Set VmEcosystem:LibvirtScaleOut:Templates:{request.HostSet}.");
        }

        var existing = (await hypervisor.GetInventoryAsync(cancellationToken).ConfigureAwait(false)).Vms.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        int clones = existing.Count(n => n.StartsWith($"{template.Value}-scale-", StringComparison.Ordinal));
        var created = new List<VmId>();
        for (int i = 1; created.Count < request.Instances; i++)
        {
            if (clones + created.Count >= options.MaxClones)
            {
                break;
            }

            string clone = $"{template.Value}-scale-{i}";
            if (existing.Contains(clone))
            {
                continue;
            }

            var (definition, disks) = LibvirtClone.Transform(xml, clone, template.Value, options.OverlayDirectory!);
            foreach (var (source, format, overlay) in disks)
            {
                await QemuImgAsync(["create", "-q", "-f", "qcow2", "-F", format, "-b", source, overlay], cancellationToken).ConfigureAwait(false);
            }

            try
            {
                await hypervisor.DefineAndStartAsync(host, definition, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Delete(disks.Select(d => d.Overlay));
                throw;
            }

            created.Add(new VmId(clone));
        }

        string message = created.Count == request.Instances
            ? $"cloned {template} into {string.Join(", ", created)} on {host}"
            : $"cloned {template} into {created.Count} of {request.Instances} asked ({string.Join(", ", created)}): at most {options.MaxClones} clones (MaxClones)";
        return new ScaleResult(created, message);
    }

    public async Task<ScaleResult> ScaleInAsync(ScaleInRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var inventory = await hypervisor.GetInventoryAsync(cancellationToken).ConfigureAwait(false);
        var removed = new List<VmId>();
        foreach (var id in request.Candidates)
        {
            if (removed.Count >= request.Instances)
            {
                break;
            }

            if (inventory.Vms.FirstOrDefault(v => v.Id == id) is not { } vm || !vm.Labels.ContainsKey(ScaledFrom))
            {
                continue; // only clones are removed
            }

            var (_, xml, _) = await hypervisor.ReadDefinitionAsync(id, cancellationToken).ConfigureAwait(false);
            await hypervisor.DestroyAndUndefineAsync(id, cancellationToken).ConfigureAwait(false);
            Delete(LibvirtClone.Overlays(xml, options.OverlayDirectory!));
            removed.Add(id);
        }

        return new ScaleResult(removed, removed.Count > 0 ? $"removed {string.Join(", ", removed)}" : "no clone among the candidates: nothing removed");
    }

    private async Task QemuImgAsync(string[] args, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(options.QemuImg) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new HypervisorException(HypervisorErrorKind.ProviderFault, $"cannot start {options.QemuImg}");
        string error = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new HypervisorException(HypervisorErrorKind.ProviderFault, string.Create(CultureInfo.InvariantCulture, $"{options.QemuImg} {string.Join(' ', args)} failed ({process.ExitCode}): {error.Trim()}"));
        }
    }

    private static void Delete(IEnumerable<string> files)
    {
        foreach (var f in files)
        {
            File.Delete(f);
        }
    }
}

/// <summary>How a clone's definition is made from its template's (a pure function over the domain XML).</summary>
internal static class LibvirtClone
{
    private static readonly XNamespace Vmeco = LibvirtVmClassification.Namespace;

    /// <summary>The clone's definition and the overlays to create (backing file, its format, overlay path).</summary>
    public static (string Xml, IReadOnlyList<(string Source, string Format, string Overlay)> Disks) Transform(string templateXml, string clone, string template, string overlayDirectory)
    {
        var doc = XDocument.Parse(templateXml);
        var root = doc.Root ?? throw new ArgumentException("The template's definition has no root element.", nameof(templateXml));
        root.Element("name")!.Value = clone;
        root.Element("uuid")?.Remove(); // libvirt gives a new one
        var devices = root.Element("devices");
        var disks = new List<(string, string, string)>();
        foreach (var disk in devices?.Elements("disk") ?? [])
        {
            if ((string?)disk.Attribute("type") != "file" || (string?)disk.Attribute("device") is "cdrom" or "floppy" || disk.Element("source") is not { } source
                || (string?)source.Attribute("file") is not { } file)
            {
                continue;
            }

            string target = (string?)disk.Element("target")?.Attribute("dev") ?? disks.Count.ToString(CultureInfo.InvariantCulture);
            string overlay = Path.Combine(overlayDirectory, $"{clone}-{target}.qcow2");
            var driver = disk.Element("driver");
            disks.Add((file, (string?)driver?.Attribute("type") ?? "raw", overlay));
            source.SetAttributeValue("file", overlay);
            driver?.SetAttributeValue("type", "qcow2");
            disk.Element("backingStore")?.Remove();
        }

        foreach (var mac in devices?.Elements("interface").Select(i => i.Element("mac")).OfType<XElement>().ToList() ?? [])
        {
            mac.Remove(); // libvirt gives a new address
        }

        foreach (var source in devices?.Elements().Where(e => e.Name.LocalName is "serial" or "console" && (string?)e.Attribute("type") == "file").Select(e => e.Element("source")).OfType<XElement>() ?? [])
        {
            source.SetAttributeValue("path", Path.Combine(overlayDirectory, $"{clone}-console.log"));
        }

        Label(root, template);
        return (doc.ToString(SaveOptions.DisableFormatting), disks);
    }

    /// <summary>The overlays of a clone's definition (its file disks inside the overlay directory).</summary>
    public static IReadOnlyList<string> Overlays(string xml, string overlayDirectory)
    {
        string dir = Path.GetFullPath(overlayDirectory) + Path.DirectorySeparatorChar;
        return [.. (XDocument.Parse(xml).Root?.Element("devices")?.Elements("disk") ?? []).Select(d => (string?)d.Element("source")?.Attribute("file"))
            .OfType<string>().Where(f => Path.GetFullPath(f).StartsWith(dir, StringComparison.Ordinal))];
    }

    // The clone carries its template's labels plus where it came from (what scale-in looks for).
    private static void Label(XElement root, string template)
    {
        var metadata = root.Element("metadata") ?? new XElement("metadata");
        if (metadata.Parent is null)
        {
            root.Add(metadata);
        }

        var vm = metadata.Element(Vmeco + "vm");
        if (vm is null)
        {
            vm = new XElement(Vmeco + "vm", new XAttribute(XNamespace.Xmlns + "vmeco", Vmeco.NamespaceName));
            metadata.Add(vm);
        }

        vm.Elements(Vmeco + "label").Where(l => (string?)l.Attribute("key") == LibvirtScaleOutHandler.ScaledFrom).Remove();
        vm.Add(new XElement(Vmeco + "label", new XAttribute("key", LibvirtScaleOutHandler.ScaledFrom), template));
    }
}
