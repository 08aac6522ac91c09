using System.Net;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>
/// Every endpoint × anonymous, read, operate and internal callers: only the intended cells get through
/// (anonymous: 401; authenticated without the scope: 403). Without any authentication scheme, everything is 401.
/// </summary>
public sealed class AuthorizationMatrixTests
{
    private const string Anonymous = "anonymous", Read = "read", Operate = "operate", Internal = "internal";

    // Method, path, body, and the callers allowed.
    public static readonly TheoryData<string, string, string?, string> Endpoints = new()
    {
        { "POST", "/vmeco/dependencies", """{"vm_name":"shop00-web0","dependencies":{"preferred":[{"type":"cache"}]}}""", Operate },
        { "GET", "/vmeco/dependencies/shop00-web0", null, Read + "," + Operate },
        { "DELETE", "/vmeco/dependencies/nobody", null, Operate },
        { "GET", "/vmeco/ecosystem", null, Read + "," + Operate },
        { "GET", "/vmeco/cluster", null, Read + "," + Operate },
        { "GET", "/vmeco/reservations", null, Read + "," + Operate },
        { "POST", "/vmeco/migrate", """{"vm":"shop00-web0"}""", Internal },
        { "POST", "/vmeco/adjustments", """{"vm":"shop00-web0","vcpus":2}""", Operate },
        { "GET", "/vmeco/requests/none", null, Read + "," + Operate },
        { "GET", "/vmeco/plans", null, Read + "," + Operate },
        { "GET", "/vmeco/decisions", null, Read + "," + Operate },
        { "POST", "/vmeco/decisions/none/approve", null, Operate },
        { "POST", "/vmeco/decisions/none/reject", null, Operate },
        { "GET", "/vmeco/audit", null, Read + "," + Operate },
        { "GET", "/vmeco/adjustments", null, Read + "," + Operate },
        { "GET", "/vmeco/status", null, Read + "," + Operate },
        { "GET", "/vmeco/policies", null, Read + "," + Operate },
        { "PUT", "/vmeco/policies", """{"policies":[]}""", Operate },
        { "GET", "/vmeco/openapi/vmecosystem.json", null, Read + "," + Operate },
        { "GET", "/vmeco/configurations/shop00-web0/versions", null, Read + "," + Operate },
        { "GET", "/vmeco/configurations/shop00-web0/diff", null, Read + "," + Operate },
        { "POST", "/vmeco/configurations/shop00-web0/revert", """{"version":1}""", Operate },
        { "POST", "/vmeco/rollouts", """{"id":"r1","vms":["shop00-web0"],"settings":{"threads":"4"}}""", Operate },
        { "GET", "/vmeco/rollouts/none", null, Read + "," + Operate },
        { "GET", "/vmeco/loans", null, Read + "," + Operate },
        { "GET", "/vmeco/tuning/runs", null, Read + "," + Operate },
        { "POST", "/vmeco/tuning/runs", """{"id":"t1"}""", Operate },
        { "GET", "/vmeco/tuning/runs/none", null, Read + "," + Operate },
        { "GET", "/vmeco/tuning/runs/none/evaluations", null, Read + "," + Operate },
        { "POST", "/vmeco/tuning/runs/none/cancel", null, Operate },
        { "POST", "/vmeco/tuning/runs/none/rollout", """{"rolloutId":"r1","vms":["shop00-web0"]}""", Operate },
    };

    private static string? ScopesOf(string caller) => caller switch
    {
        Read => "vmecosystem.read",
        Operate => "vmecosystem.operate",
        Internal => "vmecosystem.internal",
        _ => null,
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Only_the_intended_callers_get_through(string method, string path, string? body, string allowed)
    {
        await using var host = await ApiHost.StartAsync(observe: false, cancellationToken: TestContext.Current.CancellationToken);
        foreach (var caller in new[] { Anonymous, Read, Operate, Internal })
        {
            using var client = host.Client(ScopesOf(caller));
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : ApiHost.Json(body) };
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            bool mayPass = allowed.Split(',').Contains(caller);
            var expectedDenial = caller == Anonymous ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden;
            if (mayPass)
            {
                Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
                    $"{method} {path} as {caller}: {(int)response.StatusCode}, expected to pass");
                Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
            }
            else
            {
                Assert.True(response.StatusCode == expectedDenial, $"{method} {path} as {caller}: {(int)response.StatusCode}, expected {(int)expectedDenial}");
            }
        }
    }

    [Fact]
    public async Task Without_an_authentication_scheme_every_call_is_denied_and_the_dashboard_page_still_loads()
    {
        await using var host = await ApiHost.StartAsync(authentication: false, observe: false, cancellationToken: TestContext.Current.CancellationToken);
        using var client = host.Client("vmecosystem.operate vmecosystem.internal");
        foreach (var row in Endpoints)
        {
            var data = ((Xunit.ITheoryDataRow)row).GetData();
            string method = (string)data[0]!, path = (string)data[1]!;
            string? body = (string?)data[2];
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : ApiHost.Json(body) };
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {(int)response.StatusCode}");
        }
        }

        using var page = await client.GetAsync("/vmeco/dashboard", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("VmEcosystem", await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
