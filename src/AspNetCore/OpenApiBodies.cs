using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace VmEcosystem.AspNetCore;

/// <summary>
/// The JSON body an endpoint reads itself, for the OpenAPI document only. Not <c>Accepts</c>: that makes routing
/// answer a wrong content type with an empty 415; the handlers answer it with a problem instead.
/// </summary>
internal sealed record JsonBody(Type Type);

/// <summary>Describes <see cref="JsonBody"/> request bodies in the OpenAPI document.</summary>
internal static class OpenApiBodies
{
    public static async Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonBody>().FirstOrDefault() is not { } body)
        {
            return;
        }

        var schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken).ConfigureAwait(false);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = body.Type != typeof(Endpoints.DecisionEndpoints.RejectBody),
            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
        };
    }

    /// <summary>Null when the request's content type is JSON or absent; otherwise the 415 problem.</summary>
    public static IResult? RequireJson(HttpRequest request)
    {
        var type = request.ContentType;
        if (string.IsNullOrEmpty(type) || request.HasJsonContentType())
        {
            return null;
        }

        return Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.", $"expected application/json; got {type}");
    }
}
