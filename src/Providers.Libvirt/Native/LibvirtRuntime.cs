using System.Runtime.InteropServices;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.Native;

/// <summary>
/// Process-wide libvirt set-up, done once: silence libvirt's default error printer (errors are read with
/// <c>virGetLastError</c> and surfaced as exceptions instead), register the default event loop implementation
/// before any connection is opened (events and keep-alive need it), and run that loop on a background thread for
/// the life of the process, as libvirt's own bindings do.
/// </summary>
internal static unsafe class LibvirtRuntime
{
    private static readonly Lock Gate = new();
    private static Exception? _failure;
    private static bool _initialized;

    /// <summary>Initialises libvirt once; throws a clear <see cref="HypervisorException"/> when it cannot be loaded.</summary>
    public static void EnsureInitialized()
    {
        lock (Gate)
        {
            if (_initialized)
            {
                return;
            }

            if (_failure is null)
            {
                try
                {
                    LibvirtNative.virSetErrorFunc(IntPtr.Zero, &IgnoreError);
                    if (LibvirtNative.virEventRegisterDefaultImpl() < 0)
                    {
                        throw LibvirtErrors.Fail("Registering libvirt's default event loop");
                    }

                    var thread = new Thread(RunEventLoop) { IsBackground = true, Name = "libvirt-event-loop" };
                    thread.Start();
                    _initialized = true;
                    return;
                }
                catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
                {
                    _failure = ex;
                }
            }

            throw new HypervisorException(HypervisorErrorKind.Unavailable,
                $"{LibvirtNative.Library} could not be loaded ({_failure.Message}). Install libvirt's client library " +
                "(Debian/Ubuntu: apt-get install libvirt0; Fedora/RHEL: dnf install libvirt-libs).",
                innerException: _failure);
        }
    }

    /// <summary>True when libvirt's client library can be loaded on this machine.</summary>
    public static bool IsAvailable()
    {
        try
        {
            EnsureInitialized();
            return true;
        }
        catch (HypervisorException)
        {
            return false;
        }
    }

    private static void RunEventLoop()
    {
        while (true)
        {
            if (LibvirtNative.virEventRunDefaultImpl() < 0)
            {
                // Nothing sensible to do but keep the loop alive; a failing iteration must not end event delivery.
                LibvirtNative.virResetLastError();
                Thread.Sleep(100);
            }
        }
    }

    [UnmanagedCallersOnly]
    private static void IgnoreError(IntPtr userData, IntPtr error)
    {
        // Intentionally empty: the error stays available to the failing thread through virGetLastError.
    }
}
