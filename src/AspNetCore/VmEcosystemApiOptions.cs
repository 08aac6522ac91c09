namespace VmEcosystem.AspNetCore;

/// <summary>
/// Settings of the HTTP API (section <c>VmEcosystem:Api</c> when bound from configuration); validated at start,
/// each message naming the setting.
/// </summary>
public sealed class VmEcosystemApiOptions
{
    /// <summary>The largest request body accepted, bytes (larger ones get 413). Default 1 MiB.</summary>
    public int MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Requests per second each caller (user name, or remote address when anonymous) may make; 0 turns the limit off.</summary>
    public double RequestsPerSecond { get; set; } = 50;

    /// <summary>Requests a caller may make at once above the steady rate.</summary>
    public int Burst { get; set; } = 100;

    /// <summary>How long an <c>Idempotency-Key</c> is remembered with its answer.</summary>
    public TimeSpan IdempotencyKeyLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How many idempotency keys are remembered at most (the oldest are forgotten first).</summary>
    public int IdempotencyKeyCapacity { get; set; } = 10_000;

    /// <summary>The largest page of a paged answer (<c>limit</c> above it is an error).</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>
    /// The claim types read for scopes: a claim's value may hold several scopes separated by spaces (OAuth's
    /// <c>scope</c>), and role claims count too.
    /// </summary>
    public IList<string> ScopeClaimTypes { get; } = ["scope", "scp", System.Security.Claims.ClaimTypes.Role];

    /// <summary>Serve the dashboard page at <c>{prefix}/dashboard</c> (the page holds no data; every call it makes is authorized).</summary>
    public bool Dashboard { get; set; } = true;

    internal IEnumerable<string> Validate()
    {
        const string p = "VmEcosystem:Api:";
        if (MaxRequestBodyBytes < 1024)
        {
            yield return $"{p}MaxRequestBodyBytes must be at least 1024; got {MaxRequestBodyBytes}.";
        }

        if (RequestsPerSecond < 0 || double.IsNaN(RequestsPerSecond) || double.IsInfinity(RequestsPerSecond))
        {
            yield return $"{p}RequestsPerSecond must be 0 (off) or a positive number; got {RequestsPerSecond}.";
        }

        if (Burst < 1)
        {
            yield return $"{p}Burst must be at least 1; got {Burst}.";
        }

        if (IdempotencyKeyLifetime <= TimeSpan.Zero)
        {
            yield return $"{p}IdempotencyKeyLifetime must be positive; got {IdempotencyKeyLifetime}.";
        }

        if (IdempotencyKeyCapacity < 1)
        {
            yield return $"{p}IdempotencyKeyCapacity must be at least 1; got {IdempotencyKeyCapacity}.";
        }

        if (MaxPageSize < 1)
        {
            yield return $"{p}MaxPageSize must be at least 1; got {MaxPageSize}.";
        }

        if (ScopeClaimTypes.Count == 0)
        {
            yield return $"{p}ScopeClaimTypes must name at least one claim type.";
        }
    }
}

/// <summary>The authorization policies the API's endpoints require, and the scopes that satisfy them.</summary>
public static class VmEcosystemPolicies
{
    /// <summary>Reading: the ecosystem, the cluster, plans, decisions, audit, status, policies.</summary>
    public const string Read = "VmEcosystem.Read";

    /// <summary>Operating: declaring dependencies, approving or rejecting plans, changing policies, manual adjustments.</summary>
    public const string Operate = "VmEcosystem.Operate";

    /// <summary>Internal callers (other services of the control plane): <c>POST /migrate</c>.</summary>
    public const string Internal = "VmEcosystem.Internal";

    /// <summary>The scope that grants <see cref="Read"/> (<see cref="OperateScope"/> grants it too).</summary>
    public const string ReadScope = "vmecosystem.read";

    /// <summary>The scope that grants <see cref="Operate"/> (and <see cref="Read"/>).</summary>
    public const string OperateScope = "vmecosystem.operate";

    /// <summary>The scope that grants <see cref="Internal"/> (and nothing else).</summary>
    public const string InternalScope = "vmecosystem.internal";
}
