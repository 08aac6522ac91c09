using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary><c>POST /dependencies</c>, <c>GET/DELETE /dependencies/{vm}</c>: declarations, parsed by the library's strict parser.</summary>
internal static class DependencyEndpoints
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapPost("/dependencies", DeclareAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("DeclareDependencies").WithSummary("Adds or replaces one declaration or a batch (an array); all or nothing.")
            .WithMetadata(new JsonBody(typeof(object))).Produces<DeclarationsAccepted>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        g.MapGet("/dependencies/{vm}", Get).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetDependencies").WithSummary("A VM's declaration, in the declaration format.")
            .Produces<object>(contentType: "application/json").ProducesProblem(StatusCodes.Status404NotFound);
        g.MapDelete("/dependencies/{vm}", RemoveAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("RemoveDependencies").WithSummary("Removes a VM's declaration.")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>What <c>POST /dependencies</c> accepted.</summary>
    internal sealed record DeclarationsAccepted(int Accepted, IReadOnlyList<string> Vms);

    private static async Task<IResult> DeclareAsync(HttpContext http, EcosystemRuntime runtime, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken)
    {
        int limit = options.Value.MaxRequestBodyBytes;
        if (OpenApiBodies.RequireJson(http.Request) is { } unsupported)
        {
            return unsupported;
        }

        if (await RequestBody.ReadAsync(http, limit, cancellationToken).ConfigureAwait(false) is not { } body)
        {
            return RequestBody.TooLarge(limit);
        }

        if (runtime.Ecosystem is null)
        {
            return Problems.Conflict("the ecosystem map is off: enable it with UseEcosystem(...) or the VmEcosystem:Ecosystem section");
        }

        var setup = http.RequestServices.GetService<EcosystemSetup>();
        var parserOptions = (setup?.Options.Parser ?? new DeclarationParserOptions()) with { MaxDocumentBytes = limit };
        var result = new DeclarationParser(parserOptions, setup?.Options.Profiles).Parse(body);
        if (!result.Success)
        {
            return Problems.Validation(result.Errors.Select(e => (e.Path, e.Message)), "The declarations are not valid.");
        }

        if (result.Declarations.Count == 0)
        {
            return Problems.Validation("$", "expected at least one declaration");
        }

        for (int i = 0; i < result.Declarations.Count; i++)
        {
            try
            {
                await runtime.SetDeclarationAsync(result.Declarations[i], cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException ex)
            {
                return Problems.Validation(result.Declarations.Count == 1 ? "$" : $"$[{i}]", ex.Message);
            }
            catch (InvalidOperationException ex)
            {
                return Problems.Unavailable($"declaration {i} ('{result.Declarations[i].VmName}') was not recorded: {ex.Message}");
            }
        }

        return TypedResults.Json(new DeclarationsAccepted(result.Declarations.Count, [.. result.Declarations.Select(d => d.VmName)]), ApiJson.Options);
    }

    private static IResult Get(string vm, EcosystemRuntime runtime)
    {
        if (runtime.Ecosystem is not { } snapshot)
        {
            return Problems.Conflict("the ecosystem map is off");
        }

        var declaration = snapshot.Declarations.FirstOrDefault(d => string.Equals(d.VmName, vm, StringComparison.Ordinal));
        return declaration is null
            ? Problems.NotFound($"no declaration for VM '{vm}'")
            : TypedResults.Content(DeclarationWriter.ToJson(declaration), "application/json");
    }

    private static async Task<IResult> RemoveAsync(string vm, EcosystemRuntime runtime, CancellationToken cancellationToken)
    {
        if (runtime.Ecosystem is null)
        {
            return Problems.Conflict("the ecosystem map is off");
        }

        try
        {
            return await runtime.RemoveDeclarationAsync(vm, cancellationToken).ConfigureAwait(false)
                ? TypedResults.NoContent()
                : Problems.NotFound($"no declaration for VM '{vm}'");
        }
        catch (InvalidOperationException ex)
        {
            return Problems.Unavailable(ex.Message);
        }
    }
}
