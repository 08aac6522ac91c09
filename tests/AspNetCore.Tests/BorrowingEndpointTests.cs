using System.Net;
using System.Text.Json;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>GET /loans: the open loans when host-set budgets are on, a problem saying why otherwise.</summary>
public sealed class BorrowingEndpointTests
{
    [Fact]
    public async Task Loans_are_listed_when_budgets_are_on_and_a_404_names_the_missing_registration_otherwise()
    {
        var ct = TestContext.Current.CancellationToken;
        await using (var host = await ApiHost.StartAsync(budgets: true, cancellationToken: ct))
        {
            using var client = host.Client("vmecosystem.read");
            var loans = JsonDocument.Parse(await client.GetStringAsync("/vmeco/loans", ct)).RootElement;
            Assert.Equal(JsonValueKind.Array, loans.ValueKind);
            Assert.Equal(0, loans.GetArrayLength());
        }

        await using (var host = await ApiHost.StartAsync(cancellationToken: ct))
        {
            using var client = host.Client("vmecosystem.read");
            using var response = await client.GetAsync("/vmeco/loans", ct);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("UseHostSetBudgets", await response.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }
    }
}
