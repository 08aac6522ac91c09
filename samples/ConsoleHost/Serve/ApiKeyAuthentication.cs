using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VmEcosystem.ConsoleHost.Serve;

/// <summary>One API key of <c>vmeco serve</c>: who it is and the scopes it grants (space separated).</summary>
internal sealed class ApiKeyEntry
{
    public string Name { get; set; } = "";

    public string Key { get; set; } = "";

    public string Scopes { get; set; } = "";
}

/// <summary>The keys (section <c>Serve:ApiKeys</c> and <c>--api-key</c>).</summary>
internal sealed class ApiKeyOptions : AuthenticationSchemeOptions
{
    public List<ApiKeyEntry> Keys { get; } = [];
}

/// <summary>
/// Authenticates a request by its <c>X-Api-Key</c> header (or <c>Authorization: ApiKey ...</c>): the sample's
/// scheme; the library's API accepts any ASP.NET Core scheme (JWT bearer, certificates, ...). Keys are compared in
/// constant time and never logged.
/// </summary>
internal sealed class ApiKeyHandler(IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented = Request.Headers["X-Api-Key"].FirstOrDefault();
        if (presented is null && Request.Headers.Authorization.FirstOrDefault() is { } auth && auth.StartsWith("ApiKey ", StringComparison.OrdinalIgnoreCase))
        {
            presented = auth["ApiKey ".Length..].Trim();
        }

        if (string.IsNullOrEmpty(presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var bytes = Encoding.UTF8.GetBytes(presented);
        foreach (var entry in Options.Keys)
        {
            if (CryptographicOperations.FixedTimeEquals(bytes, Encoding.UTF8.GetBytes(entry.Key)))
            {
                var identity = new ClaimsIdentity(
                    [new Claim(ClaimTypes.Name, entry.Name), new Claim("scope", entry.Scopes)], SchemeName, ClaimTypes.Name, ClaimTypes.Role);
                return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
            }
        }

        return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
    }
}
