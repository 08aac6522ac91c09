using System.Net;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary><c>GET /audit</c>, <c>/decisions</c>, <c>/status</c>, <c>/reservations</c>, <c>GET/PUT /policies</c>, the OpenAPI document, rate limits, health.</summary>
public sealed class AuditAndPolicyEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_audit_is_filtered_and_paged_without_gaps()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client("vmecosystem.read");
        var all = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/audit?limit=1000", Ct));
        int count = all.GetProperty("items").GetArrayLength();
        Assert.True(count > 10);

        var seen = new List<long>();
        string url = "/vmeco/audit?limit=7";
        while (true)
        {
            var page = await ApiAssert.JsonAsync(await client.GetAsync(url, Ct));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("sequence").GetInt64()));
            if (!page.TryGetProperty("next", out var next))
            {
                break;
            }

            url = $"/vmeco/audit?limit=7&after={next.GetInt64()}";
        }

        Assert.Equal(all.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("sequence").GetInt64()), seen);

        var planned = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/audit?kind=decisionPlanned&kind=planCreated&limit=1000", Ct));
        Assert.All(planned.GetProperty("items").EnumerateArray(), r => Assert.Contains(r.GetProperty("kind").GetString(), new[] { "decisionPlanned", "planCreated" }));
        var first = planned.GetProperty("items").EnumerateArray().First(r => r.GetProperty("kind").GetString() == "decisionPlanned");
        Assert.Equal(System.Text.Json.JsonValueKind.Object, first.GetProperty("detail").ValueKind); // the explanation, as JSON
        string vm = first.GetProperty("vm").GetString()!;
        var ofVm = await ApiAssert.JsonAsync(await client.GetAsync($"/vmeco/audit?vm={vm}", Ct));
        Assert.All(ofVm.GetProperty("items").EnumerateArray(), r => Assert.Equal(vm, r.GetProperty("vm").GetString()));
        var none = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/audit?to=2000-01-01T00:00:00Z", Ct));
        Assert.Equal(0, none.GetProperty("items").GetArrayLength());

        await ApiAssert.ValidationAsync(await client.GetAsync("/vmeco/audit?kind=bogus", Ct), "query:kind");
        await ApiAssert.ValidationAsync(await client.GetAsync("/vmeco/audit?from=yesterday", Ct), "query:from");
        await ApiAssert.ValidationAsync(await client.GetAsync("/vmeco/audit?after=-1", Ct), "query:after");
        await ApiAssert.ValidationAsync(await client.GetAsync("/vmeco/audit?limit=100000", Ct), "query:limit");
        await ApiAssert.ValidationAsync(await client.GetAsync("/vmeco/decisions?kind=runtimeStarted", Ct), "query:kind");
    }

    [Fact]
    public async Task Status_and_reservations_reflect_the_runtime()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client("vmecosystem.read");
        var status = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/status", Ct));
        Assert.True(status.GetProperty("running").GetBoolean());
        Assert.Equal("approve", status.GetProperty("mode").GetString());
        Assert.Equal(1, status.GetProperty("pendingApprovals").GetInt32());
        Assert.Equal(host.Runtime.Status.PlanningPasses, status.GetProperty("planningPasses").GetInt64());
        var reservations = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/reservations", Ct));
        Assert.Equal(host.Runtime.Reservations.Count, reservations.GetArrayLength());
    }

    [Fact]
    public async Task Policies_are_read_replaced_validated_and_versioned()
    {
        string file = Path.Combine(Path.GetTempPath(), $"vmeco-api-policies-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{ "policies": [ { "name": "all", "cpu": { "growAbove": 0.9, "shrinkBelow": 0.3, "min": 1, "max": 4 } } ] }""", Ct);
        await using var host = await ApiHost.StartAsync(policyFile: file, observe: false, cancellationToken: Ct);
        using var client = host.Client("vmecosystem.operate");
        const string document = """
            { "policies": [ { "name": "web", "select": { "workloadClass": "web" }, "cpu": { "growAbove": 0.8, "shrinkBelow": 0.4, "min": 1, "max": 8 } } ] }
            """;
        var put = await ApiAssert.JsonAsync(await client.PutAsync("/vmeco/policies", ApiHost.Json(document), Ct));
        string version = put.GetProperty("version").GetString()!;
        Assert.Equal("web", put.GetProperty("document").GetProperty("policies")[0].GetProperty("name").GetString());
        Assert.StartsWith("api:", put.GetProperty("source").GetString(), StringComparison.Ordinal);

        var got = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/policies", Ct));
        Assert.Equal(version, got.GetProperty("version").GetString());
        Assert.Contains(got.GetProperty("versions").EnumerateArray(), v => v.GetProperty("version").GetString() == version);

        var messages = await ApiAssert.ValidationAsync(await client.PutAsync("/vmeco/policies",
            ApiHost.Json("""{ "policies": [ { "name": "bad", "cpu": { "min": 8, "max": 1 } } ] }"""), Ct), "$.policies[0].cpu.min");
        Assert.NotEmpty(messages);
        Assert.Equal(version, (await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/policies", Ct))).GetProperty("version").GetString());
    }

    [Fact]
    public async Task Without_resizing_policies_are_a_conflict()
    {
        await using var host = await ApiHost.StartAsync(observe: false, cancellationToken: Ct);
        using var client = host.Client("vmecosystem.operate");
        await ApiAssert.ProblemAsync(await client.GetAsync("/vmeco/policies", Ct), HttpStatusCode.Conflict);
        await ApiAssert.ProblemAsync(await client.PutAsync("/vmeco/policies", ApiHost.Json("{}"), Ct), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_endpoint_and_its_bodies()
    {
        await using var host = await ApiHost.StartAsync(observe: false, cancellationToken: Ct);
        using var client = host.Client("vmecosystem.read");
        var doc = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/openapi/vmecosystem.json", Ct));
        var paths = doc.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var row in AuthorizationMatrixTests.Endpoints)
        {
            string path = (string)((Xunit.ITheoryDataRow)row).GetData()[1]!;
            if (path.Contains("openapi", StringComparison.Ordinal))
            {
                continue;
            }

            string template = path.Replace("/shop00-web0", "/{vm}").Replace("/nobody", "/{vm}").Replace("/none", "/{id}");
            Assert.Contains(template, paths);
        }

        var migrate = doc.GetProperty("paths").GetProperty("/vmeco/migrate").GetProperty("post");
        Assert.True(migrate.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.True(migrate.GetProperty("responses").TryGetProperty("202", out _));
    }

    [Fact]
    public async Task A_caller_over_its_rate_gets_429_with_retry_after_and_others_are_not_held_back()
    {
        await using var host = await ApiHost.StartAsync(api: o => { o.RequestsPerSecond = 0.5; o.Burst = 3; }, observe: false, cancellationToken: Ct);
        using var greedy = host.Client("vmecosystem.read");
        var codes = new List<HttpStatusCode>();
        for (int i = 0; i < 6; i++)
        {
            codes.Add((await greedy.GetAsync("/vmeco/status", Ct)).StatusCode);
        }

        Assert.Equal(3, codes.Count(c => c == HttpStatusCode.OK));
        var limited = await greedy.GetAsync("/vmeco/status", Ct);
        await ApiAssert.ProblemAsync(limited, HttpStatusCode.TooManyRequests);
        Assert.True(limited.Headers.RetryAfter is not null);
        using var other = host.Client("vmecosystem.operate");
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/vmeco/status", Ct)).StatusCode);
    }

    [Fact]
    public async Task Health_reports_the_running_runtime_and_bad_options_stop_the_start()
    {
        await using (var host = await ApiHost.StartAsync(observe: false, cancellationToken: Ct))
        {
            using var client = host.Client(null);
            var health = await client.GetAsync("/healthz", Ct);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("Healthy", await health.Content.ReadAsStringAsync(Ct));
        }

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            ApiHost.StartAsync(api: o => { o.MaxRequestBodyBytes = 10; o.Burst = 0; }, observe: false, cancellationToken: Ct));
        Assert.Contains("VmEcosystem:Api:MaxRequestBodyBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("VmEcosystem:Api:Burst", error.Message, StringComparison.Ordinal);
    }
}
