using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Borrowing;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary>Loans between the VMs of budgeted host sets (when <c>UseHostSetBudgets</c> is used; 404 otherwise): <c>GET /loans</c>.</summary>
internal static class BorrowingEndpoints
{
    public static void Map(RouteGroupBuilder g) =>
        g.MapGet("/loans", Loans).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetLoans").WithSummary("The open loans of budgeted host sets, oldest first: lender, borrower, resource, amount, start and due time.")
            .Produces<IReadOnlyList<LoanInfo>>().ProducesProblem(StatusCodes.Status404NotFound);

    private static IResult Loans(IServiceProvider services) =>
        services.GetService<IHostSetLoans>() is { } loans
            ? TypedResults.Json(loans.Open, ApiJson.Options)
            : Problems.NotFound("host-set budgets are not enabled (UseHostSetBudgets)");
}
