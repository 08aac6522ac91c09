using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>Priority, SLO class and labels of each VM: its domain's <c>vmeco:vm</c> metadata, else the configured defaults.</summary>
internal sealed partial class LibvirtHypervisor
{
    private const int MetadataElement = 2; // VIR_DOMAIN_METADATA_ELEMENT

    // The metadata last reported as invalid per VM, so a bad element is logged once, not on every inventory read.
    private readonly ConcurrentDictionary<string, string> _reportedMetadata = new(StringComparer.Ordinal);

    private VmInfo Classify(DomainHandle d, VmInfo vm)
    {
        var fallback = LibvirtVmClassification.DefaultsFor(_options.VmDefaults, vm.Name);
        IntPtr p = LibvirtNative.virDomainGetMetadata(d, MetadataElement, LibvirtVmClassification.Namespace, 0);
        if (p == IntPtr.Zero)
        {
            LibvirtNative.virResetLastError(); // no such element: the defaults apply
            return fallback is null ? vm : vm with
            {
                Priority = fallback.Priority,
                Slo = fallback.Slo,
                Labels = new Dictionary<string, string>(fallback.Labels, StringComparer.Ordinal),
            };
        }

        string xml;
        try
        {
            xml = Marshal.PtrToStringUTF8(p) ?? string.Empty;
        }
        finally
        {
            LibvirtNative.free(p);
        }

        var c = LibvirtVmClassification.Parse(xml);
        if (c.Errors.Count > 0 && (!_reportedMetadata.TryGetValue(vm.Name, out var reported) || reported != xml))
        {
            _reportedMetadata[vm.Name] = xml;
            LogInvalidMetadata(Logger, vm.Name, string.Join("; ", c.Errors));
        }

        var labels = new Dictionary<string, string>(fallback?.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (key, value) in c.Labels)
        {
            labels[key] = value;
        }

        return vm with
        {
            Priority = c.Priority ?? fallback?.Priority ?? 0,
            Slo = c.Slo ?? fallback?.Slo ?? SloClass.Standard,
            Labels = labels,
        };
    }

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "VM {Vm}: its vmeco metadata has invalid values, which are ignored: {Errors}")]
    private static partial void LogInvalidMetadata(ILogger logger, string vm, string errors);
}
