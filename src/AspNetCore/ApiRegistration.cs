using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VmEcosystem.Hosting;

namespace VmEcosystem.AspNetCore;

/// <summary>Registers the HTTP API's services on the library's builder; map it with <see cref="VmEcosystemEndpoints.MapVmEcosystemApi"/>.</summary>
public static class VmEcosystemApiBuilderExtensions
{
    /// <summary>
    /// Adds the HTTP API's services: options (section <c>VmEcosystem:Api</c>, validated at start), the authorization
    /// policies <see cref="VmEcosystemPolicies.Read"/>, <see cref="VmEcosystemPolicies.Operate"/> and
    /// <see cref="VmEcosystemPolicies.Internal"/> (unless the application defines them), a deny-all authentication
    /// scheme when the application registers none, problem details, the OpenAPI document <c>vmecosystem</c> and
    /// the health check <c>vmecosystem</c>.
    /// </summary>
    public static VmEcosystemBuilder AddHttpApi(this VmEcosystemBuilder builder, Action<VmEcosystemApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<VmEcosystemApiOptions>();
        if (builder.Section("Api") is { } section && section.Exists())
        {
            options.Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VmEcosystemApiOptions>, ApiOptionsValidator>());
        services.TryAddSingleton<ApiMarker>();
        services.TryAddSingleton<IdempotencyKeys>();
        services.TryAddSingleton<ApiRateLimit>();
        services.TryAddSingleton<ApiErrors>();
        services.AddProblemDetails();
        services.AddAuthentication();
        services.AddAuthorization();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<AuthorizationOptions>, ScopePolicies>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<AuthenticationOptions>, DenyWhenNoScheme>());
        services.AddOpenApi(VmEcosystemEndpoints.DocumentName, o =>
        {
            o.ShouldInclude = d => d.GroupName == VmEcosystemEndpoints.DocumentName;
            o.AddOperationTransformer(OpenApiBodies.DescribeAsync);
        });
        services.AddHealthChecks().AddCheck<RuntimeHealthCheck>("vmecosystem", tags: ["vmecosystem"]);
        return builder;
    }

    private sealed class ApiOptionsValidator : IValidateOptions<VmEcosystemApiOptions>
    {
        public ValidateOptionsResult Validate(string? name, VmEcosystemApiOptions options) =>
            options.Validate().ToList() is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}

/// <summary>Present when <see cref="VmEcosystemApiBuilderExtensions.AddHttpApi"/> ran (mapping checks it).</summary>
internal sealed class ApiMarker;

/// <summary>The three policies, each satisfied by its scopes in any of the configured claim types.</summary>
internal sealed class ScopePolicies(IOptions<VmEcosystemApiOptions> api) : IConfigureOptions<AuthorizationOptions>
{
    public void Configure(AuthorizationOptions options)
    {
        Add(options, VmEcosystemPolicies.Read, VmEcosystemPolicies.ReadScope, VmEcosystemPolicies.OperateScope);
        Add(options, VmEcosystemPolicies.Operate, VmEcosystemPolicies.OperateScope);
        Add(options, VmEcosystemPolicies.Internal, VmEcosystemPolicies.InternalScope);
    }

    private void Add(AuthorizationOptions options, string name, params string[] scopes)
    {
        if (options.GetPolicy(name) is not null)
        {
            return; // the application's own definition wins
        }

        var claimTypes = api.Value.ScopeClaimTypes.ToArray();
        options.AddPolicy(name, p => p.RequireAuthenticatedUser().RequireAssertion(c => HasScope(c.User, claimTypes, scopes)));
    }

    internal static bool HasScope(ClaimsPrincipal user, string[] claimTypes, string[] scopes)
    {
        foreach (var claim in user.Claims)
        {
            if (Array.IndexOf(claimTypes, claim.Type) < 0)
            {
                continue;
            }

            foreach (var part in claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (Array.IndexOf(scopes, part) >= 0)
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>
/// With no authentication scheme registered by the application, every API call must be denied (401), not fail
/// with "no scheme": this adds a scheme that authenticates nobody.
/// </summary>
internal sealed class DenyWhenNoScheme : IPostConfigureOptions<AuthenticationOptions>
{
    public const string Scheme = "VmEcosystem.DenyAll";

    public void PostConfigure(string? name, AuthenticationOptions options)
    {
        if (options.Schemes.Any() || options.DefaultScheme is not null || options.DefaultChallengeScheme is not null)
        {
            return;
        }

        options.AddScheme<DenyAllHandler>(Scheme, null);
        options.DefaultScheme = Scheme;
    }

    private sealed class DenyAllHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
    }
}

/// <summary>Healthy while the runtime runs with every loop alive and its audit store writing.</summary>
internal sealed class RuntimeHealthCheck(Runtime.EcosystemRuntime runtime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var s = runtime.Status;
        var data = new Dictionary<string, object>
        {
            ["mode"] = s.Mode.ToString(),
            ["loopsAlive"] = string.Join(",", s.LoopsAlive),
            ["auditFailures"] = s.AuditFailures,
            ["pendingApprovals"] = s.PendingApprovals,
        };
        if (!s.Running)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the runtime is not running", data: data));
        }

        if (s.AuditLost > 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"{s.AuditLost} audit records were lost", data: data));
        }

        return Task.FromResult(s.AuditFailures > 0 || s.LoopErrors.Values.Sum() > 0
            ? HealthCheckResult.Degraded($"{s.AuditFailures} audit write failures, {s.LoopErrors.Values.Sum()} loop errors", data: data)
            : HealthCheckResult.Healthy("running", data));
    }
}
