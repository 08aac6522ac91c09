using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.VSphere.Soap;

/// <summary>
/// A fault the vSphere server returned (a SOAP fault, a <c>missingSet</c> entry, or a task's <c>info.error</c>):
/// the fault type (<c>ManagedObjectNotFound</c>, <c>InvalidLogin</c>, ...) and the server's message. Never carries
/// the request, so a password or session cookie cannot end up in its text.
/// </summary>
internal sealed class VimFault(string faultType, string message) : Exception(message)
{
    /// <summary>The vim25 fault type, without the <c>Fault</c> suffix some servers add to the element name.</summary>
    public string FaultType { get; } = faultType.EndsWith("Fault", StringComparison.Ordinal) && faultType != "InsufficientResourcesFault"
        ? faultType[..^"Fault".Length]
        : faultType;

    public bool IsNotAuthenticated => FaultType is "NotAuthenticated";

    /// <summary>The contract's error kind for this fault.</summary>
    public HypervisorErrorKind Kind => FaultType switch
    {
        "ManagedObjectNotFound" => HypervisorErrorKind.NotFound,
        "InvalidArgument" or "InvalidRequest" or "InvalidType" or "InvalidProperty" or "InvalidLogin" => HypervisorErrorKind.InvalidArgument,
        "TaskInProgress" or "InvalidState" or "InvalidPowerState" or "ConcurrentAccess" or "RequestCanceled" => HypervisorErrorKind.Conflict,
        "InsufficientResourcesFault" or "InsufficientResources" or "InsufficientHostCapacityFault" or "InsufficientMemoryResourcesFault"
            or "InsufficientCpuResourcesFault" => HypervisorErrorKind.InsufficientCapacity,
        "NotSupported" or "MethodNotFound" or "CpuHotPlugNotSupported" or "MemoryHotPlugNotSupported" => HypervisorErrorKind.NotSupported,
        "NotAuthenticated" or "HostNotConnected" or "HostCommunication" or "HostNotReachable" => HypervisorErrorKind.Unavailable,
        "Timedout" => HypervisorErrorKind.Timeout,
        _ => HypervisorErrorKind.ProviderFault,
    };

    /// <summary>The contract's exception for this fault, keeping the server's message and fault type.</summary>
    public HypervisorException ToHypervisorException(string provider, string operation, string? what = null) =>
        new(Kind, $"{operation} failed on vSphere{(what is null ? "" : $" ({what})")}: {FaultType}: {Message}", provider, operation, FaultType, this);
}
