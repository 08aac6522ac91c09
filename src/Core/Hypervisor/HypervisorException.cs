namespace VmEcosystem.Hypervisor;

/// <summary>Why a provider call failed; stable across providers so callers can react without parsing messages.</summary>
public enum HypervisorErrorKind
{
    /// <summary>The caller passed something invalid.</summary>
    InvalidArgument = 0,

    /// <summary>The host or VM does not exist (any more).</summary>
    NotFound = 1,

    /// <summary>The provider (or this host) cannot do this.</summary>
    NotSupported = 2,

    /// <summary>The object is in a state that forbids the call (for example a migration already runs to another host).</summary>
    Conflict = 3,

    /// <summary>Not enough capacity on the destination.</summary>
    InsufficientCapacity = 4,

    /// <summary>The hypervisor or host cannot be reached, or the connection was closed.</summary>
    Unavailable = 5,

    /// <summary>The call did not finish in time.</summary>
    Timeout = 6,

    /// <summary>The provider failed for another reason; see the inner exception.</summary>
    ProviderFault = 7,
}

/// <summary>
/// The one exception type provider calls throw (besides <see cref="OperationCanceledException"/> when the
/// caller's token fires). Carries a stable <see cref="Kind"/>, the provider and operation, and the provider's
/// native error code and message when there is one.
/// </summary>
public sealed class HypervisorException : Exception
{
    /// <summary>Creates an exception.</summary>
    public HypervisorException(
        HypervisorErrorKind kind,
        string message,
        string? provider = null,
        string? operation = null,
        string? nativeCode = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        Provider = provider;
        Operation = operation;
        NativeCode = nativeCode;
    }

    /// <summary>Why the call failed.</summary>
    public HypervisorErrorKind Kind { get; }

    /// <summary>The provider's name.</summary>
    public string? Provider { get; }

    /// <summary>The contract operation that failed.</summary>
    public string? Operation { get; }

    /// <summary>The provider's own error code, when it has one (for example libvirt's <c>VIR_ERR_*</c> number).</summary>
    public string? NativeCode { get; }

    /// <summary>True for failures that may succeed when retried later (unavailable, timeout).</summary>
    public bool IsTransient => Kind is HypervisorErrorKind.Unavailable or HypervisorErrorKind.Timeout;

    /// <summary>Returns a copy that names the provider and operation, keeping everything else.</summary>
    internal HypervisorException WithContext(string provider, string operation) =>
        Provider is not null && Operation is not null
            ? this
            : new HypervisorException(Kind, Message, Provider ?? provider, Operation ?? operation, NativeCode, InnerException ?? this);
}
