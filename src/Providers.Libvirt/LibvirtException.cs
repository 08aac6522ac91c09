using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>
/// A libvirt error as libvirt reported it (<c>virGetLastError</c>): its <c>virErrorNumber</c>, the part of
/// libvirt that raised it, and its message. Provider calls throw <see cref="HypervisorException"/> with this as
/// the inner exception, so callers can branch on <see cref="HypervisorException.Kind"/> and still see libvirt's
/// own code.
/// </summary>
public sealed class LibvirtException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LibvirtException(int code, int errorDomain, string message)
        : base(message)
    {
        Code = code;
        ErrorDomain = errorDomain;
    }

    /// <summary>libvirt's <c>virErrorNumber</c> (for example 42 = <c>VIR_ERR_NO_DOMAIN</c>).</summary>
    public int Code { get; }

    /// <summary>libvirt's <c>virErrorDomain</c>: which driver or subsystem raised the error.</summary>
    public int ErrorDomain { get; }

    /// <summary>The symbolic name of <see cref="Code"/> when known (<c>VIR_ERR_NO_DOMAIN</c>), else the number.</summary>
    public string CodeName => LibvirtErrors.NameOf(Code);
}
