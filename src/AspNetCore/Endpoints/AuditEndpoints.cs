using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Policies;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary><c>GET /audit</c>, <c>GET /adjustments</c>, <c>GET /status</c>, <c>GET/PUT /policies</c>.</summary>
internal static class AuditEndpoints
{
    private static readonly AuditKind[] AdjustmentKinds = [AuditKind.ActionIntended, AuditKind.ActionStarted, AuditKind.ActionSucceeded, AuditKind.ActionFailed];

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/audit", AuditAsync).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetAudit").WithSummary("The audit trail, oldest first, filtered by vm, host, kind (repeatable), controller, plan, from, to; page on with after=next.")
            .Produces<AuditPage>().ProducesValidationProblem();
        g.MapGet("/adjustments", AdjustmentsAsync).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetAdjustments").WithSummary("Resizes and resource-control changes with their outcomes (audit records of non-migration actions).")
            .Produces<AuditPage>().ProducesValidationProblem();
        g.MapGet("/status", Status).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetStatus").WithSummary("The runtime's counters and state.").Produces<StatusItem>();
        g.MapGet("/policies", Policies).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetPolicies").WithSummary("The resizing policy document in force, its version, and every version loaded.")
            .Produces<PoliciesItem>().ProducesProblem(StatusCodes.Status409Conflict);
        g.MapPut("/policies", PutPoliciesAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("PutPolicies").WithSummary("Replaces the resizing policies (validated strictly; a new version, audited when first used).")
            .WithMetadata(new JsonBody(typeof(object))).Produces<PoliciesItem>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
    }

    internal sealed record AuditPage(IReadOnlyList<AuditItem> Items, long? Next);

    internal sealed record AuditItem(
        long Sequence, DateTimeOffset Timestamp, AuditKind Kind, string? Controller, string? PlanId, VmId? Vm, HostId? Source, HostId? Target,
        string Message, JsonElement? Detail);

    internal sealed record StatusItem(
        bool Running, ExecutionMode Mode, long Observations, long PlanningPasses, long MigrationsStarted, long MigrationsSucceeded,
        long MigrationsFailed, long MigrationsSkipped, int MigrationsRunning, int PendingApprovals, int Reservations,
        IReadOnlyList<HostId> HostsInMaintenance, IReadOnlyList<string> LoopsAlive, IReadOnlyDictionary<string, long> LoopErrors,
        IReadOnlyDictionary<string, ActionCounts> Actions, long AuditFailures, long AuditPending, long AuditLost, IReadOnlyList<string> Controllers,
        VmEcosystem.Runtime.Leadership.LeadershipStatus? Leadership);

    internal sealed record PoliciesItem(string Version, DateTimeOffset? LoadedAt, string? Source, JsonElement? Document, IReadOnlyList<PolicyVersionItem> Versions);

    internal sealed record PolicyVersionItem(string Version, DateTimeOffset LoadedAt, string Source, int Policies);

    private static Task<IResult> AuditAsync(HttpRequest request, IAuditStore audit, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken) =>
        QueryAsync(request, audit, options.Value, null, cancellationToken);

    private static Task<IResult> AdjustmentsAsync(HttpRequest request, IAuditStore audit, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken) =>
        QueryAsync(request, audit, options.Value, AdjustmentKinds, cancellationToken);

    /// <summary>A page of audit records; <paramref name="kinds"/> (when set) bounds the kinds a caller may ask for.</summary>
    internal static async Task<IResult> QueryAsync(HttpRequest request, IAuditStore audit, VmEcosystemApiOptions options, AuditKind[]? kinds, CancellationToken cancellationToken)
    {
        var q = new Query(request);
        int limit = q.Int("limit", Math.Min(100, options.MaxPageSize), 1, options.MaxPageSize);
        var query = new AuditQuery
        {
            Vm = q.Text("vm") is { } vm ? new VmId(vm) : null,
            Host = q.Text("host") is { } host ? new HostId(host) : null,
            Controller = q.Text("controller"),
            PlanId = q.Text("plan"),
            From = q.Time("from"),
            To = q.Time("to"),
            AfterSequence = q.Long("after"),
            Kinds = Kinds(request, q, kinds),
            Limit = limit + 1,
        };
        if (q.Problem is { } problem)
        {
            return problem;
        }

        var items = new List<AuditItem>(Math.Min(limit + 1, 256));
        await foreach (var r in audit.QueryAsync(query, cancellationToken).ConfigureAwait(false))
        {
            items.Add(new AuditItem(r.Sequence, r.Timestamp, r.Kind, r.Controller, r.PlanId, r.Vm, r.Source, r.Target, r.Message, Detail(r.Detail)));
            if (items.Count > limit)
            {
                break;
            }
        }

        long? next = null;
        if (items.Count > limit)
        {
            items.RemoveAt(limit);
            next = items[^1].Sequence;
        }

        return TypedResults.Json(new AuditPage(items, next), ApiJson.Options);
    }

    private static AuditKind[]? Kinds(HttpRequest request, Query q, AuditKind[]? allowed)
    {
        var asked = request.Query["kind"];
        if (asked.Count == 0)
        {
            return allowed;
        }

        var kinds = new List<AuditKind>();
        foreach (var text in asked)
        {
            if (!Enum.TryParse<AuditKind>(text, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || int.TryParse(text, out _)
                || (allowed is not null && Array.IndexOf(allowed, kind) < 0))
            {
                q.Errors.Add(("query:kind", $"'{text}' is not one of {string.Join(", ", allowed ?? Enum.GetValues<AuditKind>())}"));
                continue;
            }

            kinds.Add(kind);
        }

        return [.. kinds];
    }

    // Details are JSON when a component wrote JSON; other text is returned as a string.
    private static JsonElement? Detail(string? detail)
    {
        if (string.IsNullOrEmpty(detail))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(detail);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(detail);
        }
    }

    private static IResult Status(EcosystemRuntime runtime)
    {
        var s = runtime.Status;
        return TypedResults.Json(new StatusItem(
            s.Running, s.Mode, s.Observations, s.PlanningPasses, s.Migrations.Started, s.Migrations.Succeeded, s.Migrations.Failed, s.Migrations.Skipped,
            s.MigrationsRunning, s.PendingApprovals, s.Reservations, s.HostsInMaintenance, s.LoopsAlive, s.LoopErrors, s.Actions,
            s.AuditFailures, s.AuditPending, s.AuditLost, runtime.Controllers, s.Leadership), ApiJson.Options);
    }

    private static IResult Policies(HttpContext http)
    {
        if (http.RequestServices.GetService<ResizePolicyStore>() is not { } store)
        {
            return Problems.Conflict("resizing policies are off: enable them with UseResizingPolicies(...)");
        }

        return TypedResults.Json(Describe(store), ApiJson.Options);
    }

    private static PoliciesItem Describe(ResizePolicyStore store)
    {
        var current = store.Current;
        var version = store.Find(current.Version);
        JsonElement? document = current.Document.Length == 0 ? null : JsonDocument.Parse(current.Document).RootElement.Clone();
        return new PoliciesItem(current.Version, version?.LoadedAt, version?.Source, document,
            [.. store.Versions.Select(v => new PolicyVersionItem(v.Version, v.LoadedAt, v.Source, v.Set.Policies.Count))]);
    }

    private static async Task<IResult> PutPoliciesAsync(HttpContext http, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken)
    {
        if (http.RequestServices.GetService<ResizePolicyStore>() is not { } store)
        {
            return Problems.Conflict("resizing policies are off: enable them with UseResizingPolicies(...)");
        }

        int limit = Math.Min(options.Value.MaxRequestBodyBytes, PolicyParser.MaxDocumentBytes);
        if (OpenApiBodies.RequireJson(http.Request) is { } unsupported)
        {
            return unsupported;
        }

        if (await RequestBody.ReadAsync(http, limit, cancellationToken).ConfigureAwait(false) is not { } body)
        {
            return RequestBody.TooLarge(limit);
        }

        var result = store.Load(body, "api:" + (http.User.Identity?.Name ?? "anonymous"));
        return result.Success
            ? TypedResults.Json(Describe(store), ApiJson.Options)
            : Problems.Validation(result.Errors.Select(e => (e.Path, e.Message)), "The policies are not valid.");
    }
}
