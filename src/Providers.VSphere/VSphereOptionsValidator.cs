using System.Globalization;
using Microsoft.Extensions.Options;

namespace VmEcosystem.Providers.VSphere;

/// <summary>Checks <see cref="VSphereOptions"/> at start; every message names the setting.</summary>
internal sealed class VSphereOptionsValidator : IValidateOptions<VSphereOptions>
{
    private const string Prefix = "VmEcosystem:VSphere:";

    public ValidateOptionsResult Validate(string? name, VSphereOptions options)
    {
        var errors = new List<string>();
        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
        {
            errors.Add($"{Prefix}Endpoint must be an absolute http(s) URL such as https://vcenter.example/sdk; got '{options.Endpoint}'.");
        }
        else if (endpoint.Scheme == Uri.UriSchemeHttp && !endpoint.IsLoopback)
        {
            errors.Add($"{Prefix}Endpoint uses plain http to '{endpoint.Host}': the password would cross the network unencrypted. Use https (plain http is accepted on loopback only).");
        }

        if (string.IsNullOrWhiteSpace(options.UserName))
        {
            errors.Add($"{Prefix}UserName is required.");
        }

        if (string.IsNullOrEmpty(options.Password))
        {
            errors.Add($"{Prefix}Password is required (keep it in a secret store, not in appsettings).");
        }

        if (options.CertificateThumbprint is { } thumb && NormaliseThumbprint(thumb) is null)
        {
            errors.Add($"{Prefix}CertificateThumbprint must be a SHA-256 thumbprint: 64 hex digits, colons allowed.");
        }

        for (int i = 0; i < options.Clusters.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Clusters[i]))
            {
                errors.Add($"{Prefix}Clusters:{i} is empty.");
            }
        }

        if (!Enum.IsDefined(options.HostSets))
        {
            errors.Add($"{Prefix}HostSets must be Cluster or None; got {options.HostSets}.");
        }

        Positive(errors, "RequestTimeout", options.RequestTimeout, TimeSpan.FromSeconds(1));
        Positive(errors, "EventWait", options.EventWait, TimeSpan.FromSeconds(1));
        Positive(errors, "KeepAliveInterval", options.KeepAliveInterval, TimeSpan.FromSeconds(10));
        if (options.PageSize is < 1 or > 100_000)
        {
            errors.Add($"{Prefix}PageSize must be within 1..100000; got {options.PageSize}.");
        }

        if (!double.IsFinite(options.HostNetworkMbps) || options.HostNetworkMbps <= 0)
        {
            errors.Add($"{Prefix}HostNetworkMbps must be positive; got {options.HostNetworkMbps}.");
        }

        if (string.IsNullOrWhiteSpace(options.ApiVersion))
        {
            errors.Add($"{Prefix}ApiVersion must name a vim25 version such as 6.5.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The thumbprint as 64 upper-case hex digits, or null when it is not one.</summary>
    internal static string? NormaliseThumbprint(string text)
    {
        string hex = text.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
        return hex.Length == 64 && hex.All(Uri.IsHexDigit) ? hex : null;
    }

    private static void Positive(List<string> errors, string setting, TimeSpan value, TimeSpan minimum)
    {
        if (value < minimum)
        {
            errors.Add($"{Prefix}{setting} must be at least {minimum.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; got {value}.");
        }
    }
}
