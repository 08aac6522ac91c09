using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Rollout;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary>
/// Configuration versions and rollouts (when <c>AddConfigurationRollout</c> is used; 404 otherwise):
/// <c>GET /configurations/{vm}/versions</c>, <c>GET /configurations/{vm}/diff?from=&amp;to=</c>,
/// <c>POST /configurations/{vm}/revert</c>, <c>POST /rollouts</c>, <c>GET /rollouts/{id}</c>.
/// </summary>
internal static class ConfigurationEndpoints
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/configurations/{vm}/versions", Versions).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetConfigurationVersions").WithSummary("Every configuration the VM has had, oldest first: settings, parents, origin, score, time.")
            .Produces<IReadOnlyList<ConfigurationVersion>>().ProducesProblem(StatusCodes.Status404NotFound);
        g.MapGet("/configurations/{vm}/diff", Diff).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("DiffConfigurationVersions").WithSummary("The settings that changed from version 'from' to version 'to'.")
            .Produces<IReadOnlyList<SettingChange>>().ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem();
        g.MapPost("/configurations/{vm}/revert", RevertAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("RevertConfiguration").WithSummary("Puts the VM back on one of its versions (body: {\"version\": n}) as a new version, through the executor.")
            .WithMetadata(new JsonBody(typeof(RevertBody))).Produces(StatusCodes.Status202Accepted).ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem();
        g.MapPost("/rollouts", StartAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("StartRollout").WithSummary("Starts an A/B rollout of a configuration over VMs (body: id, vms, settings, origin).")
            .WithMetadata(new JsonBody(typeof(RolloutBody))).Produces(StatusCodes.Status202Accepted).ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem();
        g.MapGet("/rollouts/{id}", Rollout).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetRollout").WithSummary("A rollout's state, its VMs, how many run the new configuration, and the last decision with its figures.")
            .Produces<RolloutStatus>().ProducesProblem(StatusCodes.Status404NotFound);
    }

    internal sealed record RevertBody(int Version);

    internal sealed record RolloutBody(string Id, IReadOnlyList<string> Vms, IReadOnlyDictionary<string, string> Settings, string? Origin);

    private const string Disabled = "configuration rollouts are not enabled (AddConfigurationRollout)";

    private static IResult Versions(string vm, IServiceProvider services) =>
        services.GetService<IConfigurationRollouts>() is { } rollouts
            ? TypedResults.Json(rollouts.Versions(new VmId(vm)), ApiJson.Options)
            : Problems.NotFound(Disabled);

    private static IResult Diff(string vm, HttpRequest request, IServiceProvider services)
    {
        if (services.GetService<IConfigurationRollouts>() is not { } rollouts)
        {
            return Problems.NotFound(Disabled);
        }

        var errors = new List<(string, string)>();
        int? from = Version(request, "from", errors), to = Version(request, "to", errors);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        try
        {
            return TypedResults.Json(rollouts.Diff(new VmId(vm), from!.Value, to!.Value), ApiJson.Options);
        }
        catch (KeyNotFoundException ex)
        {
            return Problems.NotFound(ex.Message);
        }
    }

    private static int? Version(HttpRequest request, string name, List<(string, string)> errors)
    {
        if (int.TryParse(request.Query[name], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= 1)
        {
            return v;
        }

        errors.Add((name, "expected a version number (1 or more)"));
        return null;
    }

    private static IResult Rollout(string id, IServiceProvider services) =>
        services.GetService<IConfigurationRollouts>() is not { } rollouts ? Problems.NotFound(Disabled)
        : rollouts.GetStatus(id) is { } status ? TypedResults.Json(status, ApiJson.Options)
        : Problems.NotFound($"no rollout '{id}'");

    private static async Task<IResult> RevertAsync(string vm, HttpContext http, IServiceProvider services, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken)
    {
        if (services.GetService<IConfigurationRollouts>() is not { } rollouts)
        {
            return Problems.NotFound(Disabled);
        }

        var (root, problem) = await ReadObjectAsync(http, options.Value, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new List<(string, string)>();
        double? version = new JsonFields(root, errors, "version").Number("version", 1, int.MaxValue, integer: true);
        if (version is null && errors.Count == 0)
        {
            errors.Add(("$.version", "required"));
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        try
        {
            rollouts.Revert(new VmId(vm), (int)version!.Value);
            return TypedResults.Accepted((string?)null);
        }
        catch (ArgumentException ex)
        {
            return Problems.NotFound(ex.Message);
        }
    }

    private static async Task<IResult> StartAsync(HttpContext http, IServiceProvider services, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken)
    {
        if (services.GetService<IConfigurationRollouts>() is not { } rollouts)
        {
            return Problems.NotFound(Disabled);
        }

        var (root, problem) = await ReadObjectAsync(http, options.Value, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var errors = new List<(string, string)>();
        var fields = new JsonFields(root, errors, "id", "vms", "settings", "origin");
        string? id = fields.Text("id", required: true, maxLength: 128);
        string origin = fields.Text("origin", maxLength: 256) ?? "api";
        var vms = Strings(root, "vms", errors);
        var settings = Settings(root, errors);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        try
        {
            rollouts.Start(new RolloutRequest(id!, [.. vms.Select(v => new VmId(v))], settings, origin));
            return TypedResults.Accepted($"rollouts/{id}");
        }
        catch (InvalidOperationException ex)
        {
            return Problems.Conflict(ex.Message);
        }
        catch (ArgumentException ex)
        {
            return Problems.Validation("$", ex.Message);
        }
    }

    internal static List<string> Strings(JsonElement root, string name, List<(string, string)> errors)
    {
        var list = new List<string>();
        if (!root.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() is 0 or > 10_000)
        {
            errors.Add(($"$.{name}", "expected an array of 1 to 10000 VM ids"));
            return list;
        }

        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && Safe(item) is { Length: > 0 and <= 256 } s)
            {
                list.Add(s);
            }
            else
            {
                errors.Add(($"$.{name}[{i}]", "expected a VM id (1 to 256 characters)"));
            }

            i++;
        }

        return list;
    }

    /// <summary>
    /// The object <paramref name="field"/> as setting names to values: strings, and with <paramref name="scalars"/>
    /// numbers and booleans too, taken as written; at least one setting.
    /// </summary>
    internal static Dictionary<string, string> Settings(JsonElement root, List<(string, string)> errors, string field = "settings", bool scalars = false)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        string kinds = scalars ? "string, number or boolean" : "string";
        if (!root.TryGetProperty(field, out var obj) || obj.ValueKind != JsonValueKind.Object)
        {
            errors.Add(($"$.{field}", $"expected an object of setting names to {kinds} values"));
            return settings;
        }

        foreach (var p in obj.EnumerateObject())
        {
            string? name = null;
            try
            {
                name = p.Name;
            }
            catch (InvalidOperationException)
            {
            }

            string? value = p.Value.ValueKind switch
            {
                JsonValueKind.String => Safe(p.Value),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False when scalars => p.Value.GetRawText(),
                _ => null,
            };
            if (name is not { Length: > 0 and <= 128 } || value is not { Length: <= 1024 })
            {
                errors.Add(($"$.{field}.{name ?? "?"}", $"expected a setting name (1 to 128 characters) with a {kinds} value (up to 1024 characters)"));
                continue;
            }

            settings[name] = value;
        }

        if (settings.Count == 0 && errors.Count == 0)
        {
            errors.Add(($"$.{field}", "expected at least one setting"));
        }

        return settings;
    }

    internal static string? Safe(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null; // a lone surrogate escape
        }
    }

    internal static async Task<(JsonElement Root, IResult? Problem)> ReadObjectAsync(HttpContext http, VmEcosystemApiOptions options, CancellationToken cancellationToken)
    {
        if (OpenApiBodies.RequireJson(http.Request) is { } unsupported)
        {
            return (default, unsupported);
        }

        if (await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false) is not { } body)
        {
            return (default, RequestBody.TooLarge(options.MaxRequestBodyBytes));
        }

        using var document = RequestBody.ParseJson(body, out string? syntax);
        if (document is null)
        {
            return (default, Problems.Validation("$", syntax!));
        }

        return document.RootElement.ValueKind == JsonValueKind.Object
            ? (document.RootElement.Clone(), null)
            : (default, Problems.Validation("$", "expected an object"));
    }
}
