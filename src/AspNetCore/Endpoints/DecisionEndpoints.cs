using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary>
/// <c>GET /plans</c> (plans waiting for approval), <c>GET /decisions</c> (every decision with its explanation, from
/// the audit trail), <c>POST /decisions/{id}/approve|reject</c> (operate scope).
/// </summary>
internal static class DecisionEndpoints
{
    private static readonly AuditKind[] DecisionKinds =
    [
        AuditKind.DecisionPlanned, AuditKind.DecisionSkipped, AuditKind.PlanAwaitingApproval, AuditKind.PlanApproved, AuditKind.PlanRejected,
        AuditKind.PlanDiscarded, AuditKind.MigrationStarted, AuditKind.MigrationSucceeded, AuditKind.MigrationFailed, AuditKind.MigrationCancelled,
        AuditKind.ActionStarted, AuditKind.ActionSucceeded, AuditKind.ActionFailed,
    ];

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/plans", Plans).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetPendingPlans").WithSummary("Plans waiting for approval, each action with its explanation.")
            .Produces<IReadOnlyList<PlanItem>>();
        g.MapGet("/decisions", DecisionsAsync).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetDecisions").WithSummary("Decisions and their outcomes with explanations (audit records), oldest first; page on with after=next.")
            .Produces<AuditEndpoints.AuditPage>().ProducesValidationProblem();
        g.MapPost("/decisions/{id}/approve", ApproveAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("ApprovePlan").WithSummary("Approves a pending plan: its actions go to the executor (its limits still apply).")
            .Produces<Approved>().ProducesProblem(StatusCodes.Status404NotFound);
        g.MapPost("/decisions/{id}/reject", RejectAsync).RequireAuthorization(VmEcosystemPolicies.Operate)
            .WithName("RejectPlan").WithSummary("Rejects a pending plan (optional body: {\"reason\": \"...\"}).")
            .WithMetadata(new JsonBody(typeof(RejectBody))).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem();
    }

    internal sealed record PlanItem(string PlanId, string Controller, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, IReadOnlyList<ActionItem> Actions);

    internal sealed record ActionItem(string Kind, VmId Vm, HostId Host, HostId? Target, string Reason);

    internal sealed record Approved(string PlanId, int Started);

    internal sealed record RejectBody(string? Reason);

    private static IResult Plans(EcosystemRuntime runtime) =>
        TypedResults.Json(runtime.PendingPlans.Select(p => new PlanItem(p.PlanId, p.Controller, p.CreatedAt, p.ExpiresAt,
            [.. p.Actions.Select(a => new ActionItem(a.Kind, a.Vm, a.Host, a.Target, a.Reason))])).ToList(), ApiJson.Options);

    private static Task<IResult> DecisionsAsync(HttpRequest request, IAuditStore audit, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken) =>
        AuditEndpoints.QueryAsync(request, audit, options.Value, DecisionKinds, cancellationToken);

    private static async Task<IResult> ApproveAsync(string id, EcosystemRuntime runtime, CancellationToken cancellationToken)
    {
        try
        {
            int started = await runtime.ApproveAsync(id, cancellationToken).ConfigureAwait(false);
            return TypedResults.Json(new Approved(id, started), ApiJson.Options);
        }
        catch (InvalidOperationException ex)
        {
            return Problems.NotFound(ex.Message);
        }
    }

    private static async Task<IResult> RejectAsync(string id, HttpContext http, EcosystemRuntime runtime, IOptions<VmEcosystemApiOptions> options, CancellationToken cancellationToken)
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

        string? reason = null;
        if (body.Length > 0)
        {
            using var document = RequestBody.ParseJson(body, out string? syntax);
            if (document is null)
            {
                return Problems.Validation("$", syntax!);
            }

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Problems.Validation("$", "expected an object");
            }

            var errors = new List<(string, string)>();
            reason = new JsonFields(document.RootElement, errors, "reason").Text("reason");
            if (errors.Count > 0)
            {
                return Problems.Validation(errors);
            }
        }

        try
        {
            await runtime.RejectAsync(id, reason).ConfigureAwait(false);
            return TypedResults.NoContent();
        }
        catch (InvalidOperationException ex)
        {
            return Problems.NotFound(ex.Message);
        }
    }
}
