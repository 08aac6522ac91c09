using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.AspNetCore.Endpoints;

namespace VmEcosystem.AspNetCore;

/// <summary>Maps the HTTP API and the dashboard onto the application's endpoints.</summary>
public static class VmEcosystemEndpoints
{
    /// <summary>The OpenAPI document's name (served at <c>{prefix}/openapi/vmecosystem.json</c>).</summary>
    public const string DocumentName = "vmecosystem";

    /// <summary>
    /// Maps every endpoint under <paramref name="prefix"/>, each with its authorization policy (read, operate or
    /// internal; nothing is anonymous but the dashboard's static page), the per-caller rate limit, problem-details
    /// errors, and the OpenAPI document. Requires <see cref="VmEcosystemApiBuilderExtensions.AddHttpApi"/>.
    /// </summary>
    /// <returns>The group, for the application's own conventions (CORS, more filters, a different policy).</returns>
    /// <exception cref="InvalidOperationException">The API's services were not added.</exception>
    public static RouteGroupBuilder MapVmEcosystemApi(this IEndpointRouteBuilder endpoints, string prefix = "/vmeco")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        if (endpoints.ServiceProvider.GetService<ApiMarker>() is null)
        {
            throw new InvalidOperationException("MapVmEcosystemApi needs the API's services: call AddVmEcosystem(b => b.AddHttpApi()) first.");
        }

        var errors = endpoints.ServiceProvider.GetRequiredService<ApiErrors>();
        var limit = endpoints.ServiceProvider.GetRequiredService<ApiRateLimit>();
        var group = endpoints.MapGroup(prefix).WithGroupName(DocumentName).WithTags("VmEcosystem");
        group.AddEndpointFilter(errors.InvokeAsync).AddEndpointFilter(limit.InvokeAsync);
        DependencyEndpoints.Map(group);
        ClusterEndpoints.Map(group);
        ActionEndpoints.Map(group);
        DecisionEndpoints.Map(group);
        AuditEndpoints.Map(group);
        ConfigurationEndpoints.Map(group);
        BorrowingEndpoints.Map(group);
        TuningEndpoints.Map(group);
        var options = endpoints.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<VmEcosystemApiOptions>>().Value;
        if (options.Dashboard)
        {
            group.MapGet("/dashboard", Dashboard).AllowAnonymous().ExcludeFromDescription();
        }

        endpoints.MapOpenApi(prefix.TrimEnd('/') + "/openapi/{documentName}.json").RequireAuthorization(VmEcosystemPolicies.Read);
        return group;
    }

    private static readonly Lazy<byte[]> DashboardPage = new(() =>
    {
        using var stream = typeof(VmEcosystemEndpoints).Assembly.GetManifestResourceStream("VmEcosystem.AspNetCore.Dashboard.dashboard.html")
            ?? throw new InvalidOperationException("The dashboard page is missing from the package.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    private static IResult Dashboard(HttpContext http)
    {
        // The page runs only its own script and talks only to this server.
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return TypedResults.Bytes(DashboardPage.Value, "text/html; charset=utf-8");
    }
}
