using System.Net;
using VmEcosystem.Simulation;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary><c>POST /migrate</c>, <c>POST /adjustments</c>, <c>GET /requests/{id}</c>, <c>GET /plans</c>, approve and reject.</summary>
public sealed class ActionEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_pending_plan_is_listed_approved_and_executed()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client("vmecosystem.operate");
        var plans = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/plans", Ct));
        Assert.Equal(1, plans.GetArrayLength());
        var plan = plans[0];
        string id = plan.GetProperty("planId").GetString()!;
        int actions = plan.GetProperty("actions").GetArrayLength();
        Assert.True(actions > 0);
        Assert.All(plan.GetProperty("actions").EnumerateArray(), a => Assert.False(string.IsNullOrWhiteSpace(a.GetProperty("reason").GetString())));

        var approved = await ApiAssert.JsonAsync(await client.PostAsync($"/vmeco/decisions/{id}/approve", null, Ct));
        Assert.Equal(actions, approved.GetProperty("started").GetInt32());
        await SimulatedRuntime.AdvanceAsync(host.Runtime, host.Clock, host.Clock.GetUtcNow() + TimeSpan.FromMinutes(5), Ct);
        var status = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/status", Ct));
        Assert.Equal(actions, status.GetProperty("migrationsSucceeded").GetInt32() + status.GetProperty("migrationsFailed").GetInt32());
        Assert.True(status.GetProperty("migrationsSucceeded").GetInt32() > 0);

        await ApiAssert.ProblemAsync(await client.PostAsync($"/vmeco/decisions/{id}/approve", null, Ct), HttpStatusCode.NotFound);
        var decisions = await ApiAssert.JsonAsync(await client.GetAsync($"/vmeco/decisions?plan={id}&kind=migrationSucceeded&limit=1000", Ct));
        Assert.Equal(status.GetProperty("migrationsSucceeded").GetInt32(), decisions.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_plan_is_rejected_with_a_reason_that_the_audit_keeps()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client("vmecosystem.operate");
        string id = host.Runtime.PendingPlans.Single().PlanId;
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync($"/vmeco/decisions/{id}/reject", ApiHost.Json("""{"reason":"change freeze"}"""), Ct)).StatusCode);
        Assert.Empty(host.Runtime.PendingPlans);
        var audit = await ApiAssert.JsonAsync(await client.GetAsync($"/vmeco/audit?kind=planRejected&plan={id}", Ct));
        Assert.Contains("change freeze", audit.GetProperty("items")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        await ApiAssert.ProblemAsync(await client.PostAsync($"/vmeco/decisions/{id}/reject", null, Ct), HttpStatusCode.NotFound);
        await ApiAssert.ValidationAsync(await client.PostAsync("/vmeco/decisions/x/reject", ApiHost.Json("""{"reason":7}"""), Ct), "$.reason");
        await ApiAssert.ValidationAsync(await client.PostAsync("/vmeco/decisions/x/reject", ApiHost.Json("""{"why":"x"}"""), Ct), "$.why");
    }

    [Fact]
    public async Task A_migration_request_with_an_idempotency_key_is_made_once()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client("vmecosystem.internal");
        string vm = host.Runtime.Cluster!.Vms[0].Vm.Value;
        async Task<HttpResponseMessage> Post(string body, string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/vmeco/migrate") { Content = ApiHost.Json(body) };
            request.Headers.Add("Idempotency-Key", key);
            return await client.SendAsync(request, Ct);
        }

        string body = $$"""{"vm":"{{vm}}","reason":"drain for firmware"}""";
        var first = await ApiAssert.JsonAsync(await Post(body, "k-1"), HttpStatusCode.Accepted);
        var again = await Post(body, "k-1");
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        var second = await ApiAssert.JsonAsync(again, HttpStatusCode.Accepted);
        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        // Answered as it stood: queued, or already waiting for approval once the executor took it.
        Assert.Contains(first.GetProperty("state").GetString(), new[] { "queued", "awaitingApproval" });
        await host.Runtime.WhenIdleAsync(Ct);
        Assert.Equal(2, host.Runtime.PendingPlans.Count); // the planner's plan and this one request, not two

        await ApiAssert.ProblemAsync(await Post($$"""{"vm":"{{vm}}","reason":"other"}""", "k-1"), HttpStatusCode.UnprocessableEntity);
        var other = await ApiAssert.JsonAsync(await Post(body, "k-2"), HttpStatusCode.Accepted);
        Assert.NotEqual(first.GetProperty("id").GetString(), other.GetProperty("id").GetString());

        // Following a request is a read: the internal scope alone does not grant it.
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"/vmeco/requests/{first.GetProperty("id").GetString()}", Ct)).StatusCode);
        using var reader = host.Client("vmecosystem.read");
        var request = await ApiAssert.JsonAsync(await reader.GetAsync($"/vmeco/requests/{first.GetProperty("id").GetString()}", Ct));
        Assert.Equal(vm, request.GetProperty("vm").GetString());
        Assert.Equal("awaitingApproval", request.GetProperty("state").GetString());
        await ApiAssert.ProblemAsync(await reader.GetAsync("/vmeco/requests/nope", Ct), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{}""", "$.vm")]
    [InlineData("""{"vm":5}""", "$.vm")]
    [InlineData("""{"vm":"  "}""", "$.vm")]
    [InlineData("""{"vm":"a","to":"b"}""", "$.to")]
    [InlineData("""[1]""", "$")]
    [InlineData("""{"vm":"a",}""", "$")]
    public async Task Malformed_migration_requests_name_their_path(string body, string path)
    {
        await using var host = await ApiHost.StartAsync(observe: false, cancellationToken: Ct);
        using var client = host.Client("vmecosystem.internal");
        await ApiAssert.ValidationAsync(await client.PostAsync("/vmeco/migrate", ApiHost.Json(body), Ct), path);
    }

    [Fact]
    public async Task Requests_the_runtime_refuses_are_problems_or_refusals()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client("vmecosystem.internal");
        var unknown = await ApiAssert.ProblemAsync(await client.PostAsync("/vmeco/migrate", ApiHost.Json("""{"vm":"no-such-vm"}"""), Ct), HttpStatusCode.BadRequest);
        Assert.Contains("no-such-vm", unknown.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var vm = host.Runtime.Cluster!.Vms[0];
        var own = await ApiAssert.ProblemAsync(await client.PostAsync("/vmeco/migrate", ApiHost.Json($$"""{"vm":"{{vm.Vm}}","target":"{{vm.Host}}"}"""), Ct), HttpStatusCode.BadRequest);
        Assert.False(string.IsNullOrWhiteSpace(own.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task An_adjustment_is_requested_checked_and_listed()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client("vmecosystem.operate");
        var vm = host.Runtime.Cluster!.Vms[0];
        var made = await ApiAssert.JsonAsync(await client.PostAsync("/vmeco/adjustments", ApiHost.Json($$"""{"vm":"{{vm.Vm}}","vcpus":{{vm.Cores + 1}}}"""), Ct), HttpStatusCode.Accepted);
        Assert.Equal("hot-plug", made.GetProperty("kind").GetString());
        string id = made.GetProperty("id").GetString()!;
        // The request becomes a pending plan once the runtime has taken it in (asynchronously): approve it then. An
        // approval sent before that is a 404, and under load it was (the plan then never ran and the list was empty).
        for (int attempt = 0; ; attempt++)
        {
            await host.Runtime.WhenIdleAsync(Ct);
            using var approved = await client.PostAsync($"/vmeco/decisions/{id}/approve", null, Ct);
            if (approved.StatusCode == HttpStatusCode.OK || attempt == 50)
            {
                Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
                break;
            }

            await Task.Delay(20, Ct);
        }

        await SimulatedRuntime.AdvanceAsync(host.Runtime, host.Clock, host.Clock.GetUtcNow() + TimeSpan.FromMinutes(5), Ct);
        var listed = await ApiAssert.JsonAsync(await client.GetAsync($"/vmeco/adjustments?plan={id}", Ct));
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), r => r.GetProperty("kind").GetString() is "actionSucceeded" or "actionFailed");

        await ApiAssert.ValidationAsync(await client.PostAsync("/vmeco/adjustments", ApiHost.Json($$"""{"vm":"{{vm.Vm}}"}"""), Ct), "$");
        await ApiAssert.ValidationAsync(await client.PostAsync("/vmeco/adjustments", ApiHost.Json($$"""{"vm":"{{vm.Vm}}","vcpus":1.5}"""), Ct), "$.vcpus");
        await ApiAssert.ValidationAsync(await client.PostAsync("/vmeco/adjustments", ApiHost.Json($$"""{"vm":"{{vm.Vm}}","memoryMiB":-1}"""), Ct), "$.memoryMiB");
        await ApiAssert.ValidationAsync(await client.GetAsync("/vmeco/adjustments?kind=migrationStarted", Ct), "query:kind");
    }
}
