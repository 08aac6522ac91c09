using System.Runtime.InteropServices;

namespace VmEcosystem.Providers.Libvirt.Native;

/// <summary>A <c>virConnectPtr</c>; closing it releases the connection (and its reference to the daemon).</summary>
internal sealed class ConnectionHandle : SafeHandle
{
    public ConnectionHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Wraps a pointer returned by <c>virConnectOpen</c>.</summary>
    public static ConnectionHandle Own(IntPtr pointer)
    {
        var h = new ConnectionHandle();
        h.SetHandle(pointer);
        return h;
    }

    protected override bool ReleaseHandle() => LibvirtNative.virConnectClose(handle) >= 0;
}

/// <summary>A <c>virDomainPtr</c>; freeing it drops the client-side reference only (the domain keeps running).</summary>
internal sealed class DomainHandle : SafeHandle
{
    public DomainHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Wraps a pointer libvirt handed over (lookups, list entries).</summary>
    public static DomainHandle Own(IntPtr pointer)
    {
        var h = new DomainHandle();
        h.SetHandle(pointer);
        return h;
    }

    protected override bool ReleaseHandle() => LibvirtNative.virDomainFree(handle) == 0;
}
