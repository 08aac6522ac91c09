using System.Runtime.InteropServices;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>A raw lifecycle event from libvirt's event loop thread.</summary>
internal readonly record struct DomainLifecycleEvent(HostId Host, string Domain, int Event, int Detail);

/// <summary>
/// One host's libvirt connection. Opened on first use and reopened after libvirt reports it closed (keep-alive
/// timeout, daemon restart) or a call fails because the connection is gone. One open runs at a time, outside the
/// lock, and callers wait for it at most <see cref="LibvirtOptions.ConnectTimeout"/>. Lifecycle events and the close
/// notification arrive on libvirt's event loop thread and are handed to the provider without blocking it; the
/// handles given to libvirt for them are freed by libvirt's own free callback, never while it may still use them.
/// </summary>
internal sealed unsafe class LibvirtConnection : IDisposable
{
    private readonly LibvirtHostOptions _host;
    private readonly LibvirtOptions _options;
    private readonly Action<DomainLifecycleEvent> _onEvent;
    private readonly Action<HostId, string> _onClosed;
    private readonly Lock _gate = new();
    private ConnectionHandle? _handle;
    private Task<(IntPtr Raw, LibvirtException? Error)>? _opening;
    private int _eventCallbackId = -1;
    private bool _closeCallbackRegistered;
    private volatile bool _closedByPeer;
    private bool _disposed;

    public LibvirtConnection(LibvirtHostOptions host, LibvirtOptions options, Action<DomainLifecycleEvent> onEvent, Action<HostId, string> onClosed)
    {
        _host = host;
        _options = options;
        _onEvent = onEvent;
        _onClosed = onClosed;
        Host = new HostId(host.Name);
        IsTestDriver = LibvirtUris.IsTestDriver(host.Uri);
        Calls = new SemaphoreSlim(options.MaxCallsPerHost, options.MaxCallsPerHost);
    }

    /// <summary>Slots for native calls on this host (<see cref="LibvirtOptions.MaxCallsPerHost"/>); a call holds one until it returns.</summary>
    public SemaphoreSlim Calls { get; }

    public HostId Host { get; }

    public LibvirtHostOptions Options => _host;

    public bool IsTestDriver { get; }

    /// <summary>How many times the connection was (re)opened; the provider asks for a resync when it grows.</summary>
    public int Generation { get; private set; }

    /// <summary>The open connection, opening (or reopening) it when needed. Blocking: call from a worker thread.</summary>
    public ConnectionHandle Acquire()
    {
        Task<(IntPtr Raw, LibvirtException? Error)> opening;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_handle is { } h && !_closedByPeer && !h.IsClosed)
            {
                return h;
            }

