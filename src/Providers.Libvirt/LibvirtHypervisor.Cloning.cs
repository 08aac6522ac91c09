using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>Defining, starting and removing domains (the scale-out handler's calls).</summary>
internal sealed partial class LibvirtHypervisor
{
    private const uint XmlInactive = 2; // VIR_DOMAIN_XML_INACTIVE: the persistent definition, not the live one

    /// <summary>The persistent definition of a domain, where it is defined, and whether it runs.</summary>
    internal async Task<(HostId Host, string Xml, bool Active)> ReadDefinitionAsync(VmId vm, CancellationToken cancellationToken)
    {
        var c = await LocateAsync(vm, "ReadDefinition", cancellationToken).ConfigureAwait(false);
        return await OnHostAsync(c, cancellationToken, h =>
        {
            using var d = Lookup(h, c.Host, vm);
            string xml = LibvirtNative.TakeString(LibvirtNative.virDomainGetXMLDesc(d, XmlInactive)) ?? throw LibvirtErrors.Fail("Reading the domain definition");
            return (c.Host, xml, LibvirtNative.virDomainIsActive(d) == 1);
        }).ConfigureAwait(false);
    }

    /// <summary>Defines a domain on <paramref name="host"/> and starts it.</summary>
    internal Task DefineAndStartAsync(HostId host, string xml, CancellationToken cancellationToken)
    {
        var c = Connection(host, "DefineAndStart");
        return OnHostAsync(c, cancellationToken, h =>
        {
            using var d = DomainHandle.Own(LibvirtNative.virDomainDefineXML(h, xml));
            if (d.IsInvalid)
            {
                throw LibvirtErrors.Fail("Defining the domain");
            }

            if (LibvirtNative.virDomainCreate(d) != 0)
            {
                var error = LibvirtErrors.Fail("Starting the domain");
                LibvirtNative.virDomainUndefine(d); // a definition that cannot start is not left behind
                throw error;
            }

            return true;
        });
    }

    /// <summary>Stops a domain (if it runs) and removes its definition.</summary>
    internal async Task DestroyAndUndefineAsync(VmId vm, CancellationToken cancellationToken)
    {
        var c = await LocateAsync(vm, "Remove", cancellationToken).ConfigureAwait(false);
        await OnHostAsync(c, cancellationToken, h =>
        {
            using var d = Lookup(h, c.Host, vm);
            if (LibvirtNative.virDomainIsActive(d) == 1 && LibvirtNative.virDomainDestroy(d) != 0)
            {
                throw LibvirtErrors.Fail("Stopping the domain");
            }

            return LibvirtNative.virDomainUndefine(d) == 0 ? true : throw LibvirtErrors.Fail("Removing the domain definition");
        }).ConfigureAwait(false);
    }
}
