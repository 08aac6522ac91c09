using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>
/// <c>vmeco serve</c> secured from its <c>appsettings.json</c>: API keys and JWT bearer tokens (issuer, audience,
/// signature, lifetime and scopes checked), health and Prometheus metrics beside the API.
/// </summary>
public sealed class ServeCommandTests
{
    private const string SigningKey = "a-test-signing-key-of-at-least-32-bytes!";

    [Fact]
    public async Task Api_keys_and_bearer_tokens_from_the_configuration_are_honoured_with_their_scopes()
    {
        var ct = TestContext.Current.CancellationToken;
        string config = Path.Combine(Path.GetTempPath(), $"vmeco-serve-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "Serve": {
                "ApiKeys": [ { "Name": "dashboard", "Key": "reader-key-123", "Scopes": "vmecosystem.read" } ],
                "Jwt": { "Issuer": "https://idp.test", "Audience": "vmeco", "SigningKey": "{{SigningKey}}" }
              },
              "VmEcosystem": { "Runtime": { "Mode": "Automatic" } }
            }
            """, ct);
        using var serve = await ServeProcess.StartAsync(["--config", config, "--speed", "60"], ct);
        using var http = new HttpClient { BaseAddress = new Uri(serve.Url) };

        async Task<HttpStatusCode> Get(string path, string? bearer = null, string? key = null, HttpMethod? method = null)
        {
            using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
            if (bearer is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }

            if (key is not null)
            {
                request.Headers.Add("X-Api-Key", key);
            }

            using var response = await http.SendAsync(request, ct);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await Get("/vmeco/status"));
        Assert.Equal(HttpStatusCode.OK, await Get("/vmeco/status", key: "reader-key-123"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("/vmeco/status", key: "wrong-key-456"));
        Assert.Equal(HttpStatusCode.Forbidden, await Get("/vmeco/decisions/x/approve", key: "reader-key-123", method: HttpMethod.Post));

        string reader = Token("vmecosystem.read"), operator_ = Token("vmecosystem.operate");
        Assert.Equal(HttpStatusCode.OK, await Get("/vmeco/status", bearer: reader));
        Assert.Equal(HttpStatusCode.Forbidden, await Get("/vmeco/decisions/x/approve", bearer: reader, method: HttpMethod.Post));
        Assert.Equal(HttpStatusCode.NotFound, await Get("/vmeco/decisions/x/approve", bearer: operator_, method: HttpMethod.Post));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("/vmeco/status", bearer: Token("vmecosystem.operate", key: "another-signing-key-of-32-bytes-or-more")));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("/vmeco/status", bearer: Token("vmecosystem.operate", audience: "someone-else")));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("/vmeco/status", bearer: Token("vmecosystem.operate", expires: DateTime.UtcNow.AddMinutes(-5))));

        using var status = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/vmeco/status") { Headers = { { "X-Api-Key", "reader-key-123" } } }, ct);
        Assert.Contains("\"mode\":\"automatic\"", await status.Content.ReadAsStringAsync(ct), StringComparison.Ordinal); // the configured mode, not the daemon's default (approve)

        Assert.Equal(HttpStatusCode.OK, await Get("/healthz"));
        string metrics = await http.GetStringAsync("/metrics", ct);
        Assert.Contains("vmeco_audit_pending", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_jwt_setting_is_named_and_the_daemon_does_not_start()
    {
        var ct = TestContext.Current.CancellationToken;
        string config = Path.Combine(Path.GetTempPath(), $"vmeco-serve-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, """{ "Serve": { "Jwt": { "Issuer": "https://idp.test", "Audience": "vmeco", "SigningKey": "short" } } }""", ct);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServeProcess.StartAsync(["--config", config], ct));
        Assert.Contains("exit 2", error.Message, StringComparison.Ordinal);
    }

    private static string Token(string scope, string key = SigningKey, string audience = "vmeco", DateTime? expires = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://idp.test",
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim("sub", "alice"), new Claim("scope", scope)]),
            NotBefore = (expires ?? DateTime.UtcNow.AddMinutes(10)).AddMinutes(-20),
            Expires = expires ?? DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        });
}