            // One open at a time, outside the lock: a host that does not answer blocks one thread, not every caller.
            opening = _opening ??= Task.Run(Open);
        }

        if (!opening.Wait(_options.ConnectTimeout))
        {
            throw new HypervisorException(HypervisorErrorKind.Unavailable,
                $"Cannot connect to libvirt host '{Host}': no answer within {_options.ConnectTimeout} (ConnectTimeout).");
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (ReferenceEquals(_opening, opening))
            {
                _opening = null;
                var (raw, error) = opening.Result;
                if (raw == IntPtr.Zero)
                {
                    throw new HypervisorException(HypervisorErrorKind.Unavailable,
                        $"Cannot connect to libvirt host '{Host}': {error!.Message} ({error.CodeName})", nativeCode: error.CodeName, innerException: error);
                }

                ReleaseLocked();
                Attach(ConnectionHandle.Own(raw));
            }

            // Another caller attached the result of the same open; when that open failed, the next call opens anew.
            return _handle is { } h && !h.IsClosed ? h : throw new HypervisorException(HypervisorErrorKind.Unavailable,
                $"Cannot connect to libvirt host '{Host}': the connection closed while it was opened.");
        }
    }

    // On a worker: libvirt's error is per thread, so it is read where the open failed.
    private (IntPtr Raw, LibvirtException? Error) Open()
    {
        LibvirtRuntime.EnsureInitialized();
        IntPtr raw = LibvirtNative.virConnectOpen(_host.Uri);
        if (raw == IntPtr.Zero)
        {
            var error = LibvirtErrors.Last("virConnectOpen failed");
            // Opening fails with assorted codes (system error, RPC, auth); all mean "cannot reach this host now".
            return (raw, new LibvirtException(error.Code, error.ErrorDomain, LibvirtUris.Redact(error.Message, _host.Uri)));
        }

        lock (_gate)
        {
            if (_disposed)
            {
                LibvirtNative.virConnectClose(raw); // opened after the provider was disposed: nobody will use it
                return (IntPtr.Zero, new LibvirtException(0, 0, "the provider was disposed"));
            }
        }

        return (raw, null);
    }

    private void Attach(ConnectionHandle handle)
    {
        _closedByPeer = false;
        if (!IsTestDriver && _options.KeepAliveInterval > TimeSpan.Zero)
        {
            // Keep-alive needs the event loop; a failure only means no early detection of a dead peer.
            if (LibvirtNative.virConnectSetKeepAlive(handle, (int)Math.Ceiling(_options.KeepAliveInterval.TotalSeconds), (uint)_options.KeepAliveCount) < 0)
            {
                LibvirtNative.virResetLastError();
            }
        }

        // Each registration gets its own handle to this object, freed by libvirt's free callback once libvirt no
        // longer delivers to it (after deregistration completes, or when the connection is freed).
        var events = GCHandle.Alloc(this);
        _eventCallbackId = LibvirtNative.virConnectDomainEventRegisterAny(
            handle, IntPtr.Zero, LibvirtNative.EventIdLifecycle, &OnLifecycle, GCHandle.ToIntPtr(events), (IntPtr)(delegate* unmanaged<IntPtr, void>)&FreeOpaque);
        if (_eventCallbackId < 0)
        {
            events.Free(); // not registered: libvirt never calls the free callback
            LibvirtNative.virResetLastError(); // events are best effort: the inventory poll still sees everything
        }

        var close = GCHandle.Alloc(this);
        _closeCallbackRegistered = LibvirtNative.virConnectRegisterCloseCallback(handle, &OnClose, GCHandle.ToIntPtr(close), (IntPtr)(delegate* unmanaged<IntPtr, void>)&FreeOpaque) == 0;
        if (!_closeCallbackRegistered)
        {
            close.Free();
            LibvirtNative.virResetLastError(); // the test driver has no close callbacks
        }

        _handle = handle;
        Generation++;
    }

    /// <summary>Drops the connection after a call showed it is gone; the next <see cref="Acquire"/> reopens it.</summary>
    public void Invalidate(ConnectionHandle handle)
    {
        lock (_gate)
        {
            if (ReferenceEquals(handle, _handle))
            {
                _closedByPeer = true;
            }
        }
    }

    /// <summary>True when the connection is open and the peer answers (<c>virConnectIsAlive</c>).</summary>
    public bool IsAlive(ConnectionHandle handle) => !_closedByPeer && !handle.IsClosed && LibvirtNative.virConnectIsAlive(handle) == 1;

    /// <summary>Closes the connection as if the peer had dropped it (used by tests and by <see cref="Dispose"/>).</summary>
    internal void CloseNow()
    {
        lock (_gate)
        {
            ReleaseLocked();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            ReleaseLocked();
        }

        // Not disposed: a native call that outlived its timeout may still hold a slot and release it later.
    }

    private void ReleaseLocked()
    {
        if (_handle is { } h)
        {
            if (!h.IsClosed)
            {
                if (_eventCallbackId >= 0)
                {
                    LibvirtNative.virConnectDomainEventDeregisterAny(h, _eventCallbackId);
                }

                if (_closeCallbackRegistered)
                {
                    LibvirtNative.virConnectUnregisterCloseCallback(h, &OnClose);
                }

                LibvirtNative.virResetLastError();
            }

            h.Dispose();
            _handle = null;
        }

        _eventCallbackId = -1;
        _closeCallbackRegistered = false;
    }

    [UnmanagedCallersOnly]
    private static void FreeOpaque(IntPtr opaque)
    {
        try
        {
            GCHandle.FromIntPtr(opaque).Free();
        }
        catch (Exception)
        {
            // Never unwind into libvirt.
        }
    }

    [UnmanagedCallersOnly]
    private static int OnLifecycle(IntPtr conn, IntPtr domain, int evt, int detail, IntPtr opaque)
    {
        try
        {
            if (GCHandle.FromIntPtr(opaque).Target is LibvirtConnection self)
            {
                string? name = Marshal.PtrToStringUTF8(LibvirtNative.virDomainGetName(domain));
                if (name is not null)
                {
                    self._onEvent(new DomainLifecycleEvent(self.Host, name, evt, detail));
                }
            }
        }
        catch (Exception)
        {
            // An exception must never unwind into libvirt's event loop.
        }

        return 0;
    }

    [UnmanagedCallersOnly]
    private static void OnClose(IntPtr conn, int reason, IntPtr opaque)
    {
        try
        {
            if (GCHandle.FromIntPtr(opaque).Target is LibvirtConnection self)
            {
                self._closedByPeer = true;
                string why = reason switch
                {
                    0 => "a connection error",
                    1 => "end of file from the daemon",
                    2 => "keep-alive timeout",
                    3 => "a client request",
                    _ => $"reason {reason}",
                };
                self._onClosed(self.Host, why);
            }
        }
        catch (Exception)
        {
            // Never unwind into libvirt.
        }
    }
}
