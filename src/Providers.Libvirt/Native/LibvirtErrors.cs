using System.Runtime.InteropServices;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.Native;

/// <summary>
/// Turns libvirt's thread-local last error into a <see cref="HypervisorException"/> of a stable kind. Must run on
/// the thread that made the failing call (libvirt keeps the last error per thread).
/// </summary>
internal static class LibvirtErrors
{
    // virErrorNumber values used for classification (virterror.h, libvirt 9.0).
    public const int InternalError = 1, NoSupport = 3, NoConnect = 5, InvalidConn = 6, InvalidDomain = 7, InvalidArg = 8,
        OperationFailed = 9, DomExist = 28, SystemError = 38, Rpc = 39, NoDomain = 42, AuthFailed = 45,
        OperationInvalid = 55, ConfigUnsupported = 67, OperationTimeout = 68, ArgumentUnsupported = 74,
        OperationAborted = 78, MigrateUnsafe = 81, OperationUnsupported = 84, ResourceBusy = 87,
        AuthUnavailable = 94, NoServer = 95;

    private static readonly Dictionary<int, string> Names = new()
    {
        [InternalError] = "VIR_ERR_INTERNAL_ERROR", [NoSupport] = "VIR_ERR_NO_SUPPORT", [NoConnect] = "VIR_ERR_NO_CONNECT",
        [InvalidConn] = "VIR_ERR_INVALID_CONN", [InvalidDomain] = "VIR_ERR_INVALID_DOMAIN", [InvalidArg] = "VIR_ERR_INVALID_ARG",
        [OperationFailed] = "VIR_ERR_OPERATION_FAILED", [DomExist] = "VIR_ERR_DOM_EXIST", [SystemError] = "VIR_ERR_SYSTEM_ERROR",
        [Rpc] = "VIR_ERR_RPC", [NoDomain] = "VIR_ERR_NO_DOMAIN", [AuthFailed] = "VIR_ERR_AUTH_FAILED",
        [OperationInvalid] = "VIR_ERR_OPERATION_INVALID", [ConfigUnsupported] = "VIR_ERR_CONFIG_UNSUPPORTED",
        [OperationTimeout] = "VIR_ERR_OPERATION_TIMEOUT", [ArgumentUnsupported] = "VIR_ERR_ARGUMENT_UNSUPPORTED",
        [OperationAborted] = "VIR_ERR_OPERATION_ABORTED", [MigrateUnsafe] = "VIR_ERR_MIGRATE_UNSAFE",
        [OperationUnsupported] = "VIR_ERR_OPERATION_UNSUPPORTED", [ResourceBusy] = "VIR_ERR_RESOURCE_BUSY",
        [AuthUnavailable] = "VIR_ERR_AUTH_UNAVAILABLE", [NoServer] = "VIR_ERR_NO_SERVER",
    };

    public static string NameOf(int code) => Names.TryGetValue(code, out var name) ? name : code.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The stable kind of a libvirt error code.</summary>
    public static HypervisorErrorKind Classify(int code) => code switch
    {
        NoDomain or InvalidDomain => HypervisorErrorKind.NotFound,
        NoSupport or ArgumentUnsupported or OperationUnsupported or ConfigUnsupported or MigrateUnsafe => HypervisorErrorKind.NotSupported,
        InvalidArg => HypervisorErrorKind.InvalidArgument,
        OperationInvalid or ResourceBusy or DomExist or OperationAborted => HypervisorErrorKind.Conflict,
        NoConnect or InvalidConn or SystemError or Rpc or AuthFailed or AuthUnavailable or NoServer => HypervisorErrorKind.Unavailable,
        OperationTimeout => HypervisorErrorKind.Timeout,
        _ => HypervisorErrorKind.ProviderFault,
    };

    /// <summary>True when the error means the connection itself is gone (so it must be reopened).</summary>
    public static bool MeansConnectionLost(int code) => code is NoConnect or InvalidConn or Rpc or SystemError;

    /// <summary>Reads and clears this thread's last libvirt error.</summary>
    public static LibvirtException Last(string fallbackMessage)
    {
        IntPtr p = LibvirtNative.virGetLastError();
        if (p == IntPtr.Zero)
        {
            return new LibvirtException(InternalError, 0, fallbackMessage);
        }

        var error = Marshal.PtrToStructure<LibvirtNative.Error>(p);
        string message = Marshal.PtrToStringUTF8(error.Message)?.Trim() ?? fallbackMessage;
        LibvirtNative.virResetLastError();
        // Every libvirt message passes here: credentials are removed before any exception, log or audit sees them.
        return new LibvirtException(error.Code, error.Domain, LibvirtUris.RedactAll(message));
    }

    /// <summary>Wraps a libvirt error into the contract's exception. <paramref name="what"/> says what was attempted.</summary>
    public static HypervisorException ToHypervisorException(LibvirtException error, string what) =>
        new(Classify(error.Code), $"{what}: {error.Message} ({error.CodeName})", nativeCode: error.CodeName, innerException: error);

    /// <summary>Throws the last error of this thread, described by <paramref name="what"/>.</summary>
    public static HypervisorException Fail(string what) => ToHypervisorException(Last($"{what} failed"), what);
}
