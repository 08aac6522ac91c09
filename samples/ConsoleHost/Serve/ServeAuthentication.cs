using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace VmEcosystem.ConsoleHost.Serve;

/// <summary>
/// JWT bearer settings of <c>vmeco serve</c> (section <c>Serve:Jwt</c>): either an OpenID Connect <c>Authority</c>
/// (keys from its discovery document) or an <c>Issuer</c> with a shared <c>SigningKey</c> (HMAC-SHA256, at least 32
/// bytes); <c>Audience</c> always. Scopes come from the token's <c>scope</c> or <c>scp</c> claim.
/// </summary>
internal sealed record JwtSettings(string? Authority, string? Issuer, string Audience, string? SigningKey)
{
    public static JwtSettings? Read(IConfigurationSection section)
    {
        if (!section.Exists())
        {
            return null;
        }

        const string p = "Serve:Jwt:";
        string? authority = section["Authority"], issuer = section["Issuer"], audience = section["Audience"], key = section["SigningKey"];
        if (string.IsNullOrWhiteSpace(audience))
        {
            throw new ArgumentException($"{p}Audience is required.");
        }

        if (authority is null == (issuer is null || key is null))
        {
            throw new ArgumentException($"{p}Authority (an OpenID Connect issuer), or Issuer with SigningKey, is required; not both.");
        }

        if (key is not null && Encoding.UTF8.GetByteCount(key) < 32)
        {
            throw new ArgumentException($"{p}SigningKey must have at least 32 bytes.");
        }

        if (authority is not null && (!Uri.TryCreate(authority, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"{p}Authority must be an absolute https URL.");
        }

        return new JwtSettings(authority, issuer, audience, key);
    }
}

/// <summary>
/// The daemon's schemes: API keys and, when configured, JWT bearer tokens. A request with <c>Authorization: Bearer</c>
/// goes to the JWT handler, any other to the API-key handler.
/// </summary>
internal static class ServeAuthentication
{
    private const string Selector = "vmeco";

    public static void Add(IServiceCollection services, IReadOnlyList<ApiKeyEntry> keys, JwtSettings? jwt)
    {
        var auth = services.AddAuthentication(Selector)
            .AddPolicyScheme(Selector, "API key or bearer token", o => o.ForwardDefaultSelector = context =>
                jwt is not null && context.Request.Headers.Authorization.FirstOrDefault() is { } h && h.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : ApiKeyHandler.SchemeName)
            .AddScheme<ApiKeyOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, o => o.Keys.AddRange(keys));
        if (jwt is null)
        {
            return;
        }

        auth.AddJwtBearer(o =>
        {
            o.MapInboundClaims = false; // keep "scope" as it is in the token
            o.Audience = jwt.Audience;
            if (jwt.Authority is not null)
            {
                o.Authority = jwt.Authority;
                return;
            }

            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = jwt.Issuer,
                ValidAudience = jwt.Audience,
                IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.SigningKey!)),
                ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                NameClaimType = "sub",
                ClockSkew = TimeSpan.FromSeconds(30),
            };
        });
    }
}
