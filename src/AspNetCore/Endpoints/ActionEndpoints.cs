using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary>
/// <c>POST /migrate</c> (internal scope) and <c>POST /adjustments</c> (operate scope): requests that go through the
/// runtime's checks, its executor's limits and modes, and the audit (never a provider call from here); both honour
/// <c>Idempotency-Key</c>. <c>GET /requests/{id}</c> follows one.
/// </summary>
internal static class ActionEndpoints
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapPost("/migrate", MigrateAsync).RequireAuthorization(VmEcosystemPolicies.Internal)
            .WithName("RequestMigration").WithSummary("Requests a live migration (target optional); checked like the runtime's own moves. Honours Idempotency-Key.")
            .WithMetadata(new JsonBody(typeof(MigrateBody))).Produces<ActionRequest>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        g.MapPost("/adjustments", AdjustAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("RequestAdjustment").WithSummary("Requests a change of a running VM's vCPUs and/or memory; checked and executed like the resizing controller's. Honours Idempotency-Key.")
            .WithMetadata(new JsonBody(typeof(AdjustmentBody))).Produces<ActionRequest>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        g.MapGet("/requests/{id}", GetAsync).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetRequest").WithSummary("Where a requested action stands (from the audit trail).")
            .Produces<ActionRequest>().ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>The body of <c>POST /migrate</c>.</summary>
    internal sealed record MigrateBody(string Vm, string? Target, string? Reason);

    /// <summary>The body of <c>POST /adjustments</c>.</summary>
    internal sealed record AdjustmentBody(string Vm, int? Vcpus, double? MemoryMiB, string? Reason);

    private static Task<IResult> MigrateAsync(HttpContext http, IEcosystemControl control, IdempotencyKeys keys, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken) =>
        RunAsync(http, "migrate", keys, options.Value, cancellationToken, root =>
        {
            var errors = new List<(string, string)>();
            var fields = new JsonFields(root, errors, "vm", "target", "reason");
            string? vm = fields.Text("vm", required: true);
            string? target = fields.Text("target");
            string? reason = fields.Text("reason");
            return (errors, vm is null ? null : ct => control.RequestMigrationAsync(new VmId(vm), target is null ? null : new HostId(target), reason ?? "requested through the API", ct));
        });

    private static Task<IResult> AdjustAsync(HttpContext http, IEcosystemControl control, IdempotencyKeys keys, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken) =>
        RunAsync(http, "adjustments", keys, options.Value, cancellationToken, root =>
        {
            var errors = new List<(string, string)>();
            var fields = new JsonFields(root, errors, "vm", "vcpus", "memoryMiB", "reason");
            string? vm = fields.Text("vm", required: true);
            double? vcpus = fields.Number("vcpus", 1, 4096, integer: true);
            double? memory = fields.Number("memoryMiB", 1, 64 * 1024 * 1024);
            string? reason = fields.Text("reason");
            if (errors.Count == 0 && vcpus is null && memory is null)
            {
                errors.Add(("$", "expected vcpus, memoryMiB or both"));
            }

            var request = new HotPlugRequest(vcpus is { } c ? (int)c : null, memory);
            return (errors, vm is null ? null : ct => control.RequestHotPlugAsync(new VmId(vm), request, reason ?? "requested through the API", ct));
        });

    private static async Task<IResult> RunAsync(
        HttpContext http, string endpoint, IdempotencyKeys keys, VmEcosystemApiOptions options, CancellationToken cancellationToken,
        Func<JsonElement, (List<(string, string)> Errors, Func<CancellationToken, Task<ActionRequest>>? Call)> read)
    {
        if (OpenApiBodies.RequireJson(http.Request) is { } unsupported)
        {
            return unsupported;
        }

        if (await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false) is not { } body)
        {
            return RequestBody.TooLarge(options.MaxRequestBodyBytes);
        }

        using var document = RequestBody.ParseJson(body, out string? syntax);
        if (document is null)
        {
            return Problems.Validation("$", syntax!);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            return Problems.Validation("$", $"expected an object; got {document.RootElement.ValueKind.ToString().ToLowerInvariant()}");
        }

        var (errors, call) = read(document.RootElement);
        if (errors.Count > 0 || call is null)
        {
            return Problems.Validation(errors);
        }

        return await keys.RunAsync(http, endpoint, body, async () =>
        {
            try
            {
                var request = await call(cancellationToken).ConfigureAwait(false);
                return new IdempotencyKeys.Answer(
                    request.State == RequestState.Refused ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status202Accepted, request);
            }
            catch (ArgumentException ex)
            {
                return new IdempotencyKeys.Answer(StatusCodes.Status400BadRequest, Refusal(StatusCodes.Status400BadRequest, "The request is not valid.", ex.Message));
            }
            catch (InvalidOperationException ex)
            {
                return new IdempotencyKeys.Answer(StatusCodes.Status503ServiceUnavailable, Refusal(StatusCodes.Status503ServiceUnavailable, "Not available.", ex.Message));
            }
        }).ConfigureAwait(false);
    }

    // A problem-details body the idempotency store can keep and replay.
    private static Dictionary<string, object?> Refusal(int status, string title, string detail) => new()
    {
        ["type"] = "https://tools.ietf.org/html/rfc9110",
        ["title"] = title,
        ["status"] = status,
        ["detail"] = detail,
    };

    private static async Task<IResult> GetAsync(string id, IEcosystemControl control, CancellationToken cancellationToken) =>
        await control.GetRequestAsync(id, cancellationToken).ConfigureAwait(false) is { } request
            ? TypedResults.Json(request, ApiJson.Options)
            : Problems.NotFound($"no request '{id}'");
}

/// <summary>Reads the fields of a small request object strictly: unknown fields and wrong types are errors naming their path.</summary>
internal sealed class JsonFields
{
    private readonly JsonElement _root;
    private readonly List<(string, string)> _errors;

    public JsonFields(JsonElement root, List<(string, string)> errors, params string[] known)
    {
        _root = root;
        _errors = errors;
        foreach (var p in root.EnumerateObject())
        {
            string name;
            try
            {
                name = p.Name;
            }
            catch (InvalidOperationException)
            {
                errors.Add(("$", "a field name is not a valid Unicode string"));
                continue;
            }

            if (Array.IndexOf(known, name) < 0)
            {
                errors.Add(($"$.{name}", $"unknown field; expected one of {string.Join(", ", known)}"));
            }
        }
    }

    public string? Text(string name, bool required = false, int maxLength = 1024)
    {
        if (!_root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                _errors.Add(($"$.{name}", "required"));
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            _errors.Add(($"$.{name}", $"expected a string; got {value.ValueKind.ToString().ToLowerInvariant()}"));
            return null;
        }

        string text;
        try
        {
            text = value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            _errors.Add(($"$.{name}", "not a valid Unicode string (a lone surrogate escape)"));
            return null;
        }

        if (string.IsNullOrWhiteSpace(text) || text.Length > maxLength)
        {
            _errors.Add(($"$.{name}", $"expected 1 to {maxLength} characters, not only spaces"));
            return null;
        }

        return text;
    }

    public double? Number(string name, double min, double max, bool integer = false)
    {
        if (!_root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number) || number < min || number > max
            || (integer && number != Math.Floor(number)))
        {
            _errors.Add(($"$.{name}", $"expected {(integer ? "an integer" : "a number")} from {min} to {max}"));
            return null;
        }

        return number;
    }
}
